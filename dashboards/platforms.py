"""The platform matrix: every selected ward against the four shared city platforms, with
each platform's reach, response time and certificate across wards.

When most wards fail the same platform the platform is at fault; when one ward fails them
all, its link or DNS is: the matrix shows which at a glance.
"""

from __future__ import annotations

from collections.abc import Mapping

from grafanalib.core import Dashboard

from dashboards.common import (
    CLUSTER,
    GREEN,
    ORANGE,
    PROVINCE,
    RED,
    SELECTED_WARDS,
    UP,
    Layout,
    Query,
    Settings,
    coloured_cells,
    dashboard,
    named_platforms,
    override,
    selected,
    stat,
    step,
    table,
    timeseries,
)
from inventory.criteria import DAY_SECONDS
from inventory.model import PLATFORM_IDS

UID = "sansang-platforms"

PLATFORM_UP = "max by (ward, platform) (sansang_platform_up)"
MATRIX = (f'label_join({PLATFORM_UP} * on(ward) group_left(name) group by (ward, name)'
          f' ({SELECTED_WARDS}), "ward_title", " · ", "ward", "name")')


def build(settings: Settings, platform_names: Mapping[str, str] | None = None) -> Dashboard:
    names = {p: (platform_names or {}).get(p) or p for p in PLATFORM_IDS}
    layout = Layout()
    layout.add(stat(
        "Tỷ lệ phường truy cập được / Wards reaching each platform",
        [Query(named_platforms(f"avg by (platform) ({selected(PLATFORM_UP)})"), "{{name}}")],
        unit="percentunit", decimals=1, text_mode="value_and_name", color_mode="background",
        steps=[step(RED), step(ORANGE, 0.9), step(GREEN, 1.0)],
    ), 12, 5)
    layout.add(stat(
        "Số phường không truy cập được / Wards failing each platform",
        [Query(named_platforms(f"sum by (platform) ({selected(f'1 - {PLATFORM_UP}')})"),
               "{{name}}")],
        text_mode="value_and_name", steps=[step(GREEN), step(RED, 1.0)],
    ), 12, 5)

    ward = "Phường / Ward"
    layout.add(table(
        "Ma trận / Wards × platforms",
        [Query(MATRIX)],
        rename={"ward_title\\platform": ward, **{p: names[p] for p in PLATFORM_IDS}},
        extra_transformations=[{"id": "groupingToMatrix", "options": {
            "columnField": "platform", "rowField": "ward_title", "valueField": "Value",
            "emptyValue": "null"}}],
        overrides=[override(names[p], **coloured_cells(UP)) for p in PLATFORM_IDS],
        sort_by=ward,
        description="Green: the platform answered the ward's agent with success; red: it "
                    "did not; empty: not measured yet.",
    ), 24, 16)

    layout.add(timeseries(
        "Thời gian phản hồi (p90) / Response time across wards (p90)",
        [Query(named_platforms("quantile by (platform) "
                               f"(0.9, {selected('sansang_platform_response_seconds')})"),
               "{{name}}")],
        unit="s", steps=settings.steps("platforms", "slow"),
    ), 8, 8)
    layout.add(timeseries(
        "Phường lỗi theo thời gian / Wards failing over time",
        [Query(named_platforms(f"sum by (platform) ({selected(f'1 - {PLATFORM_UP}')})"),
               "{{name}}")],
        minimum=0,
    ), 8, 8)
    layout.add(stat(
        "Chứng chỉ TLS còn (ít nhất) / TLS days left (least)",
        [Query(named_platforms(
            "(min by (platform) "
            f"({selected('sansang_platform_tls_expiry_timestamp_seconds')}) - time()) / 86400"),
               "{{name}}")],
        unit="d", decimals=0, text_mode="value_and_name",
        steps=settings.steps("platforms", "tls_expiry", unit=DAY_SECONDS),
    ), 8, 8)

    return dashboard(
        UID, "sansang · Hệ thống dùng chung / Platform matrix",
        "Every ward against the four shared city platforms.",
        layout, [PROVINCE, CLUSTER],
    )
