"""The NOC's hands on a failing ward: acknowledge, assign, note, release — from the dispatch
page, kept in the work log (``collector.worklog``) and, when the collector knows its
Alertmanager, mirrored there as a silence of the ward (``collector.silences``).

A ward that is ready again has its case closed and its silences expired by the collector
itself (``follow``), so an acknowledgement never hides the ward's next failure.

The forms are HTML forms posted by a browser that may hold the NOC's Basic credentials, so
every post must prove it came from our own page (cross-site request forgery): a token
bound to the logged-in user under the collector's page secret, and, when the browser
says where the post came from (``Origin``, ``Sec-Fetch-Site``), our own origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from typing import Any

from aiohttp import web

from collector.i18n import Language, translate
from collector.security import NOC_USER
from collector.silences import Silence, SilenceBook, SilenceError, SilenceRejected
from collector.state import FleetState
from collector.worklog import (
    MAX_ACKNOWLEDGE_SECONDS,
    MAX_AUTHOR_CHARS,
    MAX_TEXT_CHARS,
    Action,
    CaseError,
    Event,
    WorkLog,
    clean_text,
)
from inventory import humane

log = logging.getLogger("sansang.collector.casework")

FORM_ACTIONS = ("acknowledge", "assign", "note", "release")
ACKNOWLEDGE_HOURS = (1, 4, 24, 72)
MAX_FORM_BYTES = 16 * 1024
AUTHOR_COOKIE = "sansang_by"
FOLLOW_SECONDS = 5.0
# Who writes when the collector closes a case itself.
SYSTEM_AUTHOR = "sansang"


class Casework:
    """The work log, the Alertmanager silences that mirror it, and the form tokens."""

    def __init__(self, worklog: WorkLog, state: FleetState, form_secret: bytes,
                 silences: SilenceBook | None = None):
        self.worklog = worklog
        self.state = state
        self.silences = silences
        self._secret = form_secret
        # ward -> its silence in Alertmanager (ours or made in Alertmanager's own UI; state
        # "active", "pending", "queued" or "rejected"), refreshed by ``follow``; pages read
        # it without asking Alertmanager.
        self.silence_of: dict[str, Silence] = {}
        self.alertmanager_reachable: bool | None = None

    def form_token(self, user: str) -> str:
        digest = hmac.new(self._secret, f"form:{user}".encode(), hashlib.sha256).hexdigest()
        return digest[:32]

    def valid_token(self, user: str, token: str) -> bool:
        return hmac.compare_digest(self.form_token(user), token)

    async def act(self, ward: str, action: str, author: str, text: str,
                  hours: float | None = None) -> None:
        """One change from the NOC: written to the log first, then to Alertmanager.
        Raises ``CaseError`` (nothing changed) when it cannot be made."""
        now = time.time()
        case = self.worklog.case(ward)
        if action == "acknowledge":
            if self.state.wards[ward].ready:
                raise CaseError("ready", "the ward is ready: there is nothing to acknowledge")
            seconds = (hours or 4) * 3600
            if not 0 < seconds <= MAX_ACKNOWLEDGE_SECONDS:
                raise CaseError("hours", "an acknowledgement lasts from 1 hour to 7 days")
            until = float(int(now + seconds))
            await asyncio.to_thread(self.worklog.record,
                                    Event(ward, now, author, "acknowledge", text, until))
            await self._silence(ward, author, text, until)
        elif action in ("assign", "note"):
            if action == "note" and not text:
                raise CaseError("required", "a note needs a text", what="text")
            if case is None and self.state.wards[ward].ready:
                raise CaseError("ready", "the ward is ready: there is no case to write in")
            kind: Action = "assign" if action == "assign" else "note"
            await asyncio.to_thread(self.worklog.record, Event(ward, now, author, kind, text))
        elif action == "release":
            if case is None:
                raise CaseError("no_case", "the ward has no open case")
            await asyncio.to_thread(self.worklog.record,
                                    Event(ward, now, author, "release", text))
            await self._unsilence(ward)
        else:
            raise CaseError("action", f"unknown action {action[:40]!r}")

    async def _silence(self, ward: str, author: str, comment: str, until: float) -> None:
        if self.silences is None:
            return
        comment = comment or "acknowledged on the sansang dispatch page"
        try:
            self.silence_of[ward] = await self.silences.acknowledge(ward, author, comment,
                                                                     until)
        except SilenceRejected as exc:
            # Kept in the log all the same: the NOC knows the ward is in hand.
            log.error("Alertmanager refused the silence for ward %s: %s", ward, exc)
            self.silence_of[ward] = Silence(ward, author, comment, until, "rejected")

    async def _unsilence(self, ward: str) -> None:
        self.silence_of.pop(ward, None)
        if self.silences is None:
            return
        try:
            await self.silences.expire(ward)
        except SilenceError as exc:
            log.error("could not expire the silences of ward %s: %s", ward, exc)

    async def close_ready_wards(self) -> list[str]:
        """Close the case of every ward that is ready again and expire its silences."""
        closed = []
        for ward in list(self.worklog.open_cases()):
            verdict = self.state.wards.get(ward)
            if verdict is None or not verdict.ready:
                continue
            await asyncio.to_thread(self.worklog.record, Event(
                ward, time.time(), SYSTEM_AUTHOR, "close", "ready again"))
            await self._unsilence(ward)
            closed.append(ward)
        return closed

    async def refresh_silences(self) -> None:
        if self.silences is None:
            return
        try:
            listed = await self.silences.silences()
            self.alertmanager_reachable = True
        except SilenceError:
            listed = self.silences.queued()
            self.alertmanager_reachable = False
        found: dict[str, Silence] = {}
        for silence in listed:
            found.setdefault(silence.ward, silence)
        self.silence_of = found

    async def follow(self, every_seconds: float = FOLLOW_SECONDS) -> None:
        """For ever: close what is ready, apply queued silences, read their states."""
        while True:
            try:
                for ward in await self.close_ready_wards():
                    log.info("ward %s is ready again: its case is closed", ward)
                await self.refresh_silences()
            except Exception:
                log.exception("following the NOC's cases failed; will retry")
            await asyncio.sleep(every_seconds)

    def close(self) -> None:
        self.worklog.close()
        if self.silences is not None:
            self.silences.close()


CASEWORK = web.AppKey("casework", Casework)


def case_view(casework: Casework, ward: str, language: Language) -> dict[str, Any] | None:
    """A ward's open case and its silence in Alertmanager (also one made in Alertmanager's
    own UI) as the pages show them, times in the city's zone; None when it has neither."""
    case = casework.worklog.case(ward)
    silence = casework.silence_of.get(ward)
    if case is None and silence is None:
        return None
    now, state = time.time(), casework.state
    view: dict[str, Any] = {
        "acknowledged": False, "acknowledged_by": None, "acknowledged_at": None,
        "until": None, "expired": False, "comment": "", "assignee": None,
        "assigned_at": None, "notes": [], "silence": None,
    }
    if case is not None:
        acknowledged = case.acknowledged(now)
        view.update({
            "acknowledged": acknowledged,
            "acknowledged_by": case.acknowledged_by,
            "acknowledged_at": (humane.timestamp(case.acknowledged_at, state.zone)
                                if case.acknowledged_at else None),
            "until": (humane.timestamp(case.acknowledged_until, state.zone)
                      if case.acknowledged_until else None),
            "expired": case.acknowledged_until is not None and not acknowledged,
            "comment": case.acknowledge_comment,
            "assignee": case.assignee,
            "assigned_at": (humane.timestamp(case.assigned_at, state.zone)
                            if case.assigned_at else None),
            "notes": [{"at": humane.timestamp(n.at, state.zone), "author": n.author,
                       "action": translate(f"case.action.{n.action}", language),
                       "text": n.text}
                      for n in reversed(case.notes[-20:])],
        })
    if silence is not None:
        view["silence"] = translate(
            "case.silence_detail", language,
            state=translate(f"case.silence.{silence.state}", language),
            who=silence.author, until=humane.timestamp(silence.ends_at, state.zone))
    return view


def same_origin(request: web.Request) -> bool:
    """False when the browser says the post came from another site. Our pages send no
    referrer, so a browser sends ``Origin: null`` with their forms: only a named origin
    that is not ours is refused; ``Sec-Fetch-Site`` says it either way."""
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and origin != f"{request.scheme}://{request.host}":
        return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def problem_page(request: web.Request, status: int, key: str, language: Language,
                 back: str, **values: object) -> web.Response:
    from collector.pages import render  # the pages import this module

    if "what" in values:  # a field, named as its form names it
        values["what"] = translate(f"case.field.{values['what']}", language)
    response = render(request, "problem.html",
                      message=translate(f"case.error.{key}", language, **values), back=back)
    response.set_status(status)
    return response


async def act_on_ward(request: web.Request) -> web.StreamResponse:
    """``POST /dispatch/{code}``: one change to the ward's case, then back to the page."""
    from collector.pages import language_of

    casework, language = request.app[CASEWORK], language_of(request)
    code = request.match_info["code"]
    back = f"/dispatch?lang={language}#case-{code}"
    if code not in casework.state.wards:
        return problem_page(request, 404, "unknown_ward", language, "/dispatch", code=code[:40])
    if request.content_type != "application/x-www-form-urlencoded":
        return problem_page(request, 415, "form", language, back)
    if (request.content_length or 0) > MAX_FORM_BYTES:
        return problem_page(request, 413, "too_big", language, back)
    try:
        form = await request.post()
    except (ValueError, web.HTTPException):
        return problem_page(request, 400, "form", language, back)
    if form.get("back") == "ward":
        back = f"/ward/{code}?lang={language}"
    user = request.get(NOC_USER, "")
    token = form.get("csrf")
    if not same_origin(request) or not isinstance(token, str) \
            or not casework.valid_token(user, token):
        return problem_page(request, 403, "forged", language, back)
    action = form.get("action")
    if not isinstance(action, str) or action not in FORM_ACTIONS:
        return problem_page(request, 400, "action", language, back)
    try:
        author = user or clean_text(_field(form, "by"), "by", MAX_AUTHOR_CHARS, required=True)
        text = clean_text(_field(form, "text"), "text", MAX_TEXT_CHARS,
                          required=action == "assign")
        if action == "assign":
            text = clean_text(text, "text", MAX_AUTHOR_CHARS, required=True)
        hours = None
        if action == "acknowledge":
            try:
                hours = float(_field(form, "hours") or 4)
            except ValueError:
                raise CaseError("hours", "hours is not a number") from None
        await casework.act(code, action, author, text, hours)
    except CaseError as exc:
        return problem_page(request, 422 if exc.key != "ready" else 409, exc.key, language,
                            back, **exc.values)
    response = web.Response(status=303, headers={"Location": back})
    if not user:
        response.set_cookie(AUTHOR_COOKIE, author, max_age=365 * 86400, httponly=True,
                            samesite="Strict", secure=request.secure)
    return response


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise CaseError("form", f"{name} must be a text field")
    return value


def add_casework(app: web.Application, casework: Casework) -> None:
    app[CASEWORK] = casework
    app.router.add_post("/dispatch/{code}", act_on_ward)

    async def lifecycle(app: web.Application) -> Any:
        task = asyncio.create_task(casework.follow(), name="casework")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        casework.close()

    app.cleanup_ctx.append(lifecycle)
