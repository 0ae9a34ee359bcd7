"""Which collector owns a ward: a stable rule, and the inventory split that follows from it.

``shard_of(code, shards)`` hashes the ward code (SHA-256, not Python's salted
``hash``), so every machine, every run and every language that can compute
SHA-256 agrees on the owner. Changing the number of shards moves wards, so it is
a planned change: split the inventory again and move those wards' agents.

``python -m bench.sharding INVENTORY --shards N --out DIR`` writes
``DIR/shard-<k>/inventory.yaml`` and its ward list for each shard ``k``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

import yaml

from inventory.load import cluster_from_former_units


def shard_of(ward_code: str, shards: int) -> int:
    """The shard (0 … shards-1) that owns ``ward_code``."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    digest = hashlib.sha256(ward_code.strip().encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def split_inventory(inventory: Path, shards: int, out: Path) -> list[Path]:
    """One inventory per shard, each with only that shard's wards; their paths, by shard."""
    document = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    rows: list[dict[str, str]] = []
    fields: list[str] = []
    if document.get("wards_csv"):
        with (inventory.parent / document["wards_csv"]).open(encoding="utf-8",
                                                             newline="") as handle:
            reader = csv.DictReader(handle)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
    paths = []
    for shard in range(shards):
        directory = out / f"shard-{shard}"
        directory.mkdir(parents=True, exist_ok=True)
        part = dict(document)
        part["wards"] = {str(code): details
                         for code, details in (document.get("wards") or {}).items()
                         if shard_of(str(code), shards) == shard}
        # Each team keeps the clusters this shard holds (a team naming a cluster the
        # inventory lacks is refused at load); a team left with none has nothing here.
        clusters = {cluster_from_former_units(r["former_units"])
                    for r in rows if shard_of(r["code"], shards) == shard}
        clusters |= {d["cluster"] for d in part["wards"].values()
                     if isinstance(d, dict) and d.get("cluster")}
        if document.get("teams"):
            teams = {}
            for name, team in document["teams"].items():
                if team.get("everything"):
                    teams[name] = team
                elif kept := [c for c in team.get("clusters", ()) if c in clusters]:
                    teams[name] = {**team, "clusters": kept}
            part["teams"] = teams
        if rows:
            csv_path = directory / "wards.csv"
            with csv_path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=fields)
                writer.writeheader()
                writer.writerows(r for r in rows if shard_of(r["code"], shards) == shard)
            part["wards_csv"] = csv_path.name
        path = directory / "inventory.yaml"
        path.write_text(
            f"# Shard {shard} of {shards} of {inventory.name} (python -m bench.sharding).\n"
            + yaml.safe_dump(part, allow_unicode=True, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sharding", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inventory", type=Path, help="the whole city's inventory YAML")
    parser.add_argument("--shards", type=int, required=True, help="number of collectors")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args(argv)
    for shard, path in enumerate(split_inventory(args.inventory, args.shards, args.out)):
        print(f"shard {shard}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
