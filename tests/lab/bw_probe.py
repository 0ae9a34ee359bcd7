"""Run the real bandwidth probe from inside a lab host and print its result as JSON.

``python bw_probe.py URL --duration S --warmup S --streams N`` prints the probe's
own ``to_json`` on one line, so lab tests measure exactly what an agent would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from probes.bandwidth import BandwidthConfig, probe
from probes.base import deadline_in


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=60.0)
    args = parser.parse_args(argv)
    config = BandwidthConfig(duration_seconds=args.duration, warmup_seconds=args.warmup,
                             streams=args.streams)
    result = asyncio.run(probe(args.url, config, deadline_in(args.deadline)))
    print(json.dumps(result.to_json()))
    return 0 if result.up else 1


if __name__ == "__main__":
    sys.exit(main())
