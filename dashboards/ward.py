"""One ward in detail, for the NOC and the technician on the way there: verdict and checks,
the link (RTT band, jitter, loss, bandwidth against the contract, DNS), the four platforms,
the devices and their interfaces, the UPS, and the ward's alerts.

Limit lines are the ward's own limits, the collector's ``sansang_ward_limit`` series, so a
per-ward override in the inventory moves the line as it moves the verdict and the alert.
Alerts show as annotations; the dashboard links the ward's page on the collector.
"""

from __future__ import annotations

from grafanalib.core import Dashboard, TimeSeries

from dashboards.common import (
    BLUE,
    CHECK_STATE,
    GREEN,
    RED,
    UP,
    VERDICT,
    Layout,
    Query,
    Settings,
    alert_annotation,
    check_state_query,
    coloured_cells,
    dashboard,
    limit_query,
    named_links,
    named_platforms,
    override,
    stat,
    step,
    table,
    timeseries,
    value_mapping,
    variable,
    ward_page_link,
)
from inventory.criteria import DAY_SECONDS

UID = "sansang-ward"

CLUSTER_ANY = variable("cluster", "Cụm kỹ thuật / Cluster",
                       "label_values(sansang_ward_info, cluster)")
# Shown as "26968 · Phường Tân Sơn Nhất", valued as the code; the named groups do not
# depend on the order in which Prometheus lists the labels.
WARD = variable(
    "ward", "Phường / Ward",
    'query_result(label_join(sansang_ward_info{cluster=~"$cluster"}, "title", " · ", '
    '"ward", "name"))',
    multi=False, regex='/title="(?<text>(?<value>[^" ]+) · [^"]*)"/',
)

W = 'ward="$ward"'


def _dashed(ref_id: str, color: str | None = None) -> dict[str, object]:
    properties: list[dict[str, object]] = [
        {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]
    if color:
        properties.append({"id": "color", "value": {"mode": "fixed", "fixedColor": color}})
    return {"matcher": {"id": "byFrameRefID", "options": ref_id}, "properties": properties}


def _limited(title: str, queries: list[Query], check: str, condition: str, *,
             unit: str, minimum: int | None = None, maximum: int | None = None,
             overrides: tuple[dict[str, object], ...] = ()) -> TimeSeries:
    """A graph with the ward's own limit drawn as a red dashed line."""
    ref_id = chr(ord("A") + len(queries))
    return timeseries(title, [*queries, limit_query(check, condition, W)], unit=unit,
                      overrides=[*overrides, _dashed(ref_id, RED)], minimum=minimum,
                      maximum=maximum)


def _bandwidth(direction: str) -> list[Query]:
    contract = f"sansang_link_contract_{direction}_bytes_per_second{{{W}}} * 8"
    limit = limit_query("bandwidth", direction, W).expr
    return [
        Query(named_links(f"sansang_bandwidth_{direction}_bytes_per_second{{{W}}} * 8"),
              "{{name}} đo được / measured"),
        Query(named_links(contract), "{{name}} hợp đồng / contract"),
        Query(named_links(f"{contract} * on() group_left() {limit}"),
              "{{name}} tối thiểu / minimum"),
    ]


def build(settings: Settings) -> Dashboard:
    layout = Layout()
    layout.row("Tổng quan / Overview")
    layout.add(stat("Phường / Ward", [Query(f"sansang_ward_info{{{W}}}",
                                            "{{name}} · {{cluster}} · {{province}}")],
                    text_mode="name"), 8, 4)
    layout.add(stat("Kết luận / Verdict", [Query(f"max(sansang_ward_ready{{{W}}})")],
                    mappings=[VERDICT], color_mode="background"), 4, 4)
    layout.add(stat(
        "Báo cáo cuối / Last report",
        [Query(f"time() - max(sansang_agent_last_report_timestamp_seconds{{{W}}})")],
        unit="s", steps=settings.steps("agent", "silent"), color_mode="background",
        description="Time since the agent's newest report; past the line the agent counts "
                    "as silent."), 4, 4)
    layout.add(stat("Tiêu chí / Checks",
                    [Query(check_state_query(W), "{{check}}")],
                    mappings=[CHECK_STATE], text_mode="value_and_name",
                    color_mode="background",
                    description="Each check's state: pass, fail, stale (its newest data is "
                                "too old), not configured, no data yet."), 8, 4)

    layout.row("Đường truyền / Link")
    layout.add(_limited(
        "Độ trễ / Round-trip time (min–avg–max)",
        [Query(f"min(sansang_icmp_rtt_min_seconds{{{W}}})", "min"),
         Query(f"max(sansang_icmp_rtt_max_seconds{{{W}}})", "max"),
         Query(f"sansang_icmp_rtt_avg_seconds{{{W}}}", "avg {{target}}")],
        "latency", "rtt_avg", unit="s",
        # Smokeping's band: the spread between the fastest and slowest echo of each run.
        overrides=(override("max", custom__fillBelowTo="min", custom__fillOpacity=25,
                            custom__lineWidth=0, color={"mode": "fixed", "fixedColor": BLUE}),
                   override("min", custom__lineWidth=0,
                            color={"mode": "fixed", "fixedColor": BLUE})),
    ), 12, 8)
    layout.add(_limited("Độ dao động / Jitter",
                        [Query(f"sansang_icmp_jitter_seconds{{{W}}}", "{{target}}")],
                        "jitter", "jitter", unit="s"), 6, 8)
    layout.add(_limited("Mất gói / Packet loss",
                        [Query(f"sansang_icmp_loss_ratio{{{W}}}", "{{target}}"),
                         limit_query("loss", "heavy", W, legend="mất gói nặng / heavy loss")],
                        "loss", "loss", unit="percentunit", minimum=0,
                        overrides=(_dashed("B", RED),)), 6, 8)
    layout.add(timeseries("Tải xuống / Download", _bandwidth("download"), unit="bps",
                          overrides=[_dashed("B"), _dashed("C", RED)], minimum=0), 12, 8)
    layout.add(timeseries("Tải lên / Upload", _bandwidth("upload"), unit="bps",
                          overrides=[_dashed("B"), _dashed("C", RED)], minimum=0), 12, 8)
    layout.add(_limited("DNS", [Query(f"sansang_dns_lookup_seconds{{{W}}}", "{{resolver}}")],
                        "dns", "slow", unit="s"), 16, 6)
    layout.add(stat("DNS trả lời / answers",
                    [Query(f"max by (resolver) (sansang_dns_up{{{W}}})", "{{resolver}}")],
                    mappings=[UP], color_mode="background"), 8, 6)
    layout.add(timeseries("Lệch đồng hồ / Clock offset",
                          [Query(f"sansang_clock_offset_seconds{{{W}}}", "{{server}}")],
                          unit="s", steps=[
                              step(RED), step(GREEN, -settings.limit("clock", "offset")),
                              step(RED, settings.limit("clock", "offset"))]), 24, 6)

    layout.row("Hệ thống dùng chung / Platforms")
    layout.add(stat("Truy cập / Reachable",
                    [Query(named_platforms(f"max by (platform) (sansang_platform_up{{{W}}})"),
                           "{{name}}")],
                    mappings=[UP], text_mode="value_and_name", color_mode="background"), 8, 8)
    layout.add(_limited("Thời gian phản hồi / Response time",
                        [Query(named_platforms(f"sansang_platform_response_seconds{{{W}}}"),
                               "{{name}}")],
                        "platforms", "slow", unit="s"), 10, 8)
    layout.add(stat(
        "Chứng chỉ TLS còn / TLS days left",
        [Query(f"(sansang_platform_tls_expiry_timestamp_seconds{{{W}}} - time()) / 86400",
               "{{platform}}")],
        unit="d", decimals=0, text_mode="value_and_name",
        steps=settings.steps("platforms", "tls_expiry", unit=DAY_SECONDS)), 6, 8)

    layout.row("Thiết bị / Devices")
    up, cpu, memory = "Hoạt động / Up", "CPU", "Bộ nhớ / Memory"
    gauge = {"type": "gauge", "mode": "basic"}
    layout.add(table(
        "Thiết bị / Devices",
        [Query(f"max by (device, role) (sansang_device_up{{{W}}})"),
         Query(f"max by (device, role) (sansang_device_cpu_ratio{{{W}}})"),
         Query(f"max by (device, role) (sansang_device_memory_used_ratio{{{W}}})")],
        rename={"device": "Thiết bị / Device", "role": "Vai trò / Role", "Value #A": up,
                "Value #B": cpu, "Value #C": memory},
        overrides=[override(up, **coloured_cells(UP)),
                   override(cpu, unit="percentunit", min=0, max=1, custom__cellOptions=gauge),
                   override(memory, unit="percentunit", min=0, max=1,
                            custom__cellOptions=gauge)],
    ), 12, 8)
    oper, uplink = "Trạng thái / Oper", "Uplink"
    layout.add(table(
        "Cổng mạng / Interfaces",
        [Query(f"max by (device, interface) (sansang_interface_oper_up{{{W}}})"),
         Query(f"max by (device, interface) (sansang_device_uplink_up{{{W}}})")],
        rename={"device": "Thiết bị / Device", "interface": "Cổng / Interface",
                "Value #A": oper, "Value #B": uplink},
        overrides=[override(oper, **coloured_cells(UP)),
                   override(uplink, **coloured_cells(UP))],
        description="Uplink is filled in for each device's declared uplink interface.",
    ), 12, 8)
    layout.add(timeseries(
        "Lưu lượng / Interface traffic",
        [Query(f"rate(sansang_interface_bytes_total{{{W}}}[$__rate_interval]) * 8",
               "{{device}} {{interface}} {{direction}}")], unit="bps", minimum=0), 8, 8)
    layout.add(timeseries(
        "Lỗi cổng / Interface errors",
        [Query(f"rate(sansang_interface_errors_total{{{W}}}[$__rate_interval])",
               "{{device}} {{interface}} {{direction}}")], unit="cps", minimum=0), 8, 8)
    layout.add(timeseries(
        "CPU, bộ nhớ / CPU and memory",
        [Query(f"sansang_device_cpu_ratio{{{W}}}", "{{device}} CPU"),
         Query(f"sansang_device_memory_used_ratio{{{W}}}", "{{device}} RAM")],
        unit="percentunit", minimum=0, maximum=1), 8, 8)

    layout.row("Nguồn điện / Power (UPS)")
    layout.add(stat("Nguồn / Power source",
                    [Query(f"max by (device) (sansang_ups_on_battery{{{W}}})", "{{device}}")],
                    mappings=[value_mapping({"0": ("Điện lưới / Mains", GREEN),
                                             "1": ("Chạy pin / On battery", RED)})],
                    text_mode="value_and_name", color_mode="background"), 8, 6)
    layout.add(_limited("Pin / Battery charge",
                        [Query(f"sansang_ups_battery_charge_ratio{{{W}}}", "{{device}}")],
                        "power", "charge", unit="percentunit", minimum=0, maximum=1), 8, 6)
    layout.add(_limited("Thời gian lưu điện / Runtime on battery",
                        [Query(f"sansang_ups_runtime_seconds{{{W}}}", "{{device}}")],
                        "power", "runtime", unit="s", minimum=0), 8, 6)

    layout.row("Máy in / Printers")
    # Every printer's supplies, with the ward's limit: below it, a notice on the ward page,
    # and a failure only for a printer the inventory marks supplies_required.
    layout.add(_limited("Vật tư máy in / Printer supplies",
                        [Query(f"sansang_printer_supply_level_ratio{{{W}}}",
                               "{{device}} · {{supply}}")],
                        "devices", "supply", unit="percentunit", minimum=0, maximum=1), 24, 6)

    layout.row("Cảnh báo / Alerts")
    layout.add(table(
        "Cảnh báo của phường / The ward's alerts",
        [Query(f"ALERTS{{{W}}}")],
        rename={"alertname": "Cảnh báo / Alert", "alertstate": "Trạng thái / State",
                "severity": "Mức độ / Severity", "check": "Tiêu chí / Check",
                "condition": "Điều kiện / Condition", "target": "Đích / Target",
                "link": "Đường truyền / Link", "platform": "Hệ thống / Platform",
                "resolver": "DNS", "device": "Thiết bị / Device",
                "interface": "Cổng / Interface"},
        description="Pending and firing alerts (from the rules in alerts/rules/).",
    ), 24, 6)

    return dashboard(
        UID, "sansang · Phường / Ward detail",
        "One ward: its verdict and checks, link, platforms, devices and power.",
        layout, [CLUSTER_ANY, WARD], time_from="now-6h",
        annotations=[alert_annotation(W)],
        links=[{**ward_page_link(settings, "${ward}"), "type": "link", "icon": "doc"}],
    )
