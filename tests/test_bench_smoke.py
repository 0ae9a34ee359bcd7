"""The benchmarks still run: ``python -m bench --quick`` and a short load test, end to end.

Speed is the benchmarks' business, printed in their table against the targets;
these tests only check that every figure is produced, beside its peer, and
written as JSON. No timing is asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from tests.lab.require import in_ci

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[1]
# A generous bound against a hang; the quick run itself takes well under a minute.
TIMEOUT_SECONDS = 600


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=TIMEOUT_SECONDS, check=False)


def expected_rows() -> list[tuple[str, str]]:
    import importlib

    rows = []
    for module_name, _peer in BENCHMARKS.values():
        rows += [(key, figure) for key, figure, _unit in
                 importlib.import_module(module_name).ROW_KEYS]
    return rows


def test_quick_run_prints_every_figure_beside_its_peer_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"

    completed = run_bench("--quick", "--json", str(out))

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    table_lines = completed.stdout.splitlines()
    header = next(line for line in table_lines if line.startswith("figure"))
    assert header.split() == ["figure", "ours", "peer", "ratio", "target", "met?"]
    document = json.loads(out.read_text())
    rows = {row["key"]: row for row in document["rows"]}
    for key, figure in expected_rows():
        assert key in rows, key
        # Figures that carry a count print it ("ICMP probe of 20 lab hosts"): match the start.
        assert any(line.startswith(figure.split(" of ")[0]) for line in table_lines), figure
        row = rows[key]
        if row["unavailable"]:
            assert not in_ci(), f"{key} not measured in CI: {row['unavailable']}"
            assert os.geteuid() != 0 or "failed" not in row["unavailable"], row["unavailable"]
            continue
        assert row["ours"] is not None, key
        if row["peer_name"]:
            assert row["peer"] is not None, key
            if row["peer"] == 0:
                # Below what can be measured in a quick window (CPU time is counted in
                # 10 ms clock ticks; blackbox_exporter at rest uses under 1 ms in 4 s):
                # no ratio is printed rather than an infinite one.
                assert row["ratio"] is None, key
            else:
                assert row["ratio"] == pytest.approx(row["ours"] / row["peer"])
        assert (row["met"] is None) == (row["target"] == "—"), key


def test_quick_load_test_reports_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "load.json"

    completed = run_bench("load", "--quick", "--duration", "6", "--json", str(out))

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    document = json.loads(out.read_text())
    rows = {row["key"]: row for row in document["rows"]}
    assert set(rows) == {"load_errors", "load_p50", "load_p99", "load_scrape",
                         "load_metrics_get", "load_rss", "load_cpu"}
    for row in rows.values():
        assert row["figure"] in completed.stdout
        assert row["ours"] is not None, row
    assert document["agents"]["pushes"] > 0
    assert document["scrape"]["scrapes"] >= 1
