"""The README's demo command serves every ward of the inventory soon after start."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.lab.servers import free_port, http_get, spawn, stop_process


def test_demo_serves_all_168_wards_within_60_seconds_and_its_real_ward_is_ready(
    tmp_path: Path,
) -> None:
    port = free_port()
    log_path = tmp_path / "demo.log"
    process = spawn(
        [sys.executable, "-m", "demo", "--port", str(port), "--state-dir", str(tmp_path / "demo"),
         "--interval", "5", "--duration", "90"],
        log_path,
    )
    started = time.monotonic()
    metrics = ""
    try:
        while time.monotonic() - started < 60:
            try:
                status, body = http_get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            except OSError:
                status, body = 0, b""
            metrics = body.decode()
            if status == 200 and metrics.count("sansang_ward_info{") == 168 \
                    and 'sansang_ward_ready{ward="26968"} 1' in metrics:
                break
            time.sleep(0.5)
    finally:
        stop_process(process)
        output = log_path.read_text()
    assert metrics.count("sansang_ward_info{") == 168, output
    assert metrics.count('simulated="true"') >= 167
    assert 'sansang_icmp_rtt_avg_seconds{ward="26968",target="127.0.0.1"}' in metrics
    # The real agent measures every check of its ward on loopback, and the ward is ready.
    for kind in ("bandwidth_download_bytes_per_second", "dns_lookup_seconds",
                 "platform_response_seconds"):
        assert f'sansang_{kind}{{ward="26968"' in metrics
    assert 'sansang_ward_ready{ward="26968"} 1' in metrics
    assert metrics.count("sansang_ward_ready{") == 168
    assert "Press Ctrl-C to stop." in output
    assert "demo stopped" in output
