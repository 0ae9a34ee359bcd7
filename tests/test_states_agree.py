"""Every ward's state and every check's state is the same wherever it is shown.

A collector with the demo inventory takes one round of the simulated fleet; a few wards
never report, and one reported two hours ago only, so it is silent and its measured
checks stale. Then, for every ward and every readiness check, the JSON API, ``/metrics``,
the CSV and XLSX readiness report (``python -m collector export``), the board's tiles
and each ward's page (read over plain HTTP, no browser) must say the same.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from prometheus_client.parser import text_string_to_metric_families

from collector.export import COLUMNS, headers
from collector.i18n import translate
from demo.fleet import SimulatedWard, profile_for, run_fleet, simulated_reports, simulated_ward
from demo.inventory import write_simulated_city
from inventory import criteria
from tests.lab.servers import ROOT, http_get, running_collector

pytestmark = pytest.mark.servers

CHECKS = [check.name for check in criteria.CHECKS]
# Verdicts must not drift while the views are read: no fresh ward falls silent within this.
REPORT_INTERVAL_SECONDS = 300
# The silent ward's one round: older than any check's freshness at that interval but the
# day-long speed test's.
SILENT_FOR_SECONDS = 2 * 3600
# What a view shows for a check it has no state for (a bug, if any view does).
ABSENT = "(absent)"

WardStates = dict[str, str]  # check -> state


@dataclass
class View:
    """What one view says about every ward: status, readiness and each check's state."""

    status: dict[str, str]
    ready: dict[str, bool]
    checks: dict[str, WardStates]


@dataclass
class Fed:
    url: str
    codes: list[str]
    unreported: list[str]
    silent: str
    export_dir: Path


def push(url: str, ward: SimulatedWard, reports: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(
        url + "/api/v1/reports", data=json.dumps({"reports": reports}).encode(),
        headers={"Authorization": f"Bearer {ward.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    directory = tmp_path_factory.mktemp("agree")
    inventory_path = directory / "inventory.yaml"
    inventory = write_simulated_city(inventory_path)
    codes = list(inventory.wards)
    unreported = codes[7::30]
    silent = next(c for c in codes[1:] if c not in unreported and profile_for(c) == "healthy")
    with running_collector(directory / "collector", codes, inventory=inventory_path,
                           extra_args=["--report-interval", str(REPORT_INTERVAL_SECONDS)]
                           ) as collector:
        def simulated(code: str) -> SimulatedWard:
            return simulated_ward(inventory, code, collector.tokens[code])

        asyncio.run(run_fleet(collector.url, [simulated(c) for c in codes
                                              if c not in unreported and c != silent],
                              interval_seconds=0, rounds=1))
        push(collector.url, simulated(silent),
             simulated_reports(simulated(silent), time.time() - SILENT_FOR_SECONDS,
                               random.Random(3)))
        time.sleep(1.5)  # verdicts are refreshed every second
        export_dir = directory / "report"
        subprocess.run([sys.executable, "-m", "collector", "export", "--collector-url",
                        collector.url, "--out", str(export_dir), "--lang", "vi"],
                       cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
        yield Fed(collector.url, codes, unreported, silent, export_dir)


# --- reading each view


def api_view(fed: Fed) -> View:
    status, body = http_get(f"{fed.url}/api/v1/wards?lang=vi")
    assert status == 200, body
    wards = json.loads(body)["wards"]
    return View({w["code"]: w["status"] for w in wards},
                {w["code"]: w["ready"] for w in wards},
                {w["code"]: {c: w["states"].get(c, ABSENT) for c in CHECKS} for w in wards})


def metrics_view(fed: Fed) -> tuple[View, dict[str, dict[str, bool]]]:
    """The states, and ``sansang_ward_check_ok`` (only for checks judged pass or fail)."""
    status, body = http_get(f"{fed.url}/metrics")
    assert status == 200
    ready: dict[str, bool] = {}
    states: dict[str, WardStates] = {}
    ok: dict[str, dict[str, bool]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "sansang_ward_ready":
                ready[labels["ward"]] = sample.value == 1
            elif sample.name == "sansang_ward_check_state":
                assert sample.value == 1, sample  # one series a check: its current state
                ward = states.setdefault(labels["ward"], {})
                assert labels["check"] not in ward, sample
                ward[labels["check"]] = labels["state"]
            elif sample.name == "sansang_ward_check_ok":
                ok.setdefault(labels["ward"], {})[labels["check"]] = sample.value == 1
    checks = {code: {c: states.get(code, {}).get(c, ABSENT) for c in CHECKS}
              for code in fed.codes}
    return View({}, ready, checks), ok


# The export is written for people (--lang vi): its words, read back into keys.
STATUS_OF = {translate(f"board.{s}", "vi"): s
             for s in ("ready", "not_ready", "silent", "not_installed")}
STATE_OF = {translate(f"state.{s}", "vi"): s for s in criteria.STATES}


def export_view(rows: list[dict[str, str]]) -> View:
    return View({r["ward"]: STATUS_OF[r["status"]] for r in rows},
                {r["ward"]: r["ready"] == translate("export.yes", "vi") for r in rows},
                {r["ward"]: {c: STATE_OF.get(r[f"check_{c}"], ABSENT) for c in CHECKS}
                 for r in rows})


def csv_view(fed: Fed) -> View:
    path = next(fed.export_dir.glob("*.csv"))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, *lines = list(csv.reader(handle))
    assert header == headers("vi")
    return export_view([dict(zip(COLUMNS, line, strict=True)) for line in lines])


def xlsx_view(fed: Fed) -> View:
    sheet = load_workbook(next(fed.export_dir.glob("*.xlsx"))).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == headers("vi")
    return export_view([dict(zip(COLUMNS, ("" if v is None else str(v) for v in row),
                                 strict=True)) for row in values[1:]])


class Elements(HTMLParser):
    """Every start tag's attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def elements(url: str) -> list[tuple[str, dict[str, str]]]:
    status, body = http_get(url, timeout=30)
    assert status == 200, (url, body[:500])
    parser = Elements()
    parser.feed(body.decode())
    return parser.tags


def board_tiles(fed: Fed) -> dict[str, dict[str, str]]:
    tiles = {}
    for tag, attrs in elements(f"{fed.url}/?lang=vi"):
        if tag == "a" and "tile" in attrs.get("class", "").split():
            assert attrs["id"] == f"tile-{attrs['data-code']}", attrs
            tiles[attrs["data-code"]] = attrs
    return tiles


def ward_page_view(fed: Fed) -> View:
    status: dict[str, str] = {}
    checks: dict[str, WardStates] = {}
    for code in fed.codes:
        states: WardStates = {}
        for tag, attrs in elements(f"{fed.url}/ward/{code}?lang=vi"):
            classes = attrs.get("class", "").split()
            if tag == "section" and "ward-head" in classes:
                status[code] = next(c for c in classes if c != "ward-head")
            elif tag == "li" and "check" in classes:
                name = attrs["id"].removeprefix("check-")
                states[name] = attrs["data-state"]
                assert attrs["data-state"] in classes, attrs  # its colour is its state
        checks[code] = {c: states.get(c, ABSENT) for c in CHECKS}
    return View(status, {}, checks)


# --- the comparison


def disagreements(views: dict[str, View], codes: list[str]) -> list[str]:
    """Every (ward, what) on which two views differ, with what each view says."""
    out = []
    for code in codes:
        for label, pick in (("status", lambda v: v.status),
                            ("ready", lambda v: v.ready),
                            *((f"check {c}", lambda v, c=c: {k: s[c] for k, s in v.checks.items()})
                              for c in CHECKS)):
            said = {name: pick(view).get(code, ABSENT) for name, view in views.items()
                    if pick(view)}
            if len(set(map(str, said.values()))) > 1:
                out.append(f"ward {code} {label}: {said}")
    return out


def test_api_metrics_export_and_pages_agree_on_every_wards_states(fed: Fed) -> None:
    api = api_view(fed)
    api_ok = {w["code"]: w["checks"]
              for w in json.loads(http_get(f"{fed.url}/api/v1/wards")[1])["wards"]}
    metrics, check_ok = metrics_view(fed)
    views = {"api": api, "metrics": metrics, "csv": csv_view(fed), "xlsx": xlsx_view(fed),
             "ward page": ward_page_view(fed)}
    tiles = board_tiles(fed)
    views["board"] = View({code: t["data-status"] for code, t in tiles.items()}, {}, {})

    assert sorted(api.status) == sorted(fed.codes) == sorted(tiles)
    assert disagreements(views, fed.codes) == []
    for code, tile in tiles.items():
        # A tile's colour is its status, and it names exactly the checks that fail.
        assert api.status[code] in tile["class"].split(), tile
        failing = {c for c, s in api.checks[code].items() if s == "fail"}
        assert set(tile["data-failing"].split()) == failing, (code, tile, api.checks[code])
        # sansang_ward_check_ok is what readiness counts, as the API's "checks" says it:
        # 1 or 0, nothing for a check without a verdict (criteria.CheckOutcome.ok).
        assert check_ok.get(code, {}) == {c: ok for c, ok in api_ok[code].items()
                                          if ok is not None}, code
        # A check that fails is judged so: never a verdict beside another state.
        assert {c for c, ok in api_ok[code].items() if ok is False} == failing, code
    # Every state of a check is a known one, and the fleet shows the ones that matter.
    seen = {s for states in api.checks.values() for s in states.values()}
    assert seen <= {"pass", "fail", "stale", "not_configured", "no_data"}, seen
    assert {"pass", "fail", "stale"} <= seen, seen
    assert set(api.status.values()) == {"ready", "not_ready", "silent", "not_installed"}
    assert {api.status[c] for c in fed.unreported} == {"not_installed"}
    assert api.status[fed.silent] == "silent"
