"""The latest state of every ward, and its ready-rendered lines for ``/metrics``.

Only the newest measurement of each (ward, kind, target) counts: a replayed,
older report is stored in history but never makes a ward look current. When a
ward changes, its lines of every family are rendered again; a scrape joins
those strings and does no per-series work.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from collector.exposition import FAMILIES, sample_line
from collector.series import Sample, series_for
from inventory.model import Inventory
from probes import PROBES
from probes.base import ProbeResult


@dataclass
class Measurement:
    measured_at: float
    result: ProbeResult
    samples: list[Sample]


@dataclass
class WardState:
    code: str
    simulated: bool = False
    last_report_at: float | None = None
    dropped_reports_total: int = 0
    measurements: dict[tuple[str, str], Measurement] = field(default_factory=dict)


class FleetState:
    def __init__(self, inventory: Inventory, simulated_wards: Iterable[str] = ()):
        self.inventory = inventory
        simulated = set(simulated_wards)
        self.wards: dict[str, WardState] = {
            code: WardState(code, simulated=code in simulated) for code in inventory.wards
        }
        # family name -> ward code -> that ward's rendered lines of the family
        self._chunks: dict[str, dict[str, str]] = {name: {} for name in FAMILIES}
        self._render_static()
        for code in self.wards:
            self._render_ward(code)

    def _ward_labels(self, code: str) -> dict[str, str]:
        if self.wards[code].simulated:
            return {"ward": code, "simulated": "true"}
        return {"ward": code}

    def _render_static(self) -> None:
        golive = dt.datetime.combine(self.inventory.golive, dt.time(), tzinfo=dt.UTC).timestamp()
        self._static = FAMILIES["sansang_golive_timestamp_seconds"].header + (
            f"sansang_golive_timestamp_seconds {golive:.0f}\n"
        )
        info = self._chunks["sansang_ward_info"]
        contract_down = self._chunks["sansang_link_contract_download_bytes_per_second"]
        contract_up = self._chunks["sansang_link_contract_upload_bytes_per_second"]
        for code, ward in self.inventory.wards.items():
            labels = {
                "ward": code, "name": ward.name, "kind": ward.kind,
                "province": ward.province, "cluster": ward.cluster,
            }
            if self.wards[code].simulated:
                labels["simulated"] = "true"
            info[code] = sample_line("sansang_ward_info", labels, 1)
            base = self._ward_labels(code)
            if ward.links:
                contract_down[code] = "".join(
                    sample_line("sansang_link_contract_download_bytes_per_second",
                                {**base, "link": link.id}, link.download_bytes_per_second)
                    for link in ward.links
                )
                contract_up[code] = "".join(
                    sample_line("sansang_link_contract_upload_bytes_per_second",
                                {**base, "link": link.id}, link.upload_bytes_per_second)
                    for link in ward.links
                )

    def apply(self, ward_code: str, kind: str, target: str, measured_at: float,
              result: ProbeResult) -> bool:
        """Take in one report; True when it changed what the ward shows."""
        ward = self.wards.get(ward_code)
        if ward is None:
            return False
        key = (kind, target)
        current = ward.measurements.get(key)
        changed = False
        if current is None or measured_at >= current.measured_at:
            ward.measurements[key] = Measurement(
                measured_at, result, series_for(kind, target, result)
            )
            changed = True
        if ward.last_report_at is None or measured_at > ward.last_report_at:
            ward.last_report_at = measured_at
            changed = True
        if changed:
            self._render_ward(ward_code)
        return changed

    def apply_stored(self, ward_code: str, kind: str, target: str, measured_at: float,
                     result_json: str) -> None:
        """Restore one stored report at start-up."""
        probe = PROBES.get(kind)
        if probe is None:
            return
        result = probe.result_type.model_validate(json.loads(result_json))
        self.apply(ward_code, kind, target, measured_at, result)

    def agent_status(self, ward_code: str, dropped_reports_total: int) -> None:
        """The agent's own count of reports its full spool dropped (it only grows)."""
        ward = self.wards.get(ward_code)
        if ward is not None and dropped_reports_total > ward.dropped_reports_total:
            ward.dropped_reports_total = dropped_reports_total
            self._render_ward(ward_code)

    def samples(self, ward_code: str) -> list[Sample]:
        """Every current series of one ward (without the ward label)."""
        ward = self.wards[ward_code]
        out: list[Sample] = []
        for measurement in ward.measurements.values():
            out.extend(measurement.samples)
        if ward.last_report_at is not None:
            out.append(Sample("sansang_agent_last_report_timestamp_seconds", (),
                              ward.last_report_at))
            out.append(Sample("sansang_agent_dropped_reports_total", (),
                              ward.dropped_reports_total))
        return out

    def _render_ward(self, code: str) -> None:
        base = self._ward_labels(code)
        lines: dict[str, list[str]] = {}
        for sample in self.samples(code):
            lines.setdefault(sample.name, []).append(
                sample_line(sample.name, {**base, **dict(sample.labels)}, sample.value)
            )
        for name in _DYNAMIC_FAMILIES:
            text = "".join(lines.get(name, ()))
            if text:
                self._chunks[name][code] = text
            else:
                self._chunks[name].pop(code, None)

    def render(self) -> str:
        parts = [self._static]
        for name, family in FAMILIES.items():
            chunks = self._chunks[name]
            if chunks:
                parts.append(family.header)
                parts.extend(chunks.values())
        return "".join(parts)

    def summary(self) -> dict[str, Any]:
        reporting = sum(1 for w in self.wards.values() if w.last_report_at is not None)
        return {"wards": len(self.wards), "wards_reporting": reporting}


# Families filled from reports; the rest are static (ward info, contracts, go-live).
_DYNAMIC_FAMILIES = [
    name for name in FAMILIES
    if name not in (
        "sansang_ward_info", "sansang_golive_timestamp_seconds",
        "sansang_link_contract_download_bytes_per_second",
        "sansang_link_contract_upload_bytes_per_second",
    )
]
