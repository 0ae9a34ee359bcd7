"""Time the real ICMP probe over many hosts, from inside a lab namespace; print JSON.

``python -m bench.icmp_timed --count N --interval S --timeout S HOST...`` runs
``probe_many`` once untimed (imports, socket checks) and then ``--repeats``
times under the clock, and prints the seconds of each timed run with the
packets sent and received, so the figure is the probe's, not the interpreter's
start-up.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from probes.base import deadline_in
from probes.icmp import IcmpConfig, probe_many
from tests.lab.net_icmp_probe import probe_config, probe_parser


def main(argv: list[str] | None = None) -> int:
    parser = probe_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    config = probe_config(args)
    asyncio.run(probe_many(args.hosts[:1], IcmpConfig(count=1), deadline_in(10)))
    runs = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        results = asyncio.run(probe_many(args.hosts, config, deadline_in(args.deadline)))
        runs.append({
            "seconds": time.perf_counter() - started,
            "sent": sum(r.sent for r in results),
            "received": sum(r.received for r in results),
            "socket": results[0].socket,
            "errors": sorted({r.error for r in results if r.error})[:5],
        })
    print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
