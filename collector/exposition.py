"""The metric families of the contract and the text-format pieces they are rendered from.

Families are declared once, here. Each ward's lines of each family are rendered
when that ward changes, so a scrape only joins ready-made bytes.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    help: str
    type: str = "gauge"

    @property
    def header(self) -> str:
        return f"# HELP {self.name} {escape_help(self.help)}\n# TYPE {self.name} {self.type}\n"


_FAMILIES = [
    Family("sansang_ward_info", "Ward identity (always 1): name, kind, former province, cluster."),
    Family("sansang_ward_ready", "1 when every readiness check of the ward passes."),
    Family("sansang_ward_check_ok", "1 when the readiness check passes, 0 when it fails."),
    Family("sansang_ward_check_failing_since_timestamp_seconds",
           "When the failing readiness check started failing, as a Unix timestamp."),
    Family("sansang_golive_timestamp_seconds", "Go-live date as a Unix timestamp."),
    Family("sansang_agent_last_report_timestamp_seconds",
           "Measurement time of the newest report from the ward's agent."),
    Family("sansang_agent_dropped_reports_total",
           "Reports the ward's agent dropped from its full spool.", "counter"),
    Family("sansang_ward_pushes_refused_total",
           "Pushes from the ward's agent refused whole, by reason (series_budget).", "counter"),
    Family("sansang_icmp_rtt_avg_seconds", "Average ICMP round-trip time."),
    Family("sansang_icmp_rtt_min_seconds", "Minimum ICMP round-trip time."),
    Family("sansang_icmp_rtt_max_seconds", "Maximum ICMP round-trip time."),
    Family("sansang_icmp_jitter_seconds",
           "Mean absolute difference of consecutive ICMP round-trip times."),
    Family("sansang_icmp_loss_ratio", "Share of ICMP echo requests without reply."),
    Family("sansang_bandwidth_download_bytes_per_second", "Measured download throughput."),
    Family("sansang_bandwidth_upload_bytes_per_second", "Measured upload throughput."),
    Family("sansang_link_contract_download_bytes_per_second", "Contracted download rate."),
    Family("sansang_link_contract_upload_bytes_per_second", "Contracted upload rate."),
    Family("sansang_platform_up", "1 when the platform answered with success."),
    Family("sansang_platform_response_seconds", "Time to the platform's complete answer."),
    Family("sansang_platform_status_code", "HTTP status code of the platform's last answer."),
    Family("sansang_platform_tls_expiry_timestamp_seconds",
           "Expiry of the platform's TLS certificate as a Unix timestamp."),
    Family("sansang_dns_up", "1 when the resolver answered the lookup."),
    Family("sansang_dns_lookup_seconds", "Time the ward's resolver took to answer."),
    Family("sansang_device_info", "Device identity (always 1): role, whether it is critical."),
    Family("sansang_device_up", "1 when the device answered SNMP."),
    Family("sansang_device_cpu_ratio", "Device CPU load, 0 to 1."),
    Family("sansang_device_memory_used_ratio", "Share of device memory in use."),
    Family("sansang_device_uplink_up", "1 when the device's declared uplink interface is up."),
    Family("sansang_interface_oper_up", "1 when the interface is operationally up."),
    Family("sansang_interface_bytes_total", "Bytes through the interface.", "counter"),
    Family("sansang_interface_errors_total", "Errors on the interface.", "counter"),
    Family("sansang_ups_on_battery", "1 when the UPS runs on battery."),
    Family("sansang_ups_battery_charge_ratio", "UPS battery charge, 0 to 1."),
    Family("sansang_ups_runtime_seconds", "Estimated UPS runtime left on battery."),
]

FAMILIES: dict[str, Family] = {f.name: f for f in _FAMILIES}


def escape_help(text: str) -> str:
    """HELP text escapes only backslash and newline; a quote stays as it is."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


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
