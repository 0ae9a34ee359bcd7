"""Driving the load generator process from a benchmark: requests in, figures out."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.lab.servers import ROOT

LOADGEN_GRACE_SECONDS = 120.0


def run_loadgen(work: Path, name: str, port: int, requests: list[bytes], *,
                concurrency: int, duration_seconds: float, warmup_seconds: float = 0.0,
                ok_status: int = 200) -> dict[str, Any]:
    """Send ``requests`` to 127.0.0.1:``port`` from a separate process; its JSON result."""
    work.mkdir(parents=True, exist_ok=True)
    requests_path = work / f"{name}.requests.pickle"
    requests_path.write_bytes(pickle.dumps(requests, protocol=pickle.HIGHEST_PROTOCOL))
    spec_path = work / f"{name}.spec.json"
    spec_path.write_text(json.dumps({
        "host": "127.0.0.1", "port": port, "requests": str(requests_path),
        "concurrency": concurrency, "duration_seconds": duration_seconds,
        "warmup_seconds": warmup_seconds, "ok_status": ok_status,
    }))
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.loadgen", str(spec_path)], cwd=ROOT,
            capture_output=True, text=True, check=False,
            timeout=warmup_seconds + duration_seconds + LOADGEN_GRACE_SECONDS)
    finally:
        requests_path.unlink(missing_ok=True)
    if completed.returncode != 0 or not completed.stdout.strip():
        raise RuntimeError(f"load generator {name} failed ({completed.returncode}): "
                           f"{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result
