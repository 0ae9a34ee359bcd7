"""The bandwidth probe's ceiling on an unshaped veth, against iperf3 on the same link.

The collector's speed-test routes (``tests/lab/bw_server.py``) and ``iperf3 -s``
run in a core namespace; the probe (``tests/lab/bw_probe.py``) and ``iperf3 -c``
run in a ward namespace, with the same streams, duration and warm-up omission.
Each direction of the probe runs right beside iperf3's run of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.results import Row, at_least
from bench.scale import Scale
from bench.servers import Unavailable, binary

if TYPE_CHECKING:
    from tests.lab.netns import Host

PORT = 8080
IPERF_PORT = 5201
TARGET_GBITS = 1.0
ROW_KEYS = [
    ("bandwidth_download", "bandwidth probe ceiling, download", "Gbit/s"),
    ("bandwidth_upload", "bandwidth probe ceiling, upload", "Gbit/s"),
]


def _iperf3(ward: Host, server: str, scale: Scale, download: bool) -> float:
    """iperf3's receiver-side rate in Gbit/s."""
    args = ["iperf3", "--client", server, "--port", str(IPERF_PORT), "--json",
            "--time", str(scale.bandwidth_seconds), "--omit", str(scale.bandwidth_warmup_seconds),
            "--parallel", str(scale.bandwidth_streams)]
    if download:
        args.append("--reverse")
    completed = None
    for attempt in range(5):  # the server may still be closing the previous test
        completed = ward.run(*args, timeout=120, check=False)
        report = json.loads(completed.stdout or "{}")
        if completed.returncode == 0 and "error" not in report:
            return float(report["end"]["sum_received"]["bits_per_second"]) / 1e9
        time.sleep(0.2 * (attempt + 1))
    assert completed is not None
    raise RuntimeError(f"iperf3 failed: {completed.stdout[-500:]} {completed.stderr[-500:]}")


def run(work: Path, scale: Scale) -> list[Row]:
    if os.geteuid() != 0:
        raise Unavailable("needs root to build network namespaces")
    for name in ("ip", "iperf3"):
        binary(name)
    try:
        import collector.speedtest  # noqa: F401
        import probes.bandwidth  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"the bandwidth probe is not in this tree: {exc}") from None
    from tests.lab.netns import Lab, python_command

    with Lab(prefix="sb-") as lab:
        core = lab.add_host("core")
        ward = lab.add_host("ward")
        lab.link(core, ward)
        address = core.address_toward(ward)
        server = core.popen(*python_command("tests/lab/bw_server.py"), "--listen",
                            f"{address}:{PORT}", "--slots", "1", "--max-seconds", "60")
        lab.wait_for_line(server, "ready")
        core.popen("iperf3", "--server", "--bind", address, "--port", str(IPERF_PORT),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        iperf_down = _iperf3(ward, address, scale, download=True)
        completed = ward.python(
            "tests/lab/bw_probe.py", f"http://{address}:{PORT}",
            "--duration", str(scale.bandwidth_seconds),
            "--warmup", str(scale.bandwidth_warmup_seconds),
            "--streams", str(scale.bandwidth_streams), "--deadline", "120",
            timeout=180, check=False)
        iperf_up = _iperf3(ward, address, scale, download=False)
    result = json.loads(completed.stdout)
    if not result.get("up"):
        raise RuntimeError(f"the bandwidth probe failed: {result.get('error')}")
    down = result["download_bytes_per_second"] * 8 / 1e9
    up = result["upload_bytes_per_second"] * 8 / 1e9
    note = (f"{scale.bandwidth_streams} streams, {scale.bandwidth_seconds:g} s after "
            f"{scale.bandwidth_warmup_seconds:g} s warm-up each way; iperf3 the receiver's "
            f"count; both on the same 2 shared cores as sender and receiver")
    return [
        Row("bandwidth_download", ROW_KEYS[0][1], "Gbit/s", down, iperf_down, "iperf3 -R",
            target=f"≥ {TARGET_GBITS:.0f} Gbit/s", met=at_least(down, TARGET_GBITS),
            note=note, details={"probe": result}),
        Row("bandwidth_upload", ROW_KEYS[1][1], "Gbit/s", up, iperf_up, "iperf3",
            target=f"≥ {TARGET_GBITS:.0f} Gbit/s", met=at_least(up, TARGET_GBITS)),
    ]
