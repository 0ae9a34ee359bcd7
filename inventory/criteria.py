"""The readiness criteria of DESIGN.md as one table, and the collector's verdicts from it.

``CHECKS`` is the single source of truth: the collector calls ``evaluate_ward`` on it,
and ``alerts/`` renders the very same conditions as Prometheus rules, so a threshold
or a comparison changed here changes the page, the alert and the dashboard line at once.

Series the collector exports besides the minimum set of DESIGN.md, because the table
needs them (``ward`` on each, plus ``simulated="true"`` for demo wards):

- ``sansang_device_info{ward,device,role,critical="true"|"false",name,name_en}`` = 1 for every
  inventory device, whether or not it answered; it says which devices are critical
  and which are UPSes. Static, like ``sansang_ward_info``, and it must be among the
  samples given to ``evaluate_ward``.
- ``sansang_device_uplink_up{ward,device,interface}`` 0/1 for every device with a
  declared ``uplink_interface``: 1 when that interface is operationally up, 0 when it
  is down or the device has no interface of that name; absent while the device does
  not answer (``sansang_device_up`` 0 says that already).
- ``sansang_dns_up{ward,resolver}`` 0/1: whether the resolver answered the lookup,
  since a failed lookup has no ``sansang_dns_lookup_seconds``.
- ``sansang_printer_supply_level_ratio{ward,device,supply,kind}``: what is left of each
  printer supply (for a waste box, the space left), and ``sansang_printer_error{ward,
  device,error}`` = 1 for each error the printer reports now (RFC 3805's names). Printers
  also carry ``supplies_required="true"|"false"`` on ``sansang_device_info``.

Verdicts. ``ok`` is True or False when the check had something to judge and None when
it had no data yet. A ward is ready only when every check is True: not knowing is not
ready. The collector should export ``sansang_ward_check_ok`` for True and False only
(None has no verdict to show) and ``sansang_ward_ready`` 0 unless ``ward_ready`` says so.

What happens with missing data, check by check:

- agent: a ward that never reported fails (``never_reported``), it is not "unknown":
  the agent check is about data arriving. A ward with no metrics at all therefore has
  agent False and every other check None; Prometheus fires ``WardAgentSilent`` for it
  (from ``sansang_ward_info``) and that alert inhibits the ward's others.
- latency, jitter, loss, dns: judged on the targets and resolvers the agent reports;
  none reported is None.
- bandwidth: needs the link's contract (``sansang_link_contract_*``, from the
  inventory): a measurement on a link without a contract is not judged, so a ward with
  no declared link stays None, never ready, until the city declares its contract.
- platforms: None until the agent reports any platform; from then on each of the four
  platforms without a measurement fails (``not_measured``).
- devices: True when the ward declares no critical device (there is nothing to answer
  for); None while the agent has polled no device at all; then every critical device
  must answer SNMP and have its uplink up, and one never polled fails. A printer marked
  ``supplies_required`` (``sansang_device_info{supplies_required="true"}``, critical by
  rule) also fails it while a supply printing uses up is below
  ``printer_supply_min_ratio``, or while it says it is out of toner; its waste box, its
  jams and every other printer's supplies are notices only (``NOTICE_METRICS``).
- power: the same for the ward's UPSes (role ``ups``, critical or not): True without a
  UPS; None until one has been read; then a UPS never read fails.

A sample whose value is NaN counts as not measured (Prometheus comparisons drop NaN too).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from inventory import humane
from inventory.model import PLATFORM_IDS, Thresholds
from probes.series import Sample

Comparison = Literal["<=", "<", ">=", "=="]
Measure = Literal["value", "age", "remaining", "magnitude"]
Unit = Literal["seconds", "duration", "ratio", "bits_per_second", "state"]
Severity = Literal["warning", "critical"]
Language = Literal["vi", "en"]

# A scale that is not a constant: the agent's report interval, known to the caller.
REPORT_INTERVAL = "report_interval"
DAY_SECONDS = 86400.0
# The agents' ICMP and report interval at production settings: short enough that a
# silent agent is noticed within the alerting promise (docs/alerting.md).
DEFAULT_REPORT_INTERVAL_SECONDS = 15.0


@dataclass(frozen=True)
class Only:
    """Judge only items listed by an info series with these labels (e.g. critical devices)."""

    metric: str
    on: tuple[str, ...]
    match: Mapping[str, str]


@dataclass(frozen=True)
class Condition:
    """One comparison of a check: it passes when ``measured <passes_when> limit``.

    The limit is ``Thresholds.<threshold> × scale`` (or the constant), times the
    matching ``relative_to`` series when given (the link's contracted rate). The
    measured value is the sample's value, its age (``now - value``), the time
    remaining until it (``value - now``) or its magnitude (``abs(value)``, for an
    offset that may go either way).
    """

    name: str
    metric: str
    passes_when: Comparison
    threshold: str | float
    unit: Unit
    problem_vi: str
    problem_en: str
    scale: float | str = 1.0
    measure: Measure = "value"
    relative_to: str | None = None
    only: Only | None = None
    # Judge only the metric's series whose label has one of these values (a printer's
    # consumed supplies, not its waste box; its out-of-toner error, not a jam).
    where: tuple[str, tuple[str, ...]] | None = None
    extra_labels: tuple[str, ...] = ()
    # Alerts average the metric over this window first (a PromQL duration), so a
    # fault that shows in every other probe run still pages; verdicts use the latest value.
    window: str | None = None
    severity: Severity | None = None
    for_: str | None = None
    # How long the alert stays firing after the condition stops holding, so a value
    # hovering at its limit sends one notification, not one per crossing.
    keep_firing_for: str | None = None
    # Fails only when every item fails (100 % loss to every core host), as one failure
    # of the ward; the alert then carries no item label.
    every_item: bool = False
    # Conditions of the same check this one makes redundant for the same item (or for
    # the whole ward with ``every_item``): Alertmanager holds them back while it fires.
    inhibits: tuple[str, ...] = ()


@dataclass(frozen=True)
class Missing:
    """Items the check expects a ``metric`` sample for; one without it fails the check.

    ``label`` None means the ward itself. The expected items are ``values`` or those
    listed by ``listed_by`` (an info series with ``listed_match`` labels). With
    ``once_reporting`` the expectation applies only once the ward reports ``metric``
    at all; before that the check has no data (None).
    """

    name: str
    metric: str
    problem_vi: str
    problem_en: str
    label: str | None = None
    values: tuple[str, ...] = ()
    listed_by: str | None = None
    listed_match: Mapping[str, str] = field(default_factory=dict)
    once_reporting: bool = True
    severity: Severity | None = None


@dataclass(frozen=True)
class Check:
    name: str
    alert: str
    severity: Severity
    # How long a condition must hold before the alert fires: long enough that one bad
    # probe run does not page, short enough that the NOC hears before the citizens do.
    for_: str
    title_vi: str
    title_en: str
    hint_en: str
    item_labels: tuple[str, ...]
    conditions: tuple[Condition, ...]
    missing: Missing | None = None
    keep_firing_for: str = "5m"
    # How old the check's newest measurement may be before it is stale (never a pass):
    # None means as long as the agent may stay silent, for checks probed every round.
    freshness_seconds: float | None = None

    @property
    def runbook(self) -> str:
        return runbook_path(self.alert)

    @property
    def measured_metrics(self) -> frozenset[str]:
        """The series that carry this check's measurements (not its references or lists)."""
        metrics = {condition.metric for condition in self.conditions}
        if self.missing is not None:
            metrics.add(self.missing.metric)
        return frozenset(metrics)


@dataclass(frozen=True)
class VerdictAlert:
    """The alert on the collector's own verdict, ``sansang_ward_ready == 0``."""

    alert: str
    metric: str
    for_: str
    title_vi: str
    title_en: str
    hint_en: str

    @property
    def runbook(self) -> str:
        return runbook_path(self.alert)


def runbook_path(alert: str) -> str:
    return f"docs/runbooks/{alert}.md"


_CRITICAL_DEVICE = Only("sansang_device_info", ("device",), {"critical": "true"})
_SUPPLIES_REQUIRED = Only("sansang_device_info", ("device",), {"supplies_required": "true"})
# What printing uses up (snmp_profiles.PRT_SUPPLY_KINDS), and the printer errors that
# say one is gone: for a printer whose supplies are required, both fail the devices check.
CONSUMED_SUPPLIES = ("toner", "ink", "ink_ribbon", "drum", "developer", "unknown")
OUT_OF_SUPPLIES = ("no_toner", "marker_supply_missing")

CHECKS: tuple[Check, ...] = (
    Check(
        name="agent", alert="WardAgentSilent", severity="critical", for_="1m",
        title_vi="Thiết bị đo gửi số liệu", title_en="Measuring agent reporting",
        hint_en="Nothing else about this ward can be trusted until its agent reports again; "
                "check the agent machine's power and its path to the collector first.",
        item_labels=(),
        conditions=(
            Condition(
                # The limit (three report intervals) is the wait already: no for: on top,
                # so a dead agent or a cut line pages within two minutes.
                name="silent", metric="sansang_agent_last_report_timestamp_seconds",
                passes_when="<=", threshold="agent_silent_intervals", scale=REPORT_INTERVAL,
                measure="age", unit="duration", for_="0s", keep_firing_for="1m",
                problem_vi="thiết bị đo (agent) không gửi báo cáo đã {value}, "
                           "quá giới hạn {threshold}",
                problem_en="the agent has not reported for {value}; the limit is {threshold}",
            ),
        ),
        missing=Missing(
            name="never_reported", metric="sansang_agent_last_report_timestamp_seconds",
            # Before go-live many wards have no agent yet: worth a list, not a page.
            once_reporting=False, severity="warning",
            problem_vi="thiết bị đo (agent) chưa từng gửi báo cáo",
            problem_en="the agent has never reported",
        ),
    ),
    Check(
        name="latency", alert="WardHighLatency", severity="warning", for_="5m",
        title_vi="Độ trễ", title_en="Latency",
        hint_en="Compare with the backup link and look for a saturated uplink before "
                "calling the ISP.",
        item_labels=("target",),
        conditions=(
            Condition(
                name="rtt_avg", metric="sansang_icmp_rtt_avg_seconds", passes_when="<=",
                # Slow is not down: a ten-minute mean, and fifteen minutes of grace
                # before it resolves, so a value at its limit pages once or not at all.
                threshold="latency_avg_seconds", unit="seconds", window="10m",
                keep_firing_for="15m",
                problem_vi="độ trễ trung bình đến {target} là {value}, vượt ngưỡng {threshold}",
                problem_en="average round-trip time to {target} is {value}, above the limit "
                           "of {threshold}",
            ),
        ),
    ),
    Check(
        name="jitter", alert="WardHighJitter", severity="warning", for_="5m",
        title_vi="Độ ổn định đường truyền (jitter)", title_en="Jitter",
        hint_en="Jitter hurts video conferencing first; look for a saturated link or "
                "Wi-Fi between the agent and the router.",
        item_labels=("target",),
        conditions=(
            Condition(
                name="jitter", metric="sansang_icmp_jitter_seconds", passes_when="<=",
                threshold="jitter_seconds", unit="seconds", window="10m",
                keep_firing_for="15m",
                problem_vi="độ dao động trễ (jitter) đến {target} là {value}, "
                           "vượt ngưỡng {threshold}",
                problem_en="jitter to {target} is {value}, above the limit of {threshold}",
            ),
        ),
    ),
    Check(
        name="loss", alert="WardPacketLoss", severity="warning", for_="2m",
        title_vi="Tỷ lệ mất gói tin", title_en="Packet loss",
        hint_en="Check cabling and interface errors on the ward router, then the ISP line.",
        item_labels=("target",),
        conditions=(
            Condition(
                # A cut line: one agent run (10 packets) lost whole to every core host,
                # seen twice. Pages in under two minutes.
                name="outage", metric="sansang_icmp_loss_ratio", passes_when="<",
                threshold=1.0, unit="ratio", severity="critical", for_="15s",
                keep_firing_for="2m", every_item=True, inhibits=("heavy", "loss"),
                problem_vi="mất kết nối hoàn toàn: mất {value} gói tin đến mọi máy chủ lõi",
                problem_en="the line is down: {value} of packets lost to every core host",
            ),
            Condition(
                # Heavy loss on a short window: four runs (40 packets) resolve 20 %.
                name="heavy", metric="sansang_icmp_loss_ratio", passes_when="<",
                threshold="heavy_loss_ratio", unit="ratio", window="1m", severity="critical",
                for_="30s", keep_firing_for="5m", inhibits=("loss",),
                problem_vi="mất gói nặng: tỷ lệ mất gói đến {target} là {value}, "
                           "ngưỡng {threshold}",
                problem_en="heavy packet loss to {target}: {value}, the limit for heavy "
                           "loss is {threshold}",
            ),
            Condition(
                name="loss", metric="sansang_icmp_loss_ratio", passes_when="<=",
                # An agent run sends 10 packets, so one run's loss moves in steps of
                # 10 %; ten minutes of runs (400 packets) resolve the 1 % limit, and a
                # quarter of an hour of grace keeps a loss at its limit from flapping.
                threshold="loss_ratio", unit="ratio", window="10m", keep_firing_for="15m",
                problem_vi="tỷ lệ mất gói đến {target} là {value}, vượt ngưỡng {threshold}",
                problem_en="packet loss to {target} is {value}, above the limit of {threshold}",
            ),
        ),
    ),
    Check(
        # Bandwidth tests run seldom (every 6 h by default) and the gauge keeps the last
        # result: one bad test pages after for:, which leaves time to re-measure on site.
        name="bandwidth", alert="WardBandwidthBelowContract", severity="warning", for_="30m",
        # Speed tests load the link, so they run a few times a day, often only at night:
        # last night's figure is still today's.
        freshness_seconds=26 * 3600.0,
        title_vi="Tốc độ so với hợp đồng", title_en="Speed against the contract",
        hint_en="Measure again on site with the technician's probe, then take the figures "
                "to the ISP named on the link.",
        item_labels=("link",),
        conditions=(
            Condition(
                name="download", metric="sansang_bandwidth_download_bytes_per_second",
                passes_when=">=", threshold="bandwidth_contract_ratio", unit="bits_per_second",
                relative_to="sansang_link_contract_download_bytes_per_second",
                problem_vi="tốc độ tải xuống trên đường truyền {link} chỉ đạt {value}, "
                           "cần tối thiểu {threshold}",
                problem_en="download on the {link} link is {value}; it needs at least {threshold}",
            ),
            Condition(
                name="upload", metric="sansang_bandwidth_upload_bytes_per_second",
                passes_when=">=", threshold="bandwidth_contract_ratio", unit="bits_per_second",
                relative_to="sansang_link_contract_upload_bytes_per_second",
                problem_vi="tốc độ tải lên trên đường truyền {link} chỉ đạt {value}, "
                           "cần tối thiểu {threshold}",
                problem_en="upload on the {link} link is {value}; it needs at least {threshold}",
            ),
        ),
    ),
    Check(
        name="platforms", alert="WardPlatformUnreachable", severity="critical", for_="5m",
        title_vi="Truy cập các hệ thống dùng chung", title_en="Shared platforms",
        hint_en="If every ward reports the same platform, the platform itself is at fault; "
                "if only this ward, check its DNS, firewall and link.",
        item_labels=("platform",),
        conditions=(
            Condition(
                # A platform that does not answer is neither slow nor about to expire.
                name="down", metric="sansang_platform_up", passes_when="==", threshold=1.0,
                unit="state", inhibits=("slow", "tls_expiry"),
                problem_vi="không truy cập được {platform}",
                problem_en="{platform} does not answer with success",
            ),
            Condition(
                name="slow", metric="sansang_platform_response_seconds", passes_when="<=",
                threshold="platform_response_seconds", unit="seconds", severity="warning",
                problem_vi="{platform} phản hồi sau {value}, vượt ngưỡng {threshold}",
                problem_en="{platform} answers in {value}, above the limit "
                           "of {threshold}",
            ),
            Condition(
                name="tls_expiry", metric="sansang_platform_tls_expiry_timestamp_seconds",
                passes_when=">=", threshold="tls_min_days", scale=DAY_SECONDS,
                measure="remaining", unit="duration", severity="warning",
                problem_vi="chứng chỉ TLS của {platform} hết hạn sau {value}, "
                           "cần còn ít nhất {threshold}",
                problem_en="the TLS certificate of {platform} expires in {value}; "
                           "it must stay valid for at least {threshold}",
            ),
        ),
        missing=Missing(
            name="not_measured", metric="sansang_platform_up", label="platform",
            values=PLATFORM_IDS,
            problem_vi="chưa có kết quả đo {platform}",
            problem_en="{platform} has not been measured",
        ),
    ),
    Check(
        name="dns", alert="WardDnsSlow", severity="warning", for_="10m",
        title_vi="Phân giải tên miền (DNS)", title_en="Name lookups (DNS)",
        hint_en="Try the lookup from the ward with another resolver; a failing ward "
                "resolver makes every platform look down.",
        item_labels=("resolver",),
        conditions=(
            Condition(
                name="failed", metric="sansang_dns_up", passes_when="==", threshold=1.0,
                unit="state", severity="critical",
                problem_vi="máy chủ DNS {resolver} không trả lời",
                problem_en="resolver {resolver} does not answer",
            ),
            Condition(
                name="slow", metric="sansang_dns_lookup_seconds", passes_when="<=",
                threshold="dns_lookup_seconds", unit="seconds",
                problem_vi="máy chủ DNS {resolver} trả lời sau {value}, vượt ngưỡng {threshold}",
                problem_en="resolver {resolver} answers in {value}, above the limit "
                           "of {threshold}",
            ),
        ),
    ),
    Check(
        name="devices", alert="WardDeviceDown", severity="critical", for_="5m",
        title_vi="Thiết bị mạng quan trọng", title_en="Critical network devices",
        hint_en="Check the device's power and cabling on site, then its SNMP settings; "
                "for a printer's supply, fit the spare cartridge.",
        item_labels=("device",),
        conditions=(
            Condition(
                name="snmp", metric="sansang_device_up", passes_when="==", threshold=1.0,
                unit="state", only=_CRITICAL_DEVICE,
                problem_vi="{device} không trả lời SNMP",
                problem_en="the {device} does not answer SNMP",
            ),
            Condition(
                name="uplink", metric="sansang_device_uplink_up", passes_when="==",
                threshold=1.0, unit="state", only=_CRITICAL_DEVICE,
                extra_labels=("interface",),
                problem_vi="cổng uplink {interface} của {device} không hoạt động",
                problem_en="uplink interface {interface} of the {device} is down",
            ),
            Condition(
                # Only printers the inventory says need their supplies (a ward that
                # prints its certificates on one printer), and only what printing uses
                # up: a waste box's level is the space left in it, read differently by
                # vendors (a notice, like every other printer's low supply).
                name="supply", metric="sansang_printer_supply_level_ratio", passes_when=">=",
                threshold="printer_supply_min_ratio", unit="ratio", severity="warning",
                for_="30m", only=_SUPPLIES_REQUIRED, where=("kind", CONSUMED_SUPPLIES),
                extra_labels=("supply",),
                problem_vi="vật tư in “{supply}” của {device} còn {value}, cần tối thiểu "
                           "{threshold}",
                problem_en="the supply “{supply}” of the {device} is at {value}; it needs at "
                           "least {threshold}",
            ),
            Condition(
                # Many printers give no level ("some remaining") and say only that the
                # toner is out, or a cartridge missing: as plain a failure.
                name="out", metric="sansang_printer_error", passes_when="==", threshold=0.0,
                unit="state", severity="warning", for_="30m", only=_SUPPLIES_REQUIRED,
                where=("error", OUT_OF_SUPPLIES), extra_labels=("error",),
                problem_vi="{device} báo hết mực hoặc thiếu hộp mực",
                problem_en="the {device} reports it is out of toner or missing a cartridge",
            ),
        ),
        missing=Missing(
            name="not_measured", metric="sansang_device_up", label="device",
            listed_by="sansang_device_info", listed_match={"critical": "true"},
            problem_vi="chưa có kết quả đo {device}",
            problem_en="the {device} has not been measured",
        ),
    ),
    Check(
        name="power", alert="WardUpsOnBattery", severity="warning", for_="10m",
        title_vi="Điện lưới và bộ lưu điện (UPS)", title_en="Mains power and UPS",
        hint_en="Check mains power at the ward centre first, then the UPS battery age.",
        item_labels=("device",),
        conditions=(
            Condition(
                # Mains lost is urgent: the UPS's runtime is the time left to act.
                # On battery, charge and runtime fall by themselves: this alert says it.
                name="on_battery", metric="sansang_ups_on_battery", passes_when="==",
                threshold=0.0, unit="state", severity="critical", for_="2m",
                inhibits=("charge", "runtime"),
                problem_vi="{device} đang chạy bằng pin (mất điện lưới)",
                problem_en="the {device} is running on battery (mains power lost)",
            ),
            Condition(
                name="charge", metric="sansang_ups_battery_charge_ratio", passes_when=">=",
                threshold="ups_min_charge_ratio", unit="ratio",
                problem_vi="pin của {device} còn {value}, cần tối thiểu {threshold}",
                problem_en="the {device} battery charge is {value}; it needs at least "
                           "{threshold}",
            ),
            Condition(
                name="runtime", metric="sansang_ups_runtime_seconds", passes_when=">=",
                threshold="ups_min_runtime_seconds", unit="duration",
                problem_vi="{device} chỉ duy trì được {value}, cần tối thiểu {threshold}",
                problem_en="the {device} can run for only {value} on battery; it needs at "
                           "least {threshold}",
            ),
        ),
        missing=Missing(
            name="not_measured", metric="sansang_ups_on_battery", label="device",
            listed_by="sansang_device_info", listed_match={"role": "ups"},
            problem_vi="chưa đọc được trạng thái {device}",
            problem_en="the state of the {device} has not been read",
        ),
    ),
    Check(
        name="clock", alert="WardClockSkew", severity="warning", for_="10m",
        title_vi="Đồng hồ máy tính", title_en="Clock",
        hint_en="Set the ward machines to take their time from the city's NTP servers; a "
                "wrong clock breaks TLS and the digital signatures of the document system.",
        item_labels=("server",),
        conditions=(
            Condition(
                name="no_answer", metric="sansang_ntp_up", passes_when="==", threshold=1.0,
                unit="state",
                problem_vi="máy chủ thời gian (NTP) {server} không trả lời",
                problem_en="time server (NTP) {server} does not answer",
            ),
            Condition(
                name="offset", metric="sansang_clock_offset_seconds", passes_when="<=",
                threshold="clock_offset_seconds", measure="magnitude", unit="seconds",
                problem_vi="đồng hồ lệch {value} so với máy chủ thời gian {server}, "
                           "vượt ngưỡng {threshold}",
                problem_en="the clock is {value} off time server {server}; the limit "
                           "is {threshold}",
            ),
        ),
        missing=Missing(
            name="not_measured", metric="sansang_ntp_up", label="server",
            listed_by="sansang_ntp_server_info", once_reporting=False,
            problem_vi="chưa đo đồng hồ so với máy chủ thời gian {server}",
            problem_en="the clock has not been checked against time server {server}",
        ),
    ),
)

NOT_READY = VerdictAlert(
    alert="WardNotReady", metric="sansang_ward_ready", for_="15m",
    title_vi="Phường chưa sẵn sàng", title_en="Ward not ready",
    hint_en="Fix the failing checks listed; each has its own alert and runbook.",
)

CHECKS_BY_NAME: dict[str, Check] = {check.name: check for check in CHECKS}


def _input_metrics(checks: Iterable[Check]) -> frozenset[str]:
    names: set[str] = set()
    for check in checks:
        for condition in check.conditions:
            names.add(condition.metric)
            if condition.relative_to:
                names.add(condition.relative_to)
            if condition.only:
                names.add(condition.only.metric)
        if check.missing is not None:
            names.add(check.missing.metric)
            if check.missing.listed_by:
                names.add(check.missing.listed_by)
    return frozenset(names)


# Every series a check reads: a verdict needs no other (interface counters, for one).
INPUT_METRICS = _input_metrics(CHECKS)
# Series no verdict reads but the ward page shows as notices, beside the checks: a
# printer's errors and its supplies (those that do not count for readiness).
NOTICE_METRICS = frozenset({"sansang_printer_error", "sansang_printer_supply_level_ratio"})
# What a measurement keeps as values beside its rendered lines (collector and field check).
KEPT_METRICS = INPUT_METRICS | NOTICE_METRICS


# --- formatting, identical to Prometheus's template functions so pages and alerts agree


def humanize(value: float) -> str:
    """Prometheus's ``humanize``: SI prefixes, four significant digits."""
    if value == 0 or not math.isfinite(value):
        return f"{value:.4g}"
    prefix = ""
    if abs(value) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = p, value / 1000
    else:
        for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
            if abs(value) >= 1:
                break
            prefix, value = p, value * 1000
    return f"{value:.4g}{prefix}"


def humanize_duration(value: float) -> str:
    """Prometheus's ``humanizeDuration``: ``120ms``, ``4m 0s``, ``13d 23h 59m 59s``."""
    if not math.isfinite(value):
        return f"{value:.4g}"
    if value == 0:
        return f"{value:.4g}s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        whole = int(abs(value))
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{abs(value):.4g}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{value:.4g}{prefix}s"


def humanize_percentage(value: float) -> str:
    return f"{value * 100:.4g}%"


def format_value(value: float, unit: Unit, language: Language = "en") -> str:
    """A measured value or a limit, in base units, as people read it (``inventory.humane``;
    ``alerts.rules`` says the same in the rules' Go templates)."""
    if unit == "seconds":
        return humane.short_time(value, language)
    if unit == "duration":
        return humane.duration(value, language)
    if unit == "ratio":
        return humane.percent(value, language)
    if unit == "bits_per_second":  # measured in bytes per second, quoted in bits
        return humane.bitrate(value * 8, language)
    return humane.number(value, language)


# --- the evaluator


@dataclass(frozen=True, slots=True)
class _Series:
    """One of the ward's current series as the evaluator looks at it: labels by name."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class FailingItem:
    """What fails and by how much: ``value`` and ``threshold`` in base units.

    ``value`` and ``threshold`` are None for an expected item never measured.
    """

    check: str
    condition: str
    labels: Mapping[str, str]
    value: float | None
    threshold: float | None
    # For an age ("silent for ..."): the time it is counted from, so that the words
    # say the age when they are shown, not when the verdict was made.
    counted_from: float | None = None

    def describe(self, language: Language = "vi", now: float | None = None,
                 labels: Mapping[str, str] | None = None) -> str:
        """The problem in words, e.g. ``download on the main link is 42 Mbit/s; it needs
        ...``; with ``now``, an age is counted up to ``now``; with ``labels``, those words
        for the platform, link and device (``inventory.naming``) instead of their ids."""
        check = CHECKS_BY_NAME[self.check]
        missing = check.missing
        if missing is not None and missing.name == self.condition:
            text = missing.problem_vi if language == "vi" else missing.problem_en
            return text.format(**(self.labels if labels is None else labels))
        condition = next(c for c in check.conditions if c.name == self.condition)
        text = condition.problem_vi if language == "vi" else condition.problem_en
        value = self.value
        if now is not None and self.counted_from is not None:
            value = now - self.counted_from
        return text.format(
            **(self.labels if labels is None else labels),
            value=format_value(value, condition.unit, language) if value is not None else "?",
            threshold=(format_value(self.threshold, condition.unit, language)
                       if self.threshold is not None else "?"),
        )


    def reading(self, language: Language = "en") -> str | None:
        """The value beside its limit, e.g. ``42 ms ≤ 100 ms``; None for a yes/no condition
        (a platform answers) or an item never measured."""
        check = CHECKS_BY_NAME[self.check]
        condition = next((c for c in check.conditions if c.name == self.condition), None)
        if condition is None or condition.unit == "state" or self.value is None \
                or self.threshold is None:
            return None
        return (f"{format_value(self.value, condition.unit, language)} "
                f"{_SIGNS[condition.passes_when]} "
                f"{format_value(self.threshold, condition.unit, language)}")


_SIGNS = {"<=": "≤", "<": "<", ">=": "≥", "==": "="}


# Every check of every ward is in one of these, the same everywhere it is shown.
State = Literal["pass", "fail", "stale", "not_configured", "no_data"]
STATES: tuple[State, ...] = ("pass", "fail", "stale", "not_configured", "no_data")


@dataclass(frozen=True)
class CheckOutcome:
    """A check's verdict. ``state`` is what people see; ``ok`` is what readiness counts:
    True (pass, or nothing declared that the check would need to answer for), False
    (fail), None (no verdict: no data yet, stale data, or a missing declaration that
    readiness needs, such as a link's contract). ``newest_at`` is when the newest
    measurement of a stale check was made (its age is computed when shown)."""

    check: str
    ok: bool | None
    failing: tuple[FailingItem, ...] = ()
    state: State = "no_data"
    newest_at: float | None = None


def agent_silent_after_seconds(
    thresholds: Thresholds, report_interval_seconds: float = DEFAULT_REPORT_INTERVAL_SECONDS
) -> float:
    """How long a ward may stay without a report before its agent counts as silent."""
    return thresholds.agent_silent_intervals * report_interval_seconds


def limit_value(
    condition: Condition, thresholds: Thresholds,
    report_interval_seconds: float = DEFAULT_REPORT_INTERVAL_SECONDS,
) -> float:
    """The condition's limit in base units (before ``relative_to``), e.g. for a dashboard line."""
    if not isinstance(condition.threshold, str):
        return float(condition.threshold)
    base = float(getattr(thresholds, condition.threshold))
    if condition.scale == REPORT_INTERVAL:
        return base * report_interval_seconds
    return base * float(condition.scale)


LIMIT_METRIC = "sansang_ward_limit"


def limited_conditions() -> Iterator[tuple[Check, Condition]]:
    """The conditions whose limit is a threshold (a ward may override it): those the
    collector exports as ``sansang_ward_limit`` series and the rules compare against."""
    for check in CHECKS:
        for condition in check.conditions:
            if isinstance(condition.threshold, str):
                yield check, condition


def limit_samples(
    thresholds: Thresholds, report_interval_seconds: float = DEFAULT_REPORT_INTERVAL_SECONDS,
) -> list[Sample]:
    """``sansang_ward_limit{check,condition}`` for one ward: each threshold's limit in base
    units (before ``relative_to``: the bandwidth limit is the ratio of the contract)."""
    return [
        (LIMIT_METRIC, (("check", check.name), ("condition", condition.name)),
         limit_value(condition, thresholds, report_interval_seconds))
        for check, condition in limited_conditions()
    ]


def evaluate_ward(
    samples: Iterable[Sample], thresholds: Thresholds, now: float, silent_after_seconds: float
) -> dict[str, CheckOutcome]:
    """Every check of ``CHECKS`` on one ward's current series (``probes.series.Sample``
    tuples, with or without the ward label), by check name.

    ``thresholds`` are the ward's own (``Inventory.thresholds_for``); ``now`` is a Unix
    time; ``silent_after_seconds`` is ``agent_silent_after_seconds(thresholds, interval)``.
    """
    by_metric = _by_metric(samples)
    return {
        check.name: _evaluate(check, by_metric, thresholds, now, silent_after_seconds)
        for check in CHECKS
    }


def _by_metric(samples: Iterable[Sample]) -> dict[str, list[_Series]]:
    by_metric: dict[str, list[_Series]] = defaultdict(list)
    for name, labels, value in samples:
        if not math.isnan(value):
            by_metric[name].append(_Series(dict(labels), value))
    return by_metric


def readings(
    samples: Iterable[Sample], thresholds: Thresholds, now: float, silent_after_seconds: float
) -> dict[str, tuple[FailingItem, ...]]:
    """What each check measured on ``samples``, item by item, with its value and limit,
    passing or failing (``evaluate_ward`` keeps only the failures): the figures shown
    beside a verdict. Where several conditions judge the same figure of the same item
    (loss: a cut line, heavy loss, then the normal limit), the strictest limit is kept;
    a condition judged across every item adds no figure of its own."""
    by_metric = _by_metric(samples)
    out: dict[str, tuple[FailingItem, ...]] = {}
    for check in CHECKS:
        kept: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Condition, FailingItem]] = {}
        for condition in check.conditions:
            if condition.every_item:
                continue
            for _, item in _judged(check, condition, by_metric, thresholds, now,
                                   silent_after_seconds):
                key = (condition.metric, tuple(sorted(item.labels.items())))
                seen = kept.get(key)
                if seen is None or _stricter(condition, item, seen[1]):
                    kept[key] = (condition, item)
        out[check.name] = tuple(item for _, item in kept.values())
    return out


def carries(item: FailingItem, samples: Iterable[Sample]) -> bool:
    """Whether ``samples`` (one measurement's series) hold the figure ``item`` judges: its
    metric with its labels. The measurement's probe error is then the item's cause."""
    check = CHECKS_BY_NAME[item.check]
    metrics = {c.metric for c in check.conditions if c.name == item.condition}
    if check.missing is not None and check.missing.name == item.condition:
        metrics.add(check.missing.metric)
    return any(name in metrics and all(dict(labels).get(k) == v for k, v in item.labels.items())
               for name, labels, _ in samples)


def _stricter(condition: Condition, item: FailingItem, than: FailingItem) -> bool:
    if item.threshold is None or than.threshold is None:
        return False
    if condition.passes_when in ("<=", "<"):
        return item.threshold < than.threshold
    return item.threshold > than.threshold


def freshness_of(check: Check, silent_after_seconds: float) -> float:
    return check.freshness_seconds or silent_after_seconds


def evaluate_timed(
    timed: Iterable[tuple[Sample, float | None]], thresholds: Thresholds, now: float,
    silent_after_seconds: float,
) -> dict[str, CheckOutcome]:
    """``evaluate_ward`` on measurements with the time each was made (None: from the
    inventory, always current). A check judges only measurements younger than its
    freshness; one with nothing younger but something older is ``stale``, never a pass."""
    timed = list(timed)
    limits = {check.name: freshness_of(check, silent_after_seconds) for check in CHECKS}
    outcomes: dict[str, CheckOutcome] = {}
    for limit in sorted(set(limits.values())):
        fresh = [sample for sample, at in timed if at is None or now - at <= limit]
        judged = evaluate_ward(fresh, thresholds, now, silent_after_seconds)
        outcomes.update({name: judged[name] for name, own in limits.items() if own == limit})
    for check in CHECKS:
        if outcomes[check.name].state != "no_data":
            continue
        measured = check.measured_metrics
        older = [at for sample, at in timed if at is not None and sample[0] in measured]
        if older:
            outcomes[check.name] = CheckOutcome(check.name, None, state="stale",
                                                newest_at=max(older))
    return outcomes


def ward_ready(outcomes: Mapping[str, CheckOutcome]) -> bool:
    """Ready when every check passes; a check without data keeps the ward not ready."""
    return all(outcome.ok is True for outcome in outcomes.values())


_PASSES = {
    "<=": lambda value, limit: value <= limit,
    "<": lambda value, limit: value < limit,
    ">=": lambda value, limit: value >= limit,
    "==": lambda value, limit: value == limit,
}


def _evaluate(
    check: Check, by_metric: Mapping[str, list[_Series]], thresholds: Thresholds, now: float,
    silent_after_seconds: float,
) -> CheckOutcome:
    failing: list[FailingItem] = []
    judged = False
    # Measured against references of which none is declared (no contract at all).
    referenced = [condition for condition in check.conditions if condition.relative_to]
    unreferenced = bool(referenced) and not any(
        by_metric.get(condition.relative_to or "") for condition in referenced)
    for condition in check.conditions:
        items = _judged(check, condition, by_metric, thresholds, now, silent_after_seconds)
        judged = judged or bool(items)
        if condition.every_item:
            # One failure of the ward, at the best item's value, when no item passes.
            if items and all(fails for fails, _ in items):
                best = min(items, key=lambda item: item[1].value or 0.0)[1]
                failing.append(FailingItem(check.name, condition.name, {}, best.value,
                                           best.threshold))
        else:
            failing.extend(item for fails, item in items if fails)
    nothing_expected = False
    if check.missing is not None:
        expected = _expected(check.missing, by_metric)
        nothing_expected = check.missing.listed_by is not None and not expected
        reporting = bool(by_metric.get(check.missing.metric))
        if reporting or not check.missing.once_reporting:
            present = [sample.labels for sample in by_metric.get(check.missing.metric, ())]
            for item in expected:
                if not any(_contains(labels, item) for labels in present):
                    failing.append(FailingItem(check.name, check.missing.name, item, None, None))
    if failing:
        return CheckOutcome(check.name, False, tuple(failing), "fail")
    if judged:
        return CheckOutcome(check.name, True, state="pass")
    if nothing_expected:
        return CheckOutcome(check.name, True, state="not_configured")
    if unreferenced:
        # Measured against a declaration the inventory lacks (a link's contract).
        return CheckOutcome(check.name, None, state="not_configured")
    return CheckOutcome(check.name, None, state="no_data")


def _judged(
    check: Check, condition: Condition, by_metric: Mapping[str, list[_Series]],
    thresholds: Thresholds, now: float, silent_after_seconds: float,
) -> list[tuple[bool, FailingItem]]:
    """Every item ``condition`` judges, each with whether it fails, its value and limit."""
    if condition.scale == REPORT_INTERVAL:
        limit = silent_after_seconds
    else:
        limit = limit_value(condition, thresholds)
    item_labels = check.item_labels + condition.extra_labels
    items: list[tuple[bool, FailingItem]] = []
    for sample in by_metric.get(condition.metric, ()):
        if not _judges(condition, sample, by_metric):
            continue
        item_limit = limit
        if condition.relative_to:
            reference = _find(by_metric.get(condition.relative_to, ()), sample, item_labels)
            if reference is None:
                continue
            item_limit = limit * reference.value
        measured = _measure(condition.measure, sample.value, now)
        items.append((
            not _PASSES[condition.passes_when](measured, item_limit),
            FailingItem(check.name, condition.name,
                        {k: sample.labels[k] for k in item_labels if k in sample.labels},
                        measured, item_limit,
                        sample.value if condition.measure == "age" else None),
        ))
    return items


def _judges(condition: Condition, sample: _Series,
            by_metric: Mapping[str, list[_Series]]) -> bool:
    """Whether ``condition`` judges ``sample`` (a series of its metric): listed by its
    ``only``, and with a ``where`` label value it names."""
    if condition.only and not _listed(sample, condition.only, by_metric):
        return False
    return not condition.where or sample.labels.get(condition.where[0]) in condition.where[1]


def judging(samples: Iterable[Sample]) -> Callable[[str, Mapping[str, str]], bool]:
    """For one ward's ``samples``, a test of whether some condition judges a series
    (metric, labels): what a verdict counts is not said again as a notice."""
    by_metric = _by_metric(samples)

    def judged(metric: str, labels: Mapping[str, str]) -> bool:
        series = _Series(labels, 0.0)
        return any(condition.metric == metric and _judges(condition, series, by_metric)
                   for check in CHECKS for condition in check.conditions)

    return judged


def _measure(measure: Measure, value: float, now: float) -> float:
    if measure == "age":
        return now - value
    if measure == "remaining":
        return value - now
    if measure == "magnitude":
        return abs(value)
    return value


def _contains(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


def _find(samples: Iterable[_Series], like: _Series, on: tuple[str, ...]) -> _Series | None:
    wanted = {key: like.labels.get(key, "") for key in on}
    return next((s for s in samples if _contains(s.labels, wanted)), None)


def _listed(sample: _Series, only: Only, by_metric: Mapping[str, list[_Series]]) -> bool:
    wanted = {**{key: sample.labels.get(key, "") for key in only.on}, **only.match}
    return any(_contains(info.labels, wanted) for info in by_metric.get(only.metric, ()))


def _expected(missing: Missing, by_metric: Mapping[str, list[_Series]]) -> list[dict[str, str]]:
    if missing.label is None:
        return [{}]
    if missing.listed_by is None:
        return [{missing.label: value} for value in missing.values]
    return [
        {missing.label: info.labels[missing.label]}
        for info in by_metric.get(missing.listed_by, ())
        if missing.label in info.labels and _contains(info.labels, missing.listed_match)
    ]

