"""What every dashboard shares: the datasource, the ward filter, panel builders, threshold
lines taken from the criteria table, and the clean-up of grafanalib's JSON.

``render`` promises JSON that Grafana 10/11 loads as is: the datasource as an object with
uid ``sansang-prometheus`` on the dashboard's panels, targets and variables, a modern
``schemaVersion``, numeric threshold steps (only the base step is null), stable panel ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import attr
from grafanalib._gen import DashboardEncoder
from grafanalib.core import (
    Annotations,
    Dashboard,
    GridPos,
    RowPanel,
    Stat,
    Table,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

from alerts.rules import DEFAULT_PUBLIC_URL
from inventory.criteria import (
    CHECKS,
    CHECKS_BY_NAME,
    DEFAULT_REPORT_INTERVAL_SECONDS,
    LIMIT_METRIC,
    Condition,
    limit_value,
)
from inventory.model import Thresholds

DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "sansang-prometheus"}
SCHEMA_VERSION = 39
TAG = "sansang"
# One clock for the NOC and the technicians, whatever their browsers say.
TIMEZONE = "Asia/Ho_Chi_Minh"
GRID_COLUMNS = 24

GREEN, RED, ORANGE, PURPLE, BLUE = "green", "red", "orange", "purple", "blue"

# The wards the province and cluster variables select; ``group by`` keeps one series per
# ward even when several collectors or Prometheus jobs export the same inventory.
SELECTED_WARDS = 'sansang_ward_info{province=~"$province",cluster=~"$cluster"}'
WARD_LABELS = ("name", "kind", "province", "cluster")


@dataclass(frozen=True)
class Settings:
    """The city's thresholds and the agents' report interval, as the criteria table reads them."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    report_interval_seconds: float = DEFAULT_REPORT_INTERVAL_SECONDS
    # The collector's public address, for links to ward pages (the alerts' default too).
    public_url: str = DEFAULT_PUBLIC_URL

    def limit(self, check: str, condition: str) -> float:
        """The condition's limit in base units, exactly as the verdicts and alerts use it."""
        return limit_value(_condition(check, condition), self.thresholds,
                           self.report_interval_seconds)

    def steps(self, check: str, condition: str, unit: float = 1.0) -> list[dict[str, Any]]:
        """Threshold steps colouring the failing side red, at the limit shown in ``unit``s
        (e.g. ``DAY_SECONDS`` for a panel in days)."""
        limit = self.limit(check, condition) / unit
        passes_when = _condition(check, condition).passes_when
        if passes_when == "<=":
            return [step(GREEN), step(RED, limit)]
        if passes_when == ">=":
            return [step(RED), step(GREEN, limit)]
        raise ValueError(f"{check}/{condition}: no threshold line for {passes_when!r}")


def _condition(check: str, condition: str) -> Condition:
    for candidate in CHECKS_BY_NAME[check].conditions:
        if candidate.name == condition:
            return candidate
    raise KeyError(f"the criteria table has no condition {check}/{condition}")


def limit_query(check: str, condition: str, ward_matcher: str, scale: str = "",
                legend: str = "giới hạn / limit") -> Query:
    """The ward's own limit of a condition, from the collector's ``sansang_ward_limit``:
    the line moves with a per-ward override, as the alert rule does."""
    _condition(check, condition)
    return Query(f'{scale}max({LIMIT_METRIC}{{{ward_matcher},check="{check}",'
                 f'condition="{condition}"}})', legend)


def step(color: str, value: float | None = None) -> dict[str, Any]:
    return {"color": color, "value": value}


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


def selected(expr: str) -> str:
    """``expr`` restricted to the selected wards."""
    return f"({expr}) and on(ward) {SELECTED_WARDS}"


def with_ward_labels(expr: str, labels: Sequence[str] = WARD_LABELS,
                     wards: str = SELECTED_WARDS) -> str:
    """``expr`` (a series per ward and item) with the ward's name and area; selected wards only."""
    names = ", ".join(labels)
    return f"({expr}) * on(ward) group_left({names}) group by (ward, {names}) ({wards})"


# --- template variables


def variable(name: str, label: str, query: str, *, multi: bool = True,
             regex: str | None = None) -> Template:
    return Template(
        name=name, label=label, query=query, dataSource=DATASOURCE, regex=regex,
        includeAll=multi, multi=multi, allValue=".*" if multi else None,
        # 2: refresh on time range change, so a ward that appeared today is listed.
        refresh=2, sort=1,
    )


PROVINCE = variable("province", "Tỉnh cũ / Former province",
                    "label_values(sansang_ward_info, province)")
CLUSTER = variable("cluster", "Cụm kỹ thuật / Cluster",
                   'label_values(sansang_ward_info{province=~"$province"}, cluster)')


# --- names for people


def named_platforms(expr: str) -> str:
    """``expr`` (by platform) with each platform's name (sansang_platform_info), for the
    legend ``{{name}}``: people read "Hệ thống giải quyết TTHC", not "procedures"."""
    return f"({expr}) * on(platform) group_left(name) sansang_platform_info"


def named_links(expr: str) -> str:
    """``expr`` (by ward and link) with the link's name, "chính (VNPT)"."""
    return f"({expr}) * on(ward, link) group_left(name) sansang_link_info"


# --- value mappings


def value_mapping(options: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """Raw value -> (text, colour)."""
    return {"type": "value", "options": {
        value: {"text": text, "color": color, "index": index}
        for index, (value, (text, color)) in enumerate(options.items())
    }}


VERDICT = value_mapping({
    "1": ("Sẵn sàng / Ready", GREEN),
    "0": ("Chưa sẵn sàng / Not ready", RED),
    "-1": ("Mất liên lạc / Silent", PURPLE),
})
CHECK_OK = value_mapping({"1": ("Đạt / OK", GREEN), "0": ("Không đạt / Failing", RED)})
# A check's state (sansang_ward_check_state) as a number a stat panel can colour: an old
# or unmeasured check never shows as a pass.
STATE_CODES = {"pass": 1, "fail": 0, "stale": 2, "not_configured": 3, "no_data": 4}
CHECK_STATE = value_mapping({
    "1": ("Đạt / Pass", GREEN),
    "0": ("Chưa đạt / Fail", RED),
    "2": ("Số liệu cũ / Stale", ORANGE),
    "3": ("Chưa khai báo / Not configured", BLUE),
    "4": ("Chưa có số liệu / No data yet", PURPLE),
})


def check_state_query(matchers: str) -> str:
    """Each check's state as its STATE_CODES number."""
    return " or ".join(
        f'max by (check) (sansang_ward_check_state{{{matchers},state="{state}"}}) * {code}'
        for state, code in STATE_CODES.items())
UP = value_mapping({"1": ("Hoạt động / Up", GREEN), "0": ("Không hoạt động / Down", RED)})
# Check names as the NOC reads them, from the criteria table.
CHECK_TITLES = {"type": "value", "options": {
    check.name: {"text": f"{check.title_vi} / {check.title_en}", "index": index}
    for index, check in enumerate(CHECKS)
}}


# --- panels


def targets(queries: Sequence[Query], *, instant: bool = False,
            table: bool = False) -> list[Target]:
    return [
        Target(expr=q.expr, legendFormat=q.legend, refId=chr(ord("A") + index),
               instant=instant, format="table" if table else "time_series",
               datasource=DATASOURCE)
        for index, q in enumerate(queries)
    ]


def timeseries(title: str, queries: Sequence[Query], *, unit: str = "",
               steps: list[dict[str, Any]] | None = None, description: str = "",
               overrides: Sequence[dict[str, Any]] = (), minimum: int | None = None,
               maximum: int | None = None, fill: int = 0, stacked: bool = False) -> TimeSeries:
    """A graph; ``steps`` draw dashed threshold lines (the criteria's limits)."""
    return TimeSeries(
        title=title, description=description, dataSource=DATASOURCE,
        targets=targets(queries), unit=unit, fillOpacity=fill,
        thresholds=steps or [step(GREEN)], thresholdsStyleMode="dashed" if steps else "off",
        overrides=list(overrides), valueMin=minimum, valueMax=maximum,
        legendDisplayMode="table", legendPlacement="right", legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi", maxDataPoints=None,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none"},
    )


def stat(title: str, queries: Sequence[Query], *, unit: str = "none",
         steps: list[dict[str, Any]] | None = None,
         mappings: Sequence[dict[str, Any]] = (), text_mode: str = "auto",
         color_mode: str = "value", graph: bool = False, description: str = "",
         decimals: int | None = None, no_value: str | None = None,
         links: Sequence[dict[str, Any]] = ()) -> Stat:
    """The latest value of each series, one tile each; ``links`` open from each tile."""
    return Stat(
        title=title, description=description, dataSource=DATASOURCE,
        targets=targets(queries, instant=not graph), format=unit,
        thresholds=steps or [step(BLUE)], mappings=list(mappings), textMode=text_mode,
        colorMode=color_mode, graphMode="area" if graph else "none", reduceCalc="lastNotNull",
        noValue=no_value, decimals=decimals, maxDataPoints=None,
        extraJson={"fieldConfig": {"defaults": {"links": list(links)}}} if links else None,
    )


def table(title: str, queries: Sequence[Query], *, rename: Mapping[str, str],
          overrides: Sequence[dict[str, Any]] = (), sort_by: str | None = None,
          descending: bool = False, extra_transformations: Sequence[dict[str, Any]] = (),
          description: str = "", unit: str = "",
          max_data_points: int | None = None, interval: str | None = None) -> Table:
    """Instant queries as rows (label columns), merged on their labels.

    Only the columns in ``rename`` are shown, in that order, under their new names; the
    value columns are ``Value`` (one query) or ``Value #A``, ``Value #B``... (several).
    """
    exclude = {"Time": True, "__name__": True, "instance": True, "job": True,
               "simulated": True}
    organize = {"id": "organize", "options": {
        "excludeByName": exclude,
        "includeByName": {name: True for name in rename},
        "indexByName": {name: index for index, name in enumerate(rename)},
        "renameByName": dict(rename),
    }}
    transformations: list[dict[str, Any]] = []
    if len(queries) > 1:
        transformations.append({"id": "merge", "options": {}})
    transformations += [*extra_transformations, organize]
    options: dict[str, Any] = {"showHeader": True, "cellHeight": "sm"}
    if sort_by is not None:
        options["sortBy"] = [{"displayName": sort_by, "desc": descending}]
    return Table(
        title=title, description=description, dataSource=DATASOURCE,
        targets=targets(queries, instant=True, table=True), unit=unit,
        filterable=True, overrides=list(overrides), transformations=transformations,
        thresholds=[step(GREEN)], maxDataPoints=max_data_points, interval=interval,
        extraJson={"options": options},
    )


def override(field_name: str, **properties: Any) -> dict[str, Any]:
    """Field properties by display name; keys use ``__`` for dots (``custom__width``)."""
    return {
        "matcher": {"id": "byName", "options": field_name},
        "properties": [{"id": key.replace("__", "."), "value": value}
                       for key, value in properties.items()],
    }


def coloured_cells(mapping: dict[str, Any]) -> dict[str, Any]:
    """Properties that colour a table cell's background by a value mapping."""
    return {"mappings": [mapping], "custom__cellOptions": {"type": "color-background"}}


def ward_detail_link(ward: str) -> dict[str, Any]:
    """A data link to the ward's detail dashboard; ``ward`` is a Grafana interpolation."""
    return {"title": "Chi tiết phường / Ward detail",
            "url": f"/d/sansang-ward/sansang-ward?${{__url_time_range}}&var-ward={ward}"}


def ward_page_link(settings: Settings, ward: str) -> dict[str, Any]:
    """A link to the ward's page on the collector; ``ward`` is a Grafana interpolation."""
    return {"title": "Trang của phường / Ward page", "targetBlank": True,
            "url": f"{settings.public_url.rstrip('/')}/ward/{ward}"}


def ward_link(field_name: str, settings: Settings) -> dict[str, Any]:
    """A table column whose cells (ward codes) open the ward's detail dashboard, or its
    page on the collector."""
    return override(field_name, links=[ward_detail_link("${__value.raw}"),
                                       ward_page_link(settings, "${__value.raw}")])


def alert_annotation(matchers: str = "") -> dict[str, Any]:
    """Grafana annotations where alerts fired (Prometheus's ``ALERTS`` series)."""
    selector = ",".join(m for m in ('alertstate="firing"', matchers) if m)
    return {
        "name": "Cảnh báo / Alerts", "datasource": dict(DATASOURCE), "enable": True,
        "iconColor": "red", "expr": f"ALERTS{{{selector}}}", "step": "1m",
        "titleFormat": "{{alertname}} ({{severity}})",
        "textFormat": "{{ward}} {{check}}/{{condition}}",
        "tagKeys": "ward,check,severity", "useValueForTime": False,
    }


class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping as needed."""

    def __init__(self) -> None:
        self.panels: list[Any] = []
        self._x = self._y = self._row_height = 0

    def add(self, panel: Any, width: int, height: int) -> None:
        if self._x + width > GRID_COLUMNS:
            self._wrap()
        self.panels.append(attr.evolve(panel, gridPos=GridPos(h=height, w=width, x=self._x,
                                                              y=self._y)))
        self._x += width
        self._row_height = max(self._row_height, height)

    def row(self, title: str) -> None:
        self._wrap()
        self.panels.append(RowPanel(title=title, dataSource=DATASOURCE,
                                    gridPos=GridPos(h=1, w=GRID_COLUMNS, x=0, y=self._y)))
        self._y += 1

    def _wrap(self) -> None:
        if self._x:
            self._y += self._row_height
        self._x = self._row_height = 0


def dashboard(uid: str, title: str, description: str, layout: Layout,
              variables: Sequence[Template], time_from: str = "now-24h",
              annotations: Sequence[dict[str, Any]] = (),
              links: Sequence[dict[str, Any]] = ()) -> Dashboard:
    return Dashboard(
        uid=uid, title=title, description=description, tags=[TAG],
        panels=layout.panels, templating=Templating(list=list(variables)),
        time=Time(time_from, "now"), refresh="1m", timezone=TIMEZONE,
        graphTooltip=1, annotations=Annotations(list=list(annotations)),
        # Every sansang dashboard links to the others.
        links=[{"type": "dashboards", "tags": [TAG], "asDropdown": False, "keepTime": True,
                "includeVars": False, "title": "sansang", "icon": "external link"},
               *links],
    )


# --- from grafanalib's output to the JSON Grafana loads

_DASHBOARD_LEGACY = ("__inputs", "gnetId", "hideControls", "id", "rows", "sharedCrosshair",
                     "style")
_PANEL_LEGACY = ("cacheTimeout", "columns", "editable", "error", "fontSize", "height",
                 "hideTimeOverride", "maxPerRow", "minSpan", "repeatDirection", "span",
                 "transparent")


def render(board: Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana JSON, with grafanalib 0.7.1's quirks fixed."""
    data = json.loads(json.dumps(board.auto_panel_ids().to_json_data(), cls=DashboardEncoder))
    for key in _DASHBOARD_LEGACY:
        data.pop(key, None)
    data["schemaVersion"] = SCHEMA_VERSION
    for panel in iter_panels(data):
        _fix_panel(panel)
    for var in data["templating"]["list"]:
        var["datasource"] = dict(DATASOURCE)
        var["definition"] = var["query"]
        var["current"] = ({"selected": True, "text": ["All"], "value": ["$__all"]}
                          if var.get("includeAll") else {})
        for key in ("auto", "auto_count", "auto_min", "tagValuesQuery", "tags", "tagsQuery",
                    "useTags"):
            var.pop(key, None)
    data = _prune(data)
    _fix_steps(data)
    return data


def iter_panels(data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard's JSON, rows and the panels inside collapsed rows too."""
    for panel in data.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _fix_panel(panel: dict[str, Any]) -> None:
    if panel.get("type") == "row":
        # grafanalib gives rows a graph panel's fields; a row is only a header.
        for key in list(panel):
            if key not in ("collapsed", "gridPos", "id", "panels", "title", "type"):
                del panel[key]
        panel["datasource"] = dict(DATASOURCE)
        return
    for key in _PANEL_LEGACY:
        panel.pop(key, None)
    if panel.get("type") == "table":
        # grafanalib puts these at the panel's top level, where Grafana 8+ ignores them.
        panel.pop("mappings", None)
        panel.pop("color", None)
    if not panel.get("repeat"):
        panel.pop("repeat", None)
    panel["datasource"] = dict(DATASOURCE)
    panel["targets"] = [_target(t) for t in panel.get("targets", [])]


def _target(raw: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        "datasource": dict(DATASOURCE), "editorMode": "code", "expr": raw["expr"],
        "format": raw["format"], "instant": raw["instant"], "legendFormat": raw["legendFormat"],
        "range": not raw["instant"], "refId": raw["refId"],
    }
    if raw.get("interval"):
        out["interval"] = raw["interval"]
    return out


def _prune(node: Any) -> Any:
    """Drop null-valued keys; the base threshold step gets its null back in ``_fix_steps``."""
    if isinstance(node, dict):
        return {k: _prune(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_prune(v) for v in node]
    return node


def _fix_steps(node: Any) -> None:
    """Threshold steps as Grafana wants them: ``{"color", "value"}``, null only at the base.

    grafanalib's ``Threshold`` writes the base value as the string ``"null"`` and adds
    graph-era keys; a step value that is still a string afterwards is a bug here.
    """
    if isinstance(node, dict):
        steps = node.get("steps")
        if isinstance(steps, list) and "mode" in node:
            node["steps"] = [
                {"color": s["color"], "value": None if index == 0 else float(s["value"])}
                for index, s in enumerate(steps)
            ]
        for value in node.values():
            _fix_steps(value)
    elif isinstance(node, list):
        for value in node:
            _fix_steps(value)


def to_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
