"""``python -m bench``: every benchmark, one table; ``python -m bench load``: the load test.

  python -m bench [--quick] [--only NAME[,NAME]] [--json PATH] [--keep] [--profile DIR]
  python -m bench [--profile DIR] load [--duration S] [--quick] [--json PATH] [--keep]

Each figure is printed beside its peer's, measured in the same run on the same
machine, with the ratio, the target and whether it was met. A benchmark whose
peer or requirement is missing prints "not available" and why.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from bench import servers
from bench.fleet import Fleet, build_fleet
from bench.results import Row, table, unavailable_rows, write_json
from bench.scale import FULL, QUICK, Scale
from bench.servers import Unavailable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"
DEFAULT_LOAD_JSON = ROOT / "bench" / "results" / "load.json"
# name -> (module, peer, rows it prints); run in this order.
BENCHMARKS = {
    "ingest": ("bench.ingest", "Pushgateway"),
    "render": ("bench.render", "prometheus_client"),
    "agent": ("bench.agent", "blackbox_exporter"),
    "icmp": ("bench.icmp", "fping"),
    "bandwidth": ("bench.bandwidth", "iperf3"),
    "hostile": ("bench.hostile", "the collector at half budget, and unhindered"),
    "board": ("bench.board", "HCMC's board, 168 wards"),
}
NEEDS_FLEET = {"ingest", "render", "board"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="the smoke version: small fleet, short windows (seconds)")
    parser.add_argument("--only", default=None,
                        help=f"comma-separated benchmarks to run ({', '.join(BENCHMARKS)})")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results "
                             f"(default {DEFAULT_JSON.relative_to(ROOT)})")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (logs, databases) and print its path")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="run the collectors under pyinstrument and write their "
                             "profiles (text call tree and HTML) into DIR")
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("load", help="the load test: 3,321 agents pushing every 15 s "
                                       "while Prometheus scrapes the collector")
    load.add_argument("--duration", type=float, default=300.0,
                      help="seconds of load (default 300)")
    load.add_argument("--quick", action="store_true", dest="load_quick",
                      help="a small fleet pushing every 2 s, for a smoke run")
    load.add_argument("--json", type=Path, default=None, dest="load_json",
                      help=f"default {DEFAULT_LOAD_JSON.relative_to(ROOT)}")
    load.add_argument("--keep", action="store_true", dest="load_keep")
    return parser


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    # Unwinds through every context manager, so servers and namespaces are cleaned up.
    raise SystemExit(143)


def _more_open_files() -> None:
    """Thousands of simulated agents hold a connection each; children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def work_folder(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sansang-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"work folder kept: {path}", flush=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


def run_benchmarks(names: list[str], scale: Scale, work: Path) -> tuple[list[Row], bool]:
    rows: list[Row] = []
    crashed = False
    fleet: Fleet | None = None
    for name in names:
        module_name, peer = BENCHMARKS[name]
        module = importlib.import_module(module_name)
        started = time.monotonic()
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        try:
            if name in NEEDS_FLEET and fleet is None:
                fleet = build_fleet(work / "fleet", scale.wards)
            args = (work / name, fleet, scale) if name in NEEDS_FLEET else (work / name, scale)
            rows += module.run(*args)
        except Unavailable as exc:
            rows += unavailable_rows(module.ROW_KEYS, peer, str(exc))
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            crashed = True
            traceback.print_exc()
            rows += unavailable_rows(module.ROW_KEYS, peer,
                                     f"failed: {type(exc).__name__}: {exc}"[:400])
        print(f"[bench] {name} done in {time.monotonic() - started:.0f} s", file=sys.stderr,
              flush=True)
    return rows, crashed


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    _more_open_files()
    os.chdir(ROOT)
    if args.profile is not None:
        servers.PROFILE_DIR = args.profile.resolve()
    if args.command == "load":
        from bench import load

        with work_folder(args.load_keep or args.keep) as work:
            return load.main(work, args.duration, args.load_quick or args.quick,
                             args.load_json or DEFAULT_LOAD_JSON)

    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            print(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}",
                  file=sys.stderr)
            return 2
    scale = QUICK if args.quick else FULL
    started, load_before = time.monotonic(), os.getloadavg()[0]
    with work_folder(args.keep) as work:
        rows, crashed = run_benchmarks(names, scale, work)
    load_after = os.getloadavg()[0]
    print(f"\nsansang benchmarks ({scale.name}, {scale.wards:,} wards; "
          f"{time.monotonic() - started:.0f} s; {os.cpu_count()} cores shared with whatever "
          f"else runs: load average {load_before:.1f} before, {load_after:.1f} after)\n")
    print(table(rows), flush=True)
    json_path = args.json or DEFAULT_JSON
    write_json(json_path, rows, {"scale": scale.name, "wards": scale.wards,
                                 "benchmarks": names,
                                 "load_average": {"before": load_before, "after": load_after}})
    print(f"\nresults written to {json_path}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
