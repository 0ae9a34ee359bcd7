"""``agent.py check`` with the demo's own agent.yaml, on the demo's healthy loopback ward
(platform stand-ins, a resolver, ICMP to 127.0.0.1, a speed test against the collector):
every line passes or has nothing to answer for, and it exits 0 with the ward's name."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from tests.lab.servers import ROOT, free_port, http_get, spawn, stop_process


def test_check_with_the_demos_agent_yaml_on_its_healthy_ward_exits_0(tmp_path: Path) -> None:
    port, state = free_port(), tmp_path / "demo"
    log_path = tmp_path / "demo.log"
    process = spawn([sys.executable, "-m", "demo", "--no-alerting", "--port", str(port),
                     "--state-dir", str(state), "--interval", "5", "--duration", "180"],
                    log_path)
    try:
        # The demo's own agent runs its speed test first; the check waits its turn.
        started, metrics = time.monotonic(), ""
        while time.monotonic() - started < 90:
            try:
                metrics = http_get(f"http://127.0.0.1:{port}/metrics", timeout=2)[1].decode()
            except OSError:
                metrics = ""
            if 'sansang_bandwidth_upload_bytes_per_second{ward="26968"' in metrics:
                break
            time.sleep(0.5)
        assert 'sansang_bandwidth_upload_bytes_per_second{ward="26968"' in metrics, \
            log_path.read_text()
        run = subprocess.run([sys.executable, str(ROOT / "agent.py"), "check", "--config",
                              str(state / "agent.yaml")],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        stop_process(process)
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert lines[-1] == "Phường Tân Sơn Nhất (26968): SẴN SÀNG"
    marks = [line.split("  ")[0] for line in lines[:-1] if line and not line.startswith(" ")]
    assert set(marks) == {"ĐẠT", "CHƯA KHAI BÁO"}, run.stdout
    speed = next(line for line in lines if "Tốc độ so với hợp đồng" in line)
    assert speed.startswith("ĐẠT") and re.search(r"chính \([^)]+\): tải xuống", speed), speed
