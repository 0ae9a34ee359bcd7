"""``python -m inventory check FILE``: validate an inventory and summarise it."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.yamlfile import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inventory",
        description="Validate a sansang inventory and print a summary of its wards.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate FILE and summarise it")
    check.add_argument("file", nargs="?", type=Path, default=DEFAULT_INVENTORY,
                       help=f"inventory YAML (default: {DEFAULT_INVENTORY})")
    args = parser.parse_args(argv)

    try:
        inventory = load_inventory(args.file)
    except ConfigError as exc:
        exc.report("invalid inventory")
        return 1

    kinds = Counter(w.kind for w in inventory.wards.values())
    provinces = Counter(w.province for w in inventory.wards.values())
    clusters = {w.cluster for w in inventory.wards.values()}
    by_kind = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    print(f"{inventory.city}: {len(inventory.wards)} units: {by_kind}")
    print(f"  go-live {inventory.golive.isoformat()}; {len(clusters)} technician clusters")
    for province, n in provinces.most_common():
        print(f"  {n:4d} from {province}")
    links = sum(len(w.links) for w in inventory.wards.values())
    devices = sum(len(w.devices) for w in inventory.wards.values())
    print(f"  {links} links, {devices} devices, {len(inventory.platforms)} platforms, "
          f"{len(inventory.credentials)} credential sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
