"""From one probe result to the series it contributes, under the contract's names.

One function per probe kind; each returns ``Sample`` values without the ``ward``
label (the state adds it). A value that was not measured yields no sample, so a
failed lookup never shows as a zero-second lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


def _add(out: list[Sample], name: str, labels: dict[str, str], value: Any) -> None:
    if value is None:
        return
    out.append(Sample(name, tuple(labels.items()), float(value)))


def icmp_series(target: str, result: Any) -> list[Sample]:
    out: list[Sample] = []
    labels = {"target": target}
    _add(out, "sansang_icmp_rtt_avg_seconds", labels, result.rtt_avg_seconds)
    _add(out, "sansang_icmp_rtt_min_seconds", labels, result.rtt_min_seconds)
    _add(out, "sansang_icmp_rtt_max_seconds", labels, result.rtt_max_seconds)
    _add(out, "sansang_icmp_jitter_seconds", labels, result.jitter_seconds)
    _add(out, "sansang_icmp_loss_ratio", labels, result.loss_ratio)
    return out


def http_series(target: str, result: Any) -> list[Sample]:
    out: list[Sample] = []
    labels = {"platform": target}
    _add(out, "sansang_platform_up", labels, 1 if result.up else 0)
    _add(out, "sansang_platform_response_seconds", labels, result.response_seconds)
    _add(out, "sansang_platform_status_code", labels, result.status_code)
    _add(out, "sansang_platform_tls_expiry_timestamp_seconds", labels,
         result.tls_expiry_timestamp_seconds)
    return out


SERIES_BY_KIND: dict[str, Callable[[str, Any], list[Sample]]] = {
    "icmp": icmp_series,
    "http": http_series,
}


def series_for(kind: str, target: str, result: Any) -> list[Sample]:
    make = SERIES_BY_KIND.get(kind)
    return make(target, result) if make else []
