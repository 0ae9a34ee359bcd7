"""Loading an inventory: the YAML file, the ward list CSV it names, and their checks.

``load_inventory(path)`` returns a validated ``Inventory`` or raises ``ConfigError``
listing every problem as ``file:line: field.path: what was expected``.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from inventory.model import Inventory, InventoryFile, Ward, WardDetails
from inventory.yamlfile import ConfigError, read_yaml, validation_problems

DEFAULT_INVENTORY = Path(__file__).with_name("hcmc.yaml")
SHIPPED_WARDS_CSV = Path(__file__).parent / "data" / "hcmc_wards_2025.csv"


def cluster_from_former_units(former_units: str) -> str:
    """The technician area by default: the former district of the first former unit."""
    first = former_units.split(";")[0].replace("[một phần]", "").strip()
    _, _, district = first.partition(",")
    return (district or first).strip()


def former_unit_names(former_units: str) -> tuple[str, ...]:
    """The pre-2025 units a ward was formed from, as people still call them:
    "Phường Bến Nghé, Quận 1; Phường Đa Kao [một phần], Quận 1" gives ("Phường Bến Nghé,
    Quận 1", "Phường Đa Kao, Quận 1")."""
    return tuple(" ".join(part.replace("[một phần]", "").split())
                 for part in former_units.split(";") if part.strip())


def read_wards_csv(path: Path) -> tuple[dict[str, Ward], list[str]]:
    wards: dict[str, Ward] = {}
    problems: list[str] = []
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        return {}, [f"{path}: cannot read: {exc.strerror}"]
    with handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            code = (row.get("code") or "").strip()
            if code in wards:
                problems.append(f"{path}:{line}: code: duplicate ward code {code}; "
                                "expected each code once")
                continue
            try:
                wards[code] = Ward(
                    code=code,
                    name=row["name"].strip(),
                    kind=row["type"].strip(),  # type: ignore[arg-type]
                    province=row["former_province"].strip(),
                    cluster=cluster_from_former_units(row["former_units"]),
                    former_units=former_unit_names(row["former_units"]),
                )
            except KeyError as exc:
                problems.append(f"{path}:{line}: missing column {exc}; expected "
                                "code,name,type,former_units,former_province")
            except ValidationError as exc:
                problems += [f"{path}:{line}: {p.split(': ', 1)[1]}"
                             for p in validation_problems(path, exc, {})]
    return wards, problems


def load_inventory(path: Path | str) -> Inventory:
    path = Path(path)
    data, lines = read_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("wards"), dict):
        # Unquoted ward codes are read by YAML as integers; they are names here.
        data["wards"] = {str(code): value for code, value in data["wards"].items()}
    try:
        document = InventoryFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(path, exc, lines, model=InventoryFile)) from None

    problems: list[str] = []
    wards: dict[str, Ward] = {}
    if document.wards_csv:
        csv_path = (path.parent / document.wards_csv).resolve()
        wards, problems = read_wards_csv(csv_path)

    for code, details in document.wards.items():
        loc = ("wards", code)
        base = wards.get(code)
        merged = _merge(code, base, details)
        if isinstance(merged, str):
            problems.append(f"{path}:{lines.get(loc, '?')}: wards.{code}: {merged}")
            continue
        try:
            wards[code] = Ward.model_validate(merged)
        except ValidationError as exc:
            problems += validation_problems(path, exc, lines, prefix=loc, model=Ward)
            continue
        problems += _check_references(path, lines, document, wards[code])

    problems += _check_teams(path, lines, document, wards)
    if problems:
        raise ConfigError(problems)
    # The city's NTP servers for every ward that does not name its own.
    own_clock = {code for code, details in document.wards.items()
                 if details.ntp_servers is not None}
    wards = {code: ward if code in own_clock
             else ward.model_copy(update={"ntp_servers": document.ntp_servers})
             for code, ward in wards.items()}
    return Inventory(
        city=document.city,
        golive=document.golive,
        timezone=document.timezone,
        core_hosts=document.core_hosts,
        platforms=document.platforms,
        thresholds=document.thresholds,
        credentials=document.credentials,
        wards=dict(sorted(wards.items())),
        series_budget=document.series_budget,
        teams=document.teams,
    )


def _merge(code: str, base: Ward | None, details: WardDetails) -> dict[str, object] | str:
    given = details.model_dump(exclude_unset=True)
    if base is None:
        missing = [f for f in ("name", "kind", "province", "cluster") if f not in given]
        if missing:
            return (f"ward {code} is not in the ward list, so it needs "
                    f"{', '.join(missing)}; expected a known ward code or a complete ward")
        return {"code": code, **given}
    return {**base.model_dump(), **given}


def _check_references(
    path: Path, lines: Mapping[tuple[str | int, ...], int], document: InventoryFile, ward: Ward
) -> list[str]:
    problems = []
    known = sorted(document.credentials)
    seen_devices: set[str] = set()
    for index, device in enumerate(ward.devices):
        loc: tuple[str | int, ...] = ("wards", ward.code, "devices", index)
        if device.credentials not in document.credentials:
            field = (*loc, "credentials")
            problems.append(
                f"{path}:{lines.get(field, '?')}: wards.{ward.code}.devices[{index}].credentials: "
                f"expected the name of an entry under credentials: "
                f"({', '.join(known) or 'none defined'}), got {device.credentials!r}"
            )
        if device.id in seen_devices:
            problems.append(
                f"{path}:{lines.get((*loc, 'id'), '?')}: wards.{ward.code}.devices[{index}].id: "
                f"duplicate device id {device.id!r}; expected each device id once per ward"
            )
        seen_devices.add(device.id)
    link_ids = [link.id for link in ward.links]
    for index, link_id in enumerate(link_ids):
        if link_id in link_ids[:index]:
            problems.append(
                f"{path}:{lines.get(('wards', ward.code, 'links', index, 'id'), '?')}: "
                f"wards.{ward.code}.links[{index}].id: duplicate link id {link_id!r}; "
                "expected each link id once per ward"
            )
    return problems


def _check_teams(
    path: Path, lines: Mapping[tuple[str | int, ...], int], document: InventoryFile,
    wards: Mapping[str, Ward],
) -> list[str]:
    """Each team's clusters exist (with a "did you mean"), and no cluster has two teams:
    an alert must reach one team, not none by a typo and not two by a copy."""
    problems = []
    known = sorted({ward.cluster for ward in wards.values()})
    covered: dict[str, str] = {}
    for team_id, team in document.teams.items():
        for index, cluster in enumerate(team.clusters):
            where = f"{path}:{lines.get(('teams', team_id, 'clusters', index), '?')}: " \
                    f"teams.{team_id}.clusters[{index}]"
            if cluster not in known:
                close = difflib.get_close_matches(cluster, known, 1, 0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"{where}: expected a cluster of the ward list, "
                                f"got {cluster!r}{hint}")
            elif cluster in covered:
                problems.append(f"{where}: cluster {cluster!r} is already covered by team "
                                f"{covered[cluster]}; expected one team per cluster")
            else:
                covered[cluster] = team_id
    return problems
