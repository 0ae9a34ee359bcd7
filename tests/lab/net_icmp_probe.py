"""Run the real ICMP probe from inside a lab host and print its results as JSON.

``python net_icmp_probe.py --count N --interval S --timeout S HOST [HOST ...]``
prints one JSON list (one object per host, the probe's own ``to_json``), so lab
tests measure exactly what an agent would, in the namespace of a ward.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from probes.base import deadline_in
from probes.icmp import IcmpConfig, probe_many


def probe_parser(description: str | None) -> argparse.ArgumentParser:
    """Hosts and the probe's settings, as both this runner and the ICMP bench take them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("hosts", nargs="+")
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--deadline", type=float, default=60.0)
    return parser


def probe_config(args: argparse.Namespace) -> IcmpConfig:
    return IcmpConfig(count=args.count, interval_seconds=args.interval,
                      timeout_seconds=args.timeout)


def main(argv: list[str] | None = None) -> int:
    args = probe_parser(__doc__).parse_args(argv)
    config = probe_config(args)
    results = asyncio.run(probe_many(args.hosts, config, deadline_in(args.deadline)))
    print(json.dumps([r.to_json() for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
