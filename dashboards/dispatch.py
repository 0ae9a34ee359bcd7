"""The technicians' dispatch list: which wards to visit, what fails there and since when,
silent agents, and the alerts behind them, filtered by province, cluster and check.

"Since when" is the collector's own: it exports when each failing check started failing
(``sansang_ward_check_failing_since_timestamp_seconds``), the same moment its pages show,
so the dashboard needs no subquery over the verdict history.
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from dashboards.common import (
    CHECK_TITLES,
    CLUSTER,
    PROVINCE,
    RED,
    Layout,
    Query,
    Settings,
    alert_annotation,
    dashboard,
    override,
    stat,
    step,
    table,
    variable,
    ward_link,
    with_ward_labels,
)

UID = "sansang-dispatch"

CHECK = variable("check", "Tiêu chí / Check", "label_values(sansang_ward_check_ok, check)")

CHECK_OK = 'sansang_ward_check_ok{check=~"$check"}'
# Seconds each failing (ward, check) has been failing.
FAILING_FOR = ("time() - max by (ward, check) "
               '(sansang_ward_check_failing_since_timestamp_seconds{check=~"$check"})')
FAILING_WARDS = f"group by (ward, cluster) ({with_ward_labels(f'{CHECK_OK} == 0', ['cluster'])})"

SILENT_FOR = ("(time() - max by (ward) (sansang_agent_last_report_timestamp_seconds))"
              ' and on(ward) (max by (ward) (sansang_ward_check_ok{check="agent"}) == 0)')

# Each alert with how long it has been pending or firing, and the ward's province.
ALERTS_ACTIVE_FOR = (
    '(time() - ALERTS_FOR_STATE{check=~"$check"})'
    " * ignoring(alertstate) group_left(alertstate) ALERTS"
)


def build(settings: Settings) -> Dashboard:
    layout = Layout()
    layout.add(stat("Phường cần xử lý / Wards to visit",
                    [Query(f"count({FAILING_WARDS})")],
                    steps=[step(RED)], color_mode="background", no_value="0"), 6, 5)
    layout.add(stat("Theo cụm / By cluster",
                    [Query(f"count by (cluster) ({FAILING_WARDS})", "{{cluster}}")],
                    steps=[step(RED)], text_mode="value_and_name"), 18, 5)

    code, check, failing_for = "Mã / Code", "Tiêu chí / Check", "Đang lỗi / Failing for"
    layout.add(table(
        "Danh sách điều phối / Dispatch list",
        [Query(with_ward_labels(FAILING_FOR, ["name", "cluster"]))],
        rename={"ward": code, "name": "Phường, xã / Ward", "cluster": "Cụm / Cluster",
                "check": check, "Value": failing_for},
        overrides=[ward_link(code, settings), override(check, mappings=[CHECK_TITLES]),
                   override(failing_for, unit="dtdurations")],
        sort_by=failing_for, descending=True,
        description="Every failing check of every selected ward, longest failing first, "
                    "counted from the moment the collector saw the check start failing.",
    ), 24, 12)

    silent_for = "Im lặng / Silent for"
    layout.add(table(
        "Thiết bị đo mất liên lạc / Silent agents",
        [Query(with_ward_labels(SILENT_FOR, ["name", "cluster"]))],
        rename={"ward": code, "name": "Phường, xã / Ward", "cluster": "Cụm / Cluster",
                "Value": silent_for},
        overrides=[ward_link(code, settings), override(silent_for, unit="dtdurations")],
        sort_by=silent_for, descending=True,
        description="Wards whose agent stopped reporting: check its power and its path to "
                    "the collector first. Agents that never reported are in the dispatch "
                    "list only.",
    ), 8, 10)

    active_for = "Từ / Active for"
    layout.add(table(
        "Cảnh báo / Alerts",
        [Query(with_ward_labels(ALERTS_ACTIVE_FOR, ["province"]))],
        rename={"ward": code, "name": "Phường, xã / Ward", "cluster": "Cụm / Cluster",
                "alertname": "Cảnh báo / Alert", "alertstate": "Trạng thái / State",
                "severity": "Mức độ / Severity", "check": check,
                "condition": "Điều kiện / Condition", "target": "Đích / Target",
                "link": "Đường truyền / Link", "platform": "Hệ thống / Platform",
                "resolver": "DNS", "device": "Thiết bị / Device",
                "interface": "Cổng / Interface", "Value": active_for},
        overrides=[ward_link(code, settings), override(check, mappings=[CHECK_TITLES]),
                   override(active_for, unit="dtdurations")],
        sort_by=active_for, descending=True,
        description="Pending and firing alerts of the selected wards: the exact target, "
                    "link, platform or device that fails.",
    ), 16, 10)

    return dashboard(
        UID, "sansang · Điều phối kỹ thuật / Technician dispatch",
        "Which wards to visit, what fails there and since when.",
        layout, [PROVINCE, CLUSTER, CHECK],
        annotations=[alert_annotation('cluster=~"$cluster"')],
    )
