"""One threshold overridden for one ward changes its verdict, its alert and its dashboard
limit line together, and changes neither the rule file nor the dashboard: the collector
exports the ward's own limit (``sansang_ward_limit``), and both compare against it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from alerts.generate import RULES_FILE
from alerts.generate import render as render_alerts
from collector.state import FleetState
from dashboards.generate import render_files as render_dashboards
from inventory import DEFAULT_INVENTORY, load_inventory
from inventory.criteria import agent_silent_after_seconds, evaluate_ward
from probes.series import sample
from tests.lab.require import require_binary

WARD = "25747"  # no override of its own in the shipped inventory
LIMIT = 'sansang_ward_limit{ward="$ward",check="latency",condition="rtt_avg"}'


def inventory_with_ward_latency(tmp_path: Path, seconds: float | None) -> Path:
    document = yaml.safe_load(DEFAULT_INVENTORY.read_text(encoding="utf-8"))
    document["wards_csv"] = str(DEFAULT_INVENTORY.parent / document["wards_csv"])
    if seconds is not None:
        document["wards"][WARD] = {"thresholds": {"latency_avg_seconds": seconds}}
    path = tmp_path / f"inventory-{seconds}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def latency_verdict(path: Path) -> bool | None:
    thresholds = load_inventory(path).thresholds_for(WARD)
    samples = [sample("sansang_icmp_rtt_avg_seconds", {"ward": WARD, "target": "core"}, 0.07)]
    return evaluate_ward(samples, thresholds, 1.75e9,
                         agent_silent_after_seconds(thresholds))["latency"].ok


def exported_limit_line(path: Path) -> str:
    """The collector's /metrics line with the ward's latency limit."""
    exposition = FleetState(load_inventory(path)).render()
    return next(line for line in exposition.splitlines()
                if line.startswith("sansang_ward_limit{") and f'ward="{WARD}"' in line
                and 'check="latency"' in line)


def latency_limit_query(path: Path) -> str:
    board = json.loads(next(text for name, text in render_dashboards(path).items()
                            if name.name == "sansang-ward.json"))
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    return next(expr for expr in exprs if LIMIT in expr)


def fires_and_draws(tmp_path: Path, rules: str, limit_line: str, query: str) -> str:
    """promtool over the collector's limit series: the alert's state at 15 minutes, and
    the dashboard's limit query's value; returns promtool's output ('' when all agree)."""
    value = float(limit_line.rsplit(" ", 1)[1])
    (tmp_path / "rules.yml").write_text(rules, encoding="utf-8")
    fires = value < 0.07
    test = {
        "rule_files": ["rules.yml"], "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": f'sansang_ward_info{{ward="{WARD}",name="P",cluster="C"}}',
                 "values": "1x20"},
                {"series": limit_line.rsplit(" ", 1)[0], "values": f"{value}x20"},
                {"series": f'sansang_icmp_rtt_avg_seconds{{ward="{WARD}",target="core"}}',
                 "values": "0.07x20"},
            ],
            "promql_expr_test": [{
                "expr": query.replace("$ward", WARD), "eval_time": "15m",
                "exp_samples": [{"labels": "{}", "value": value}],
            }, {
                "expr": 'ALERTS{alertname="WardHighLatency",alertstate="firing"}',
                "eval_time": "15m",
                "exp_samples": ([{"labels": (
                    f'ALERTS{{alertname="WardHighLatency",alertstate="firing",ward="{WARD}",'
                    'name="P",cluster="C",target="core",severity="warning",check="latency",'
                    'condition="rtt_avg"}'), "value": 1}] if fires else []),
            }],
        }],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test), encoding="utf-8")
    promtool = require_binary("promtool")["promtool"]
    result = subprocess.run([promtool, "test", "rules", str(tmp_path / "test.yml")],
                            capture_output=True, text=True, timeout=120)
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_a_ward_override_changes_verdict_alert_and_line_but_no_file(tmp_path: Path) -> None:
    city_default = inventory_with_ward_latency(tmp_path, None)
    stricter = inventory_with_ward_latency(tmp_path, 0.05)

    assert latency_verdict(city_default) is True
    assert latency_verdict(stricter) is False

    rules = render_alerts(city_default, "https://r.invalid", "https://s.invalid")[RULES_FILE]
    assert render_alerts(stricter, "https://r.invalid", "https://s.invalid")[RULES_FILE] == rules
    assert latency_limit_query(city_default) == latency_limit_query(stricter)

    assert exported_limit_line(city_default).endswith(" 0.1")
    assert exported_limit_line(stricter).endswith(" 0.05")
    query = latency_limit_query(stricter)
    assert fires_and_draws(tmp_path, rules, exported_limit_line(city_default), query) == ""
    assert fires_and_draws(tmp_path, rules, exported_limit_line(stricter), query) == ""
