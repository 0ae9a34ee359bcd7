"""The people's pages: the NOC board, a ward's checklist, the dispatch list, and the JSON API.

A ward's shareable link carries a signature over its code, so it opens that ward's page
and nothing else, even when the NOC login is required.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import functools
import hashlib
import hmac
import io
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from collector.casework import ACKNOWLEDGE_HOURS, AUTHOR_COOKIE, CASEWORK, case_view
from collector.cells import safe_row
from collector.history_page import ward_history
from collector.i18n import MESSAGES, Language, translate
from collector.rendering import STATIC, gzipped, language_of, render
from collector.security import NOC_USER
from collector.state import FleetState
from collector.views import (
    counts,
    dispatch_rows,
    figures_text,
    golive_line,
    human_duration,
    readiness_history,
    ward_list,
    ward_summary,
)
from inventory import criteria, humane
from inventory.naming import display_labels


class ShareLinks:
    """Signed per-ward links: HMAC-SHA256 of the ward code under the collector's page secret."""

    def __init__(self, secret: bytes):
        self._secret = secret

    @classmethod
    def beside(cls, database_path: Path) -> ShareLinks:
        """Keep the secret next to the database, so links survive a restart."""
        path = database_path.with_name(database_path.name + ".page-secret")
        if not path.exists():
            path.touch(mode=0o600)
            path.write_bytes(secrets.token_bytes(32))
        return cls(path.read_bytes())

    def key(self, ward: str) -> str:
        digest = hmac.new(self._secret, f"ward:{ward}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    def valid(self, ward: str, key: str | None) -> bool:
        return bool(key) and hmac.compare_digest(self.key(ward), key or "")

    def subkey(self, purpose: str) -> bytes:
        """A secret of its own for another use (the forms' tokens), from the same file."""
        return hmac.new(self._secret, f"purpose:{purpose}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class ToolLinks:
    """Where the NOC's other tools answer, for links from the pages (None: no link)."""

    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    grafana_url: str | None = None

    def overall(self) -> dict[str, str]:
        """Every ward's alerts, for the board."""
        links = {}
        if self.alertmanager_url:
            links["alertmanager"] = self.alertmanager_url.rstrip("/") + "/#/alerts"
        if self.prometheus_url:
            links["prometheus"] = self.prometheus_url.rstrip("/") + "/alerts"
        if self.grafana_url:
            links["grafana"] = self.grafana_url.rstrip("/") + "/d/sansang-city/"
        return links

    def for_ward(self, code: str) -> dict[str, str]:
        links = {}
        if self.alertmanager_url:
            links["alertmanager"] = (self.alertmanager_url.rstrip("/") + "/#/alerts?filter="
                                     + quote(f'{{ward="{code}"}}'))
        if self.prometheus_url:
            links["prometheus"] = (self.prometheus_url.rstrip("/") + "/graph?g0.expr="
                                   + quote(f'ALERTS{{ward="{code}"}}') + "&g0.tab=1")
        if self.grafana_url:
            links["grafana"] = (self.grafana_url.rstrip("/")
                                + f"/d/sansang-ward/?var-ward={quote(code)}")
        return links


STATE_KEY = web.AppKey("pages_state", FleetState)
TOOLS_KEY = web.AppKey("tool_links", ToolLinks)
SHARE_KEY = web.AppKey("share_links", ShareLinks)
HistoryReader = Callable[[], list[tuple[str, str, bool]]]
HISTORY_KEY: web.AppKey[HistoryReader] = web.AppKey("history_reader")


async def board(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    language = language_of(request)
    wards = ward_list(state, language)
    now = time.time()
    casework = request.app[CASEWORK]
    titles = {check.name: translate(f"check.{check.name}", language) for check in criteria.CHECKS}
    failing_count: Counter[str] = Counter()
    for ward in wards:
        if ward["silent_for_seconds"] is not None:
            ward["silent_for"] = human_duration(ward["silent_for_seconds"], language)
        ward["case"] = case_view(casework, ward["code"], language)
        # What a tile carries, joined here: a national board has 3,321 tiles, and Jinja's
        # filters cost more per tile than the rest of the tile together.
        checks = [f["check"] for f in ward["failing"]]
        failing_count.update(checks)
        ward["failing_checks"] = " ".join(checks)
        ward["failing_titles"] = " · ".join(titles[c] for c in checks[:3]) + (
            f" +{len(checks) - 3}" if len(checks) > 3 else "")
        ward["former"] = "|".join(ward["former_units"])
    history = readiness_history(request.app[HISTORY_KEY](), set(state.wards))
    # Why wards are not ready, the most common reason first; a click filters to them.
    reasons = [{"check": check.name, "title": titles[check.name],
                "count": failing_count[check.name]}
               for check in sorted(criteria.CHECKS, key=lambda c: -failing_count[c.name])
               if failing_count[check.name]]
    # The wards to act on first: not ready, silent, no agent yet, then the ready ones.
    order = {"not_ready": 0, "silent": 1, "not_installed": 2, "ready": 3}
    wards.sort(key=lambda w: (order.get(w["status"], 9), w["code"]))
    try:
        refresh_seconds = min(300.0, max(2.0, float(request.query.get("refresh", "30"))))
    except ValueError:
        refresh_seconds = 30.0
    # The board carries no secret (no form, no signed link), so it may be compressed.
    return await gzipped(request, render(
        request, "board.html",
        wards=wards, counts=counts(wards), golive=golive_line(state, language, now),
        provinces=sorted({w["province"] for w in wards}),
        clusters=sorted({w["cluster"] for w in wards}),
        history=history_chart(history, len(wards)),
        # Every time in the city's own zone, on the server as in the browser.
        updated=dt.datetime.fromtimestamp(now, state.zone).strftime("%H:%M:%S"),
        zone=state.inventory.timezone, refresh_seconds=refresh_seconds,
        reasons=reasons,
        city=state.inventory.city,
        tools=request.app[TOOLS_KEY].overall(),
    ))


async def ward_page(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    code = request.match_info["code"]
    if code not in state.wards:
        return not_found(request, translate("notfound.ward", language_of(request),
                                            code=code[:40]), query=code[:40])
    language = language_of(request)
    state.refresh()
    summary = ward_summary(state, code, language)
    shared = request.app[SHARE_KEY].valid(code, request.query.get("key"))
    now = time.time()
    ward = state.wards[code]
    checks = []
    names = functools.partial(display_labels, state.inventory, code, language=language)
    problems = {f["check"]: f["problems"] for f in summary["failing"]}
    # The figure beside its limit on every line, passing ones too.
    readings = criteria.readings(
        state.samples(code), ward.thresholds, now,
        criteria.agent_silent_after_seconds(ward.thresholds, state.report_interval_seconds))
    for check in criteria.CHECKS:
        outcome = ward.outcomes.get(check.name)
        ok = None if outcome is None else outcome.ok
        shown = "no_data" if outcome is None else outcome.state
        since = ward.check_since.get(check.name)
        note = None
        if shown == "stale" and outcome is not None and outcome.newest_at is not None:
            note = translate("ward.stale_age", language,
                             d=human_duration(now - outcome.newest_at, language))
        elif shown == "not_configured":
            key = f"unconfigured.{check.name}"
            note = translate(key if key in MESSAGES else "unconfigured.other", language)
        checks.append({
            "name": check.name,
            "ok": ok,
            "state": shown,
            "note": note,
            "figures": (figures_text(readings.get(check.name, ()), check, language,
                                     passed=shown == "pass", names=names)
                        if shown in ("pass", "fail") else ""),
            # As the summary (and so the API and the dispatch list) words them.
            "problems": problems.get(check.name, []),
            "since": (translate("duration.ago", language, d=human_duration(now - since, language))
                      if since and ok is False and ward.last_report_at is not None else None),
            "hint": translate(f"hint.{check.name}", language),
        })
    # What to act on first: failing checks, then those without a verdict, then the rest.
    order = {"fail": 0, "stale": 1, "no_data": 2, "not_configured": 3, "pass": 4}
    checks.sort(key=lambda c: order.get(str(c["state"]), 9))
    last = (translate("duration.ago", language,
                      d=human_duration(now - ward.last_report_at, language))
            if ward.last_report_at else translate("ward.never", language))
    share_url = None
    if not shared:
        share_url = str(request.url.with_query({"key": request.app[SHARE_KEY].key(code),
                                                "lang": language}))
    casework = request.app[CASEWORK]
    user = request.get(NOC_USER, "")
    return render(request, "ward.html", ward=summary, checks=checks, last_report=last,
                  shared=shared, share_url=share_url, key=request.query.get("key", ""),
                  case=case_view(casework, code, language),
                  # A ward's own people see who comes, not the NOC's notes and tools.
                  tools={} if shared else request.app[TOOLS_KEY].for_ward(code),
                  form=None if shared else _form_context(request, user),
                  history=await ward_history(request.app, state, code, language))


async def dispatch(request: web.Request) -> web.Response:
    state, casework = request.app[STATE_KEY], request.app[CASEWORK]
    language = language_of(request)
    rows = dispatch_rows(ward_list(state, language))
    now = time.time()
    for row in rows:
        since = row["failing_since"]
        row["since_text"] = (translate("board.not_installed", language) if since is None else
                             translate("duration.ago", language,
                                       d=human_duration(now - since, language)))
        row["case"] = case_view(casework, row["code"], language)
    return render(request, "dispatch.html", rows=rows,
                  form=_form_context(request, request.get(NOC_USER, "")),
                  alertmanager_down=casework.alertmanager_reachable is False)


def not_found(request: web.Request, message: str, query: str = "") -> web.Response:
    """A 404 a person can act on: what was not found, in their language, and the search."""
    response = render(request, "not_found.html", message=message, query=query)
    response.set_status(404)
    return response


@web.middleware
async def pages_for_people(request: web.Request, handler: Any) -> web.StreamResponse:
    """``/ward/26968/`` is ``/ward/26968``; an unknown page gets the Vietnamese (or English)
    404 with the search, not a bare one. The API and the agents' endpoints keep their JSON."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        path = request.path
        if request.method not in ("GET", "HEAD") or path.startswith(MACHINE_PREFIXES):
            raise
        if path != "/" and path.endswith("/"):
            query = request.query_string
            raise web.HTTPPermanentRedirect(
                path.rstrip("/") + (f"?{query}" if query else "")) from None
        return not_found(request, translate("notfound.page", language_of(request)))


# Answered in JSON or plain text for programs, never with a page.
MACHINE_PREFIXES = ("/api/", "/metrics", "/healthz", "/speedtest/", "/static/")


def _form_context(request: web.Request, user: str) -> dict[str, Any]:
    """What the NOC's forms need: the anti-forgery token, and who is writing (the login,
    or the name given last time when the collector has no login)."""
    return {"csrf": request.app[CASEWORK].form_token(user), "user": user,
            "by": request.cookies.get(AUTHOR_COOKIE, "")[:80],
            "hours": ACKNOWLEDGE_HOURS}


# The columns, headed in the reader's language (dispatch.column.<key>).
DISPATCH_COLUMNS = ("ward", "name", "cluster", "severity", "failing_checks", "problems",
                    "failing_since", "address", "contact")


def dispatch_csv_text(rows: list[dict[str, Any]], language: Language = "vi",
                      zone: dt.tzinfo = dt.UTC) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([translate(f"dispatch.column.{key}", language) for key in DISPATCH_COLUMNS])
    for row in rows:
        since = row["failing_since"]
        contact = row["contact"] or {}
        writer.writerow(safe_row([
            row["code"], row["name"], row["cluster"],
            translate(f"severity.{row['worst']}", language),
            "; ".join(translate(f"check.{f['check']}", language) for f in row["failing"]),
            "; ".join(p for f in row["failing"] for p in f["problems"]),
            "" if since is None else humane.timestamp(since, zone),
            row["address"] or "",
            " ".join(v for v in (contact.get("name"), contact.get("phone")) if v),
        ]))
    return out.getvalue()


async def dispatch_csv(request: web.Request) -> web.Response:
    state, language = request.app[STATE_KEY], language_of(request)
    rows = dispatch_rows(ward_list(state, language))
    return web.Response(
        # The BOM: Excel reads the file as UTF-8.
        body=("\ufeff" + dispatch_csv_text(rows, language, state.zone)).encode("utf-8"),
        headers={"Content-Type": "text/csv; charset=utf-8",
                 "Content-Disposition": 'attachment; filename="sansang-dispatch.csv"'},
    )


async def wards_api(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    wards = ward_list(state, language_of(request))
    worklog, now = request.app[CASEWORK].worklog, time.time()
    for ward in wards:
        case = worklog.case(ward["code"])
        ward["case"] = None if case is None else case.as_json(now)
    return web.json_response({"wards": wards, "counts": counts(wards),
                              "timezone": state.inventory.timezone},
                             dumps=_json_dumps)


def _json_dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def history_chart(history: list[tuple[str, int]], total: int) -> dict[str, Any] | None:
    """An SVG polyline of ready wards per day, scaled to a 600×160 box."""
    if not history:
        return None
    width, height, pad = 600, 160, 24
    n = len(history)
    coordinates = []
    for index, (_, ready) in enumerate(history):
        x = pad + (width - 2 * pad) * (index / max(1, n - 1))
        y = height - pad - (height - 2 * pad) * (ready / max(1, total))
        coordinates.append((round(x, 1), round(y, 1)))
    points = " ".join(f"{x},{y}" for x, y in coordinates)
    # A single day is a dot, not an invisible one-point line.
    return {"points": points, "dots": coordinates, "width": width, "height": height,
            "pad": pad,
            "first": history[0][0], "last": history[-1][0], "latest": history[-1][1],
            "total": total, "total_y": pad}


def is_shared_ward_request(request: web.Request, share: ShareLinks) -> bool:
    parts = request.path.strip("/").split("/")
    return (request.method in ("GET", "HEAD") and len(parts) == 2 and parts[0] == "ward"
            and share.valid(parts[1], request.query.get("key")))


def add_pages(app: web.Application, state: FleetState, share: ShareLinks,
              history: HistoryReader, tools: ToolLinks | None = None) -> None:
    app[STATE_KEY] = state
    app[TOOLS_KEY] = tools or ToolLinks()
    app[SHARE_KEY] = share
    app[HISTORY_KEY] = history
    app.router.add_get("/", board)
    app.router.add_get("/ward/{code}", ward_page)
    app.router.add_get("/dispatch", dispatch)
    app.router.add_get("/dispatch.csv", dispatch_csv)
    app.router.add_get("/api/v1/wards", wards_api)
    app.router.add_static("/static/", STATIC)
