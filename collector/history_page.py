"""A ward's history as the ward page draws it: server-rendered SVG charts, words and numbers.

SVG made on the server, not a charting library in the browser: the pages' policy allows
only scripts from /static/ and the ward page works without any; a ward clerk on an old
phone gets a picture that needs no JavaScript, prints, and is covered by the same
server-side tests as the numbers behind it. The charts are SmokePing's: per bucket, a
grey band from the lowest to the highest RTT, the median as a short line coloured by the
share of pings lost, and a strip of that colour along the bottom.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
import zoneinfo
from pathlib import Path
from typing import Any

from aiohttp import web

from collector.history import (
    BandwidthPoint,
    LatencyPoint,
    WardHistory,
    read_ward_history,
)
from collector.i18n import Language, translate
from collector.state import VERDICT, FleetState
from collector.views import human_duration
from inventory import humane
from inventory.model import Thresholds, Ward
from inventory.naming import link_name

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 80, 10, 10, 40
LOSS_STRIP = 6
CHANGES_FIRST = 10


# --- numbers in the reader's language: the people's formatter (inventory.humane)


def milliseconds(seconds: float, language: Language) -> str:
    """A round trip: "12,5 ms" in Vietnamese, "12.5 ms" in English."""
    return humane.short_time(seconds, language)


def percent(ratio: float, language: Language) -> str:
    return humane.percent(ratio, language)


def megabits(bytes_per_second: float, language: Language) -> str:
    """A rate as people quote it, in bits: "46,12 Mbit/s"."""
    return humane.bitrate(bytes_per_second * 8, language)


# The highest top a chart's axis takes: an agent may report any finite figure (a broken
# or hostile one, 1e308 s), and an axis must stay a finite number to be drawn at all.
HIGHEST_AXIS = 1e300


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value`` (at most
    ``HIGHEST_AXIS``)."""
    if not value > 0:  # also NaN
        return 1.0
    if value >= HIGHEST_AXIS:
        return HIGHEST_AXIS
    power = 10 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power


def loss_classes(thresholds: Thresholds) -> list[tuple[float, str]]:
    """SmokePing's loss colours, cut at the ward's own limits: none, within the loss
    limit, up to the heavy-loss limit, beyond it, and every ping lost (a cut line)."""
    return [(0.0, "loss-none"), (thresholds.loss_ratio, "loss-low"),
            (thresholds.heavy_loss_ratio, "loss-some"), (0.999999, "loss-heavy"),
            (1.0, "loss-all")]


def loss_class(loss: float | None, thresholds: Thresholds) -> str:
    if loss is None:
        return "loss-unknown"
    for limit, name in loss_classes(thresholds):
        if loss <= limit:
            return name
    return "loss-all"


def loss_legend(thresholds: Thresholds, language: Language) -> list[dict[str, str]]:
    return [{"css": "loss-none", "label": "0 %"},
            {"css": "loss-low", "label": f"≤ {percent(thresholds.loss_ratio, language)}"},
            {"css": "loss-some",
             "label": f"≤ {percent(thresholds.heavy_loss_ratio, language)}"},
            {"css": "loss-heavy",
             "label": f"> {percent(thresholds.heavy_loss_ratio, language)}"},
            {"css": "loss-all", "label": "100 %"}]


# --- geometry


class _Frame:
    """Maps (time, value) into the plot area of a WIDTH × HEIGHT box."""

    def __init__(self, start: float, end: float, top: float):
        self.start, self.end, self.top = start, end, top
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = HEIGHT - BOTTOM, TOP  # y0: the value 0

    def x(self, at: float) -> float:
        share = (at - self.start) / (self.end - self.start)
        return round(self.x0 + (self.x1 - self.x0) * min(1.0, max(0.0, share)), 1)

    def y(self, value: float) -> float:
        share = min(1.0, max(0.0, value / self.top))
        return round(self.y0 - (self.y0 - self.y1) * share, 1)

    def base(self) -> dict[str, float]:
        return {"x0": self.x0, "x1": self.x1, "y0": self.y0, "y1": self.y1,
                "width": WIDTH, "height": HEIGHT, "strip_y": self.y0 + 2,
                "strip_h": LOSS_STRIP, "label_y": HEIGHT - 6}

    def y_ticks(self, label: Any) -> list[dict[str, Any]]:
        return [{"y": self.y(self.top * share), "label": label(self.top * share)}
                for share in (0.0, 0.25, 0.5, 0.75, 1.0)]


def _time_ticks(frame: _Frame, zone: zoneinfo.ZoneInfo, every_hours: int,
                label: str) -> list[dict[str, Any]]:
    """Ticks on whole city hours (``every_hours`` apart, from midnight), labelled with
    ``label`` (strftime) in the city's zone."""
    first = dt.datetime.fromtimestamp(frame.start, zone).replace(minute=0, second=0,
                                                                 microsecond=0)
    ticks = []
    moment = first
    while moment.timestamp() <= frame.end:
        at = moment.timestamp()
        x = frame.x(at)
        # A label centred on a tick at either edge would be cut in half: none there.
        if frame.x0 + 20 <= x <= frame.x1 - 24 and moment.hour % every_hours == 0:
            ticks.append({"x": x, "label": moment.strftime(label)})
        moment = (moment.astimezone(dt.UTC) + dt.timedelta(hours=1)).astimezone(zone)
    return ticks


def latency_chart(target: str, points: list[LatencyPoint], start: float, end: float,
                  width: float, window: str, zone: zoneinfo.ZoneInfo,
                  thresholds: Thresholds, language: Language) -> dict[str, Any]:
    medians = [p.median for p in points if p.median is not None]
    highs = [p.high for p in points if p.high is not None]
    median_top = max(medians, default=0.0)
    # The smoke may reach far above the median: clip it rather than flatten the median.
    top = nice_ceiling(max(median_top * 1.25, min(max(highs, default=0.0), median_top * 3),
                           0.001))
    frame = _Frame(start, end, top)
    bands, lines, strip, lost = [], [], [], []
    for point in points:
        x = frame.x(point.start)
        w = max(0.5, round(frame.x(point.start + width) - x, 1))
        css = loss_class(point.loss, thresholds)
        strip.append({"x": x, "w": w, "css": css})
        if point.low is not None and point.high is not None:
            y_high, y_low = frame.y(point.high), frame.y(point.low)
            bands.append({"x": x, "y": y_high, "w": w, "h": max(0.5, round(y_low - y_high, 1))})
        if point.median is not None:
            y = frame.y(point.median)
            lines.append({"x1": x, "x2": round(x + w, 1), "y": y, "css": css})
        else:
            lost.append({"x": x, "w": w, "y": frame.y1, "h": frame.y0 - frame.y1})
    limit = thresholds.latency_avg_seconds
    total = sum(p.reports for p in points)
    sent_loss = [p.loss for p in points if p.loss is not None]
    summary = translate(
        "history.latency_summary", language,
        median=milliseconds(_median(medians), language) if medians else "—",
        loss=percent(sum(sent_loss) / len(sent_loss), language) if sent_loss else "—",
        n=humane.number(total, language)) if points else translate(
        f"history.latency_none_{window}", language)
    hours, label = (3, "%H:%M") if window == "day" else (24, "%d/%m")
    return {
        "target": target, **frame.base(), "bands": bands, "lines": lines, "strip": strip,
        "lost": lost, "points": len(points), "reports": total, "summary": summary,
        "y_ticks": frame.y_ticks(lambda v: milliseconds(v, language)),
        "x_ticks": _time_ticks(frame, zone, hours, label),
        "limit": ({"y": frame.y(limit), "label": milliseconds(limit, language)}
                  if limit <= top else None),
    }


def bandwidth_chart(link: str, points: list[BandwidthPoint], start: float, end: float,
                    width: float, ward: Ward, zone: zoneinfo.ZoneInfo,
                    language: Language) -> dict[str, Any]:
    contract = next((lk for lk in ward.links if lk.id == link), None)
    values = [v for p in points for v in (p.download, p.upload) if v is not None]
    if contract is not None:
        values += [contract.download_bytes_per_second, contract.upload_bytes_per_second]
    frame = _Frame(start, end, nice_ceiling(max(values, default=1.0) * 1.1))
    series = {}
    for direction in ("download", "upload"):
        dots = [{"x": frame.x(p.start + width / 2), "y": frame.y(value)}
                for p in points if (value := getattr(p, direction)) is not None]
        series[direction] = {"dots": dots,
                             "line": " ".join(f"{d['x']},{d['y']}" for d in dots)}
    contracts = []
    if contract is not None:
        for direction, rate in (("download", contract.download_bytes_per_second),
                                ("upload", contract.upload_bytes_per_second)):
            contracts.append({"direction": direction, "y": frame.y(rate),
                              "label": translate(f"history.contract_{direction}", language,
                                                 rate=megabits(rate, language))})
    downloads = [p.download for p in points if p.download is not None]
    summary = (translate("history.bandwidth_summary", language,
                         rate=megabits(sum(downloads) / len(downloads), language),
                         n=humane.number(sum(p.reports for p in points), language))
               if downloads else translate("history.bandwidth_none", language))
    return {"link": link,
            # Named as people name it: "chính (VNPT)" (inventory.naming).
            "name": link_name(contract, language) if contract else link, **frame.base(),
            "series": series, "contracts": contracts, "summary": summary,
            "points": len(points), "reports": sum(p.reports for p in points),
            "y_ticks": frame.y_ticks(lambda v: megabits(v, language)),
            "x_ticks": _time_ticks(frame, zone, 24, "%d/%m")}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# --- words


def _when(at: float, zone: zoneinfo.ZoneInfo) -> str:
    return humane.timestamp(at, zone)


def _state_words(subject: str, state: str | None, language: Language) -> str:
    if state is None:
        return "—"
    if subject == VERDICT:
        return translate(f"history.verdict_{state}", language)
    return translate(f"state.{state}", language)


def history_view(history: WardHistory, ward: Ward, thresholds: Thresholds,
                 zone: zoneinfo.ZoneInfo, language: Language) -> dict[str, Any]:
    """What ward_history.html draws; ``empty`` when there is nothing at all to show."""
    now = history.now
    latency: list[dict[str, Any]] = []
    for window, (start, width, series) in history.latency.items():
        latency.append({
            "window": window, "title": translate(f"history.latency_{window}", language),
            "charts": [latency_chart(target, points, start, now, width, window, zone,
                                     thresholds, language)
                       for target, points in sorted(series.items())],
            "none": translate(f"history.latency_none_{window}", language),
        })
    start, width, links = history.bandwidth
    shown_links = sorted(set(links) | {link.id for link in ward.links})
    bandwidth = [bandwidth_chart(link, links.get(link, []), start, now, width, ward, zone,
                                 language) for link in shown_links]
    ready_since = None
    if history.verdict is not None:
        key = ("history.ready_since" if history.verdict.after == "ready"
               else "history.not_ready_since")
        ready_since = {"state": history.verdict.after, "text": translate(
            key, language, time=_when(history.verdict.at, zone),
            ago=human_duration(now - history.verdict.at, language))}
    availability = []
    for figure in history.availability:
        ratio = figure.ratio
        window_seconds = now - figure.start
        availability.append({
            "days": figure.days,
            "label": translate("history.availability_days", language, days=figure.days),
            "value": percent(ratio, language) if ratio is not None else "—",
            "note": (translate("history.availability_known", language,
                               d=human_duration(figure.known_seconds, language))
                     if ratio is not None and figure.known_seconds < window_seconds - 60
                     else None),
        })
    changes = [{
        "when": _when(change.at, zone),
        "subject": change.subject,
        "what": translate("history.verdict" if change.subject == VERDICT
                          else f"check.{change.subject}", language),
        "before": _state_words(change.subject, change.before, language),
        "after": _state_words(change.subject, change.after, language),
        "after_state": change.after,
    } for change in history.changes]
    return {"empty": history.empty, "latency": latency, "bandwidth": bandwidth,
            "ready_since": ready_since, "availability": availability, "changes": changes,
            # The latency limit's line is named once, under the charts that draw it.
            "limit": next((chart["limit"]["label"] for window in latency
                           for chart in window["charts"] if chart["limit"]), None),
            "loss_legend": loss_legend(thresholds, language),
            # The newest few changes shown, the older ones a click away (a phone's scroll).
            "changes_first": CHANGES_FIRST, "zone": zone.key}


DATABASE_KEY = web.AppKey("history_database", Path)


def add_ward_history(app: web.Application, database_path: Path) -> None:
    app[DATABASE_KEY] = database_path


async def ward_history(app: web.Application, state: FleetState, code: str,
                       language: Language) -> dict[str, Any]:
    """The ward page's history section, read in a worker thread (the store's reads are
    bounded, but still disk)."""
    now = time.time()
    pending = [row for row in state.pending_changes if row[0] == code]
    history = await asyncio.to_thread(read_ward_history, app[DATABASE_KEY], code, now,
                                      state.zone, pending)
    return history_view(history, state.inventory.wards[code], state.inventory.thresholds_for(code),
                        state.zone, language)
