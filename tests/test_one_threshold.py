"""One threshold changed in the inventory changes the verdict, the alert rule and the
dashboard line together: the three renderings of the one criteria table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from alerts.rules import rule_groups
from dashboards.generate import render_files
from inventory import DEFAULT_INVENTORY, load_inventory
from inventory.criteria import agent_silent_after_seconds, evaluate_ward
from probes.series import sample

WARD = "25747"  # no override of its own: the city threshold applies


def inventory_with_latency(tmp_path: Path, seconds: float) -> Path:
    document = yaml.safe_load(DEFAULT_INVENTORY.read_text(encoding="utf-8"))
    document["thresholds"]["latency_avg_seconds"] = seconds
    document["wards_csv"] = str(DEFAULT_INVENTORY.parent / document["wards_csv"])
    path = tmp_path / f"inventory-{seconds}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def latency_verdict(path: Path) -> bool | None:
    thresholds = load_inventory(path).thresholds_for(WARD)
    samples = [sample("sansang_icmp_rtt_avg_seconds", {"ward": WARD, "target": "core"}, 0.07)]
    return evaluate_ward(samples, thresholds, 1.75e9,
                         agent_silent_after_seconds(thresholds))["latency"].ok


def latency_rule(path: Path) -> str:
    groups = rule_groups(load_inventory(path))["groups"]
    return next(r["expr"] for g in groups for r in g["rules"]
                if r.get("alert") == "WardHighLatency")


def latency_panel_steps(path: Path) -> list[Any]:
    files = render_files(path)
    board = json.loads(next(text for name, text in files.items()
                            if name.name == "sansang-ward.json"))
    panels = [p for p in board["panels"] if "sansang_icmp_rtt_avg_seconds" in json.dumps(
        p.get("targets", []))]
    return [s["value"] for p in panels
            for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_one_threshold_changes_verdict_rule_and_dashboard(tmp_path: Path) -> None:
    city_default = inventory_with_latency(tmp_path, 0.1)
    stricter = inventory_with_latency(tmp_path, 0.05)

    assert latency_verdict(city_default) is True
    assert latency_verdict(stricter) is False

    assert "> 0.1" in latency_rule(city_default) and "> 0.05" not in latency_rule(city_default)
    assert "> 0.05" in latency_rule(stricter)

    assert 0.1 in latency_panel_steps(city_default)
    assert 0.05 in latency_panel_steps(stricter)
    assert 0.1 not in latency_panel_steps(stricter)
