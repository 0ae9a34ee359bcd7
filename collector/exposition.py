"""The metric families of the contract and the text-format pieces they are rendered from.

The fleet's own families are declared here, each probe kind's in its module; together
they are ``FAMILIES``. Each ward's lines of each family are rendered when that ward
changes, so a scrape only joins ready-made bytes.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping

from probes import PROBES
from probes.series import Family

# The fleet's own families; each probe kind declares its own (probes.base.ProbeKind).
_CORE_FAMILIES = [
    Family("sansang_ward_info", "Ward identity (always 1): name, kind, former province, cluster."),
    Family("sansang_ward_ready", "1 when every readiness check of the ward passes."),
    Family("sansang_ward_check_ok", "1 when the readiness check passes, 0 when it fails."),
    Family("sansang_ward_check_state",
           "1 for the check's state: pass, fail, stale, not_configured or no_data."),
    Family("sansang_ward_check_failing_since_timestamp_seconds",
           "When the failing readiness check started failing, as a Unix timestamp."),
    Family("sansang_golive_timestamp_seconds", "Go-live date as a Unix timestamp."),
    Family("sansang_agent_last_report_timestamp_seconds",
           "Measurement time of the newest report from the ward's agent."),
    Family("sansang_agent_dropped_reports_total",
           "Reports the ward's agent dropped from its full spool.", "counter"),
    Family("sansang_ward_pushes_refused_total",
           "Pushes from the ward's agent refused whole, by reason (series_budget).", "counter"),
    Family("sansang_link_contract_download_bytes_per_second", "Contracted download rate."),
    Family("sansang_link_contract_upload_bytes_per_second", "Contracted upload rate."),
    Family("sansang_device_info",
           "Device identity (always 1): role, whether it is critical, its name for people."),
    Family("sansang_link_info", "Link identity (always 1): its ISP and its name for people."),
    Family("sansang_platform_info", "Shared platform identity (always 1): its name."),
    Family("sansang_ntp_server_info", "An NTP server the ward's clock is checked against (1)."),
    Family("sansang_ward_limit",
           "The ward's own limit of a readiness condition (check, condition), in base units; "
           "for bandwidth, the share of the contracted rate."),
]

FAMILIES: dict[str, Family] = {
    f.name: f for f in (*_CORE_FAMILIES, *(f for kind in PROBES.values() for f in kind.families))
}


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(labels: Mapping[str, str]) -> str:
    return label_pairs_text(labels.items())


def label_pairs_text(labels: Iterable[tuple[str, str]]) -> str:
    return ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels)


@functools.lru_cache(maxsize=65536)
def cached_label_pairs_text(labels: tuple[tuple[str, str], ...]) -> str:
    """``label_pairs_text`` for the label sets series repeat on every report (a target,
    a platform, an interface): rendered once, not once per report."""
    return label_pairs_text(labels)


def format_value(value: float) -> str:
    """A value as the text format writes it; never raises. Whole numbers below 1e15 are
    written as integers; NaN and the infinities as ``NaN``, ``+Inf``, ``-Inf``."""
    # NaN fails both comparisons, and an integer of any size compares without overflow.
    if -1e15 < value < 1e15:
        whole = int(value)
        return str(whole) if whole == value else repr(float(value))
    return _format_unusual_value(value)


def _format_unusual_value(value: float) -> str:
    """NaN, the infinities, and numbers from 1e15 up; an integer beyond float range is the
    infinity a float64 would saturate to (Prometheus keeps float64 values only)."""
    if value != value:
        return "NaN"
    if value > sys.float_info.max:
        return "+Inf"
    if value < -sys.float_info.max:
        return "-Inf"
    return repr(float(value))


def sample_line(name: str, labels: Mapping[str, str], value: float) -> str:
    return f"{name}{{{label_text(labels)}}} {format_value(value)}\n"
