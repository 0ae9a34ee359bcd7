"""The dashboards: the checked-in JSON is what the code builds and what Grafana loads, and
every query of every panel returns data from a live Prometheus scraping a fed collector."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.common import DATASOURCE, iter_panels
from dashboards.generate import DASHBOARDS_DIR, main, render_files, stale
from inventory import DEFAULT_INVENTORY, load_inventory
from tests.lab.require import require_binary
from tests.lab.servers import ROOT, running_collector, running_fleet, running_prometheus

JSON_DIR = DASHBOARDS_DIR / "json"
UIDS = {"sansang-city", "sansang-ward", "sansang-dispatch", "sansang-platforms"}
DETAILED_WARD = "26968"  # links and devices in inventory/hcmc.yaml


def checked_in() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(JSON_DIR.glob("*.json"))}


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# --- the files


def test_checked_in_files_are_what_the_code_generates() -> None:
    assert stale(render_files(), DASHBOARDS_DIR) == []
    check = subprocess.run([sys.executable, "-m", "dashboards.generate", "--check"],
                           cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_check_fails_with_a_diff_when_a_file_is_stale(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    board = tmp_path / "json" / "sansang-city.json"
    board.write_text(board.read_text().replace('"sansang-city"', '"edited-by-hand"'))
    (tmp_path / "json" / "leftover.json").write_text("{}")
    assert main(["--out", str(tmp_path), "--check"]) == 1
    out = capsys.readouterr().out
    assert '-  "uid": "edited-by-hand"' in out
    assert '+  "uid": "sansang-city"' in out
    assert "json/leftover.json: not generated any more" in out


def test_generation_is_deterministic() -> None:
    assert render_files() == render_files()


def test_every_dashboard_has_its_fixed_uid_and_a_modern_schema() -> None:
    boards = checked_in()
    assert set(boards) == UIDS
    for name, board in boards.items():
        assert board["uid"] == name
        assert board["schemaVersion"] >= 36, name
        assert "rows" not in board and "id" not in board, name


def test_every_panel_target_and_variable_names_the_sansang_datasource() -> None:
    for name, board in checked_in().items():
        for panel in iter_panels(board):
            assert panel["datasource"] == DATASOURCE, (name, panel["title"])
            for target in panel.get("targets", []):
                assert target["datasource"] == DATASOURCE, (name, panel["title"])
                assert target["expr"], (name, panel["title"])
        for var in board["templating"]["list"]:
            assert var["datasource"] == DATASOURCE, (name, var["name"])
        # No datasource anywhere as a bare string (grafanalib's default).
        for node in walk(board):
            if "datasource" in node:
                assert node["datasource"] == DATASOURCE, (name, node)


def test_no_threshold_step_is_a_string_and_only_the_base_is_null() -> None:
    seen = 0
    for name, board in checked_in().items():
        for node in walk(board):
            if isinstance(node.get("steps"), list):
                steps = node["steps"]
                assert steps, (name, node)
                assert steps[0]["value"] is None, (name, steps)
                values = [s["value"] for s in steps[1:]]
                assert all(isinstance(v, (int, float)) for v in values), (name, steps)
                assert values == sorted(values), (name, steps)
                seen += 1
    assert seen > 10


def test_every_panel_has_a_grid_position_inside_the_grid_without_overlap() -> None:
    for name, board in checked_in().items():
        cells: dict[tuple[int, int], str] = {}
        for panel in iter_panels(board):
            pos = panel["gridPos"]
            assert {"h", "w", "x", "y"} <= set(pos), (name, panel["title"])
            assert pos["x"] + pos["w"] <= 24, (name, panel["title"])
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in cells, (name, panel["title"], cells.get((x, y)))
                    cells[(x, y)] = panel["title"]
        ids = [panel["id"] for panel in iter_panels(board)]
        assert len(ids) == len(set(ids)), name


def test_limit_lines_are_the_wards_own_limit_series() -> None:
    ward = checked_in()["sansang-ward"]
    exprs = {panel["title"]: [t["expr"] for t in panel["targets"]]
             for panel in iter_panels(ward) if panel["type"] != "row"}
    assert ('max(sansang_ward_limit{ward="$ward",check="latency",condition="rtt_avg"})'
            in exprs["Độ trễ / Round-trip time (min–avg–max)"])
    assert ('max(sansang_ward_limit{ward="$ward",check="loss",condition="loss"})'
            in exprs["Mất gói / Packet loss"])
    assert ('max(sansang_ward_limit{ward="$ward",check="power",condition="charge"})'
            in exprs["Pin / Battery charge"])
    # A stat colours by the city's limit; the TLS days panel keeps its threshold step.
    thresholds = load_inventory(DEFAULT_INVENTORY).thresholds
    [tls] = [p for p in iter_panels(ward) if p["title"] == "Chứng chỉ TLS còn / TLS days left"]
    assert [s["value"] for s in tls["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [
        None, thresholds.tls_min_days]


def test_dashboards_show_alerts_and_link_the_ward_pages() -> None:
    boards = checked_in()
    for name in ("sansang-ward", "sansang-city", "sansang-dispatch"):
        [annotation] = boards[name]["annotations"]["list"]
        assert annotation["expr"].startswith('ALERTS{alertstate="firing"'), name
    assert any(link.get("url", "").endswith("/ward/${ward}")
               for link in boards["sansang-ward"]["links"])
    dispatch = json.dumps(boards["sansang-dispatch"])
    assert "/ward/${__value.raw}" in dispatch


def test_provisioning_names_the_datasource_uid_and_the_dashboard_folder() -> None:
    provisioning = DASHBOARDS_DIR / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "sansang.yml").read_text())
    (source,) = datasources["datasources"]
    assert (source["uid"], source["type"]) == (DATASOURCE["uid"], DATASOURCE["type"])
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards" / "sansang.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")


# --- the live test: every query against Prometheus


@dataclass
class Probe:
    """One PromQL expression the dashboards run, and what counts as an answer."""

    where: str
    expr: str
    accept: Callable[[list[dict[str, Any]]], bool] = bool


def grafana_regex_escape(value: str) -> str:
    """Grafana's prometheusSpecialRegexEscape, for a value of a multi-value variable."""
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(0),
                  value.replace("\\", "\\\\\\\\"))


# Concrete values for Grafana's built-in variables (the test's Prometheus scrapes every 1 s).
BUILTINS = {"__range": "5m", "__interval": "15s", "__rate_interval": "1m"}


def substitute(expr: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return BUILTINS[name] if name in BUILTINS else values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)


def variable_values(var: dict[str, Any], result: list[dict[str, Any]]) -> list[str]:
    """The values Grafana would list for ``var`` given its query's result."""
    query = var["query"]
    if query.startswith("label_values("):
        label = query.rsplit(",", 1)[1].strip(" )")
        return sorted({s["metric"][label] for s in result if label in s["metric"]})
    # query_result: Grafana's text for each series, then the variable's regex.
    pattern = re.compile(var["regex"].strip("/").replace("(?<", "(?P<"))
    values = []
    for series in result:
        metric = dict(series["metric"])
        text = metric.pop("__name__", "") + "{" + ",".join(
            f'{k}="{v}"' for k, v in metric.items()) + "}"
        found = pattern.search(f"{text} {series['value'][1]} {series['value'][0] * 1000}")
        if found:
            values.append(found.group("value"))
    return values


def lists(var: dict[str, Any], want: str, result: list[dict[str, Any]]) -> bool:
    return want in variable_values(var, result)


def variable_expr(query: str) -> str:
    if query.startswith("label_values("):
        return query[len("label_values("):].rsplit(",", 1)[0]
    assert query.startswith("query_result(") and query.endswith(")"), query
    return query[len("query_result("):-1]


def probes_for(board: dict[str, Any], chosen: dict[str, str], all_values: bool) -> list[Probe]:
    """Variable checks (the chosen value is listed) and every panel query, substituted."""
    variables = board["templating"]["list"]
    values: dict[str, str] = {}
    probes = []
    for var in variables:
        name = var["name"]
        expr = substitute(variable_expr(var["query"]), values)
        want = chosen[name]
        probes.append(Probe(f"{board['uid']} variable ${name} lists {want!r}", expr,
                            functools.partial(lists, var, want)))
        if var.get("multi") or var.get("includeAll"):
            values[name] = var["allValue"] if all_values else grafana_regex_escape(want)
        else:
            values[name] = want
    shown = ", ".join(f"{k}={v}" for k, v in values.items())
    for panel in iter_panels(board):
        for target in panel.get("targets", []):
            probes.append(Probe(
                f"{board['uid']} [{shown}] «{panel['title']}» {target['refId']}",
                substitute(target["expr"], values)))
    return probes


def fed_wards() -> tuple[list[str], dict[str, dict[str, str]]]:
    """About 30 wards, whole clusters, covering every simulated profile; and, per dashboard,
    variable values under which it should show data."""
    from demo.fleet import PROFILES, profile_for

    inventory = load_inventory(DEFAULT_INVENTORY)
    by_cluster: dict[str, list[str]] = {}
    for code, ward in sorted(inventory.wards.items()):
        by_cluster.setdefault(ward.cluster, []).append(code)

    def profiles(cluster: str) -> set[str]:
        return {profile_for(code) for code in by_cluster[cluster]}

    home = inventory.wards[DETAILED_WARD].cluster
    clusters = [home]
    # Clusters with the most kinds of fault first, so a few cover every profile.
    for cluster in sorted(by_cluster, key=lambda c: (-len(profiles(c)), c)):
        covered = set().union(*(profiles(c) for c in clusters))
        if covered == set(PROFILES) and sum(len(by_cluster[c]) for c in clusters) >= 30:
            break
        if cluster != home:
            clusters.append(cluster)
    wards = [code for cluster in clusters for code in by_cluster[cluster]]

    def area(*wanted: str) -> dict[str, str]:
        cluster = next(c for c in clusters if set(wanted) <= profiles(c))
        return {"province": inventory.wards[by_cluster[cluster][0]].province, "cluster": cluster}

    return wards, {
        "sansang-city": {"province": inventory.wards[DETAILED_WARD].province, "cluster": home},
        "sansang-ward": {"cluster": home, "ward": DETAILED_WARD},
        # A slow ward fails latency (and raises its alert); a silent one fills the silent table.
        "sansang-dispatch": area("silent", "slow") | {"check": "latency"},
        "sansang-platforms": area("platform_down"),
    }


@contextlib.contextmanager
def fleet_pushing(collector_url: str, codes: list[str], tokens: dict[str, str]
                  ) -> Iterator[None]:
    """The simulated fleet pushing every second, from its own thread and event loop, until
    the block ends (the tests block on Prometheus meanwhile)."""
    from demo.fleet import SimulatedWard, profile_for

    inventory = load_inventory(DEFAULT_INVENTORY)
    fleet = []
    for code in codes:
        links = inventory.wards[code].links
        # Bandwidth is measured (and judged) only on a ward with a contracted link.
        contract = links[0].download_bytes_per_second if links else None
        fleet.append(SimulatedWard(code, tokens[code], profile_for(code), contract))
    with running_fleet(collector_url, fleet, interval_seconds=1.0):
        yield


@pytest.mark.servers
def test_every_panel_query_returns_data_from_a_live_prometheus(tmp_path: Path) -> None:
    require_binary("prometheus")
    wards, chosen = fed_wards()
    probes: list[Probe] = []
    for uid, board in sorted(checked_in().items()):
        probes += probes_for(board, chosen[uid], all_values=False)
        probes += probes_for(board, chosen[uid], all_values=True)
    rule_files = sorted((ROOT / "alerts" / "rules").glob("*.yml"))

    # Agents report every second and count as silent after 3 intervals of 2 s, so the
    # fleet's silent wards turn silent within the test.
    with (
        running_collector(tmp_path / "collector", wards,
                          extra_args=["--report-interval", "2"]) as collector,
        fleet_pushing(collector.url, wards, collector.tokens),
        running_prometheus(tmp_path / "prometheus", [collector.url.removeprefix("http://")],
                           scrape_interval="1s", rule_files=rule_files) as prometheus,
    ):
        pending = list(probes)
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            pending = [p for p in pending if not p.accept(prometheus.query(p.expr))]
            if pending:
                time.sleep(2)

    assert not pending, f"{len(pending)} of {len(probes)} queries returned nothing:\n" + \
        "\n".join(f"  {p.where}\n      {p.expr}" for p in pending)
