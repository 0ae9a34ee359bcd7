"""The city board for the NOC: wards ready, not ready and silent, the go-live countdown,
every ward coloured by its verdict, and what fails where, filtered by province and cluster.

The three counts add up to the selected wards: silent wards (agent check failing) are
counted as silent only, since nothing else about them can be trusted.
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from dashboards.common import (
    CHECK_TITLES,
    CLUSTER,
    GREEN,
    ORANGE,
    PROVINCE,
    PURPLE,
    SELECTED_WARDS,
    VERDICT,
    Layout,
    Query,
    Settings,
    alert_annotation,
    coloured_cells,
    dashboard,
    override,
    selected,
    stat,
    step,
    table,
    timeseries,
    ward_detail_link,
    ward_link,
    ward_page_link,
    with_ward_labels,
)

UID = "sansang-city"

READY = "max by (ward) (sansang_ward_ready)"
AGENT_OK = 'max by (ward) (sansang_ward_check_ok{check="agent"})'
# Per ward: 1 ready, 0 not ready, -1 silent.
WARD_VERDICT = (f"({READY} unless on(ward) ({AGENT_OK} == 0))"
                f" or on(ward) (({AGENT_OK} == 0) - 1)")

READY_COUNT = f"sum({selected(READY)})"
NOT_READY_COUNT = (f"sum((1 - {READY}) and on(ward) ({AGENT_OK} == 1)"
                   f" and on(ward) {SELECTED_WARDS})")
SILENT_COUNT = f"sum({selected(f'1 - {AGENT_OK}')})"
WARD_COUNT = f"count(group by (ward) ({SELECTED_WARDS}))"

GOLIVE = "max(sansang_golive_timestamp_seconds)"
# One series whichever side of go-live we are on; its phase label says which.
GOLIVE_DAYS = (
    f'label_replace(ceil(({GOLIVE} - time()) / 86400) > 0,'
    f' "phase", "ngày đến go-live / days to go-live", "", "")'
    f' or label_replace(floor((time() - {GOLIVE}) / 86400) >= 0,'
    f' "phase", "ngày từ go-live / days since go-live", "", "")'
)


def build(settings: Settings) -> Dashboard:
    layout = Layout()
    layout.row("Tổng quan / Overview")
    layout.add(stat("Sẵn sàng / Ready", [Query(READY_COUNT)], steps=[step(GREEN)],
                    color_mode="background",
                    description="Wards whose every readiness check passes."), 4, 4)
    layout.add(stat("Chưa sẵn sàng / Not ready", [Query(NOT_READY_COUNT)],
                    steps=[step(ORANGE)], color_mode="background",
                    description="Wards whose agent reports but some check fails or has "
                                "no data yet."), 4, 4)
    layout.add(stat("Mất liên lạc / Silent", [Query(SILENT_COUNT)], steps=[step(PURPLE)],
                    color_mode="background",
                    description="Wards whose agent is silent or never reported."), 4, 4)
    layout.add(stat("Tổng số / Wards", [Query(WARD_COUNT)],
                    description="Wards selected by province and cluster."), 4, 4)
    layout.add(stat("Go-live", [Query(GOLIVE_DAYS, "{{phase}}")], text_mode="value_and_name",
                    decimals=0,
                    description="Days to the go-live date of the inventory, then days "
                                "since it."), 8, 4)

    layout.add(timeseries(
        "Diễn biến / Readiness over time",
        [Query(READY_COUNT, "Sẵn sàng / Ready"),
         Query(NOT_READY_COUNT, "Chưa sẵn sàng / Not ready"),
         Query(SILENT_COUNT, "Mất liên lạc / Silent")],
        fill=40, stacked=True,
        overrides=[override("Sẵn sàng / Ready", color={"mode": "fixed", "fixedColor": GREEN}),
                   override("Chưa sẵn sàng / Not ready",
                            color={"mode": "fixed", "fixedColor": ORANGE}),
                   override("Mất liên lạc / Silent",
                            color={"mode": "fixed", "fixedColor": PURPLE})],
    ), 24, 8)

    layout.row("Từng phường / Every ward")
    layout.add(stat(
        "Trạng thái từng phường / Ward verdicts",
        [Query(with_ward_labels(WARD_VERDICT), "{{name}}")],
        mappings=[VERDICT], text_mode="name", color_mode="background",
        links=[ward_detail_link("${__field.labels.ward}"),
               ward_page_link(settings, "${__field.labels.ward}")],
        description="One tile per ward: green ready, red not ready, purple silent. "
                    "Click a tile for the ward's detail.",
    ), 24, 12)
    verdict, failing, last = "Trạng thái / Verdict", "Tiêu chí lỗi / Failing", \
        "Báo cáo cuối / Last report"
    layout.add(table(
        "Danh sách phường / Wards",
        [Query(with_ward_labels(WARD_VERDICT)),
         Query(with_ward_labels("sansang:ward_failing_checks:count")),
         Query(with_ward_labels(
             "time() - max by (ward) (sansang_agent_last_report_timestamp_seconds)"))],
        rename={"ward": "Mã / Code", "name": "Tên / Name", "kind": "Loại / Kind",
                "cluster": "Cụm / Cluster", "province": "Tỉnh cũ / Province",
                "Value #A": verdict, "Value #B": failing, "Value #C": last},
        overrides=[ward_link("Mã / Code", settings), override(verdict, **coloured_cells(VERDICT)),
                   override(last, unit="s")],
        sort_by=verdict,
    ), 24, 14)

    layout.row("Lỗi theo tiêu chí và cụm / Failures by check and cluster")
    wards = "Số phường lỗi / Wards failing"
    layout.add(table(
        "Tiêu chí đang lỗi / Failing checks",
        [Query(f"sum by (check) ({selected('1 - sansang_ward_check_ok')})")],
        rename={"check": "Tiêu chí / Check", "Value": wards},
        overrides=[override("Tiêu chí / Check", mappings=[CHECK_TITLES]),
                   override(wards, custom__cellOptions={"type": "gauge", "mode": "basic"},
                            color={"mode": "fixed", "fixedColor": "red"})],
        sort_by=wards, descending=True,
        description="Per readiness check, how many selected wards fail it now.",
    ), 12, 10)
    not_ready, total = "Chưa sẵn sàng / Not ready", "Tổng số / Wards"
    layout.add(table(
        "Theo cụm kỹ thuật / By cluster",
        [Query(f"sum by (cluster) ((1 - {READY})"
               f" * on(ward) group_left(cluster) group by (ward, cluster) ({SELECTED_WARDS}))"),
         Query(f"count by (cluster) (group by (ward, cluster) ({SELECTED_WARDS}))")],
        rename={"cluster": "Cụm / Cluster", "Value #A": not_ready, "Value #B": total},
        overrides=[override(not_ready, custom__cellOptions={"type": "gauge", "mode": "basic"},
                            color={"mode": "fixed", "fixedColor": ORANGE})],
        sort_by=not_ready, descending=True,
        description="Per technician cluster, wards not ready (silent ones included).",
    ), 12, 10)

    return dashboard(
        UID, "sansang · Thành phố / City readiness",
        "Which ward centres are ready to serve citizens, which are not, and how the city "
        "trends toward go-live.",
        layout, [PROVINCE, CLUSTER],
        annotations=[alert_annotation('cluster=~"$cluster"')],
    )
