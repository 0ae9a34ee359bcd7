"""The NOC's login page: a form in Vietnamese or English instead of the browser's Basic-auth
dialog (which cannot be answered in Vietnamese, nor left), and a session cookie after it.

The same users and bcrypt hashes as Basic auth, checked and throttled by the same code
(``BasicAuth.verify``); programs (Prometheus, curl, the export) keep sending Basic
credentials. The session is a signed cookie — the user and its expiry under an HMAC of the
collector's page secret — HttpOnly, SameSite=Lax (a link from an alert e-mail opens the
board; another site's form cannot post with it), Secure over TLS. The login form itself
refuses a post another site makes (``Origin``/``Sec-Fetch-Site``), as the NOC's forms do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from urllib.parse import quote

from aiohttp import web

from collector.casework import same_origin
from collector.rendering import language_of, render
from collector.security import MAX_PASSWORD_BYTES, BasicAuth

SESSION_COOKIE = "sansang_session"
SESSION_SECONDS = 12 * 3600
MAX_LOGIN_FORM_BYTES = 4096


class Sessions:
    """Signed session cookies: ``<user, base64>.<expiry>.<signature>``."""

    def __init__(self, secret: bytes):
        self._secret = secret

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()[:40]

    def issue(self, user: str, now: float | None = None) -> str:
        expiry = int((now or time.time()) + SESSION_SECONDS)
        body = f"{base64.urlsafe_b64encode(user.encode()).decode()}.{expiry}"
        return f"{body}.{self._sign(body)}"

    def user_of(self, cookie: str | None, now: float | None = None) -> str | None:
        """The session's user, or None when the cookie is missing, forged or expired."""
        if not cookie or len(cookie) > 512:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        encoded, _, expiry = body.partition(".")
        try:
            if int(expiry) < (now or time.time()):
                return None
            return base64.urlsafe_b64decode(encoded.encode()).decode()
        except (ValueError, binascii.Error, UnicodeError):
            return None


SESSIONS = web.AppKey("sessions", Sessions)
LOGIN_AUTH = web.AppKey("login_auth", BasicAuth)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of ours, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]


def login_url(request: web.Request) -> str:
    return f"/login?lang={language_of(request)}&next={quote(str(request.rel_url), safe='')}"


async def login_page(request: web.Request) -> web.Response:
    return render(request, "login.html", next=safe_next(request.query.get("next")),
                  message=None, user="")


async def login(request: web.Request) -> web.Response:
    if (request.content_type != "application/x-www-form-urlencoded"
            or (request.content_length or 0) > MAX_LOGIN_FORM_BYTES):
        return _refused(request, 400, "login.error.form", "/", "")
    form = await request.post()
    target = safe_next(_text(form.get("next")))
    user, password = _text(form.get("user"))[:200], _text(form.get("password"))
    if not same_origin(request):
        return _refused(request, 403, "login.error.forged", target, user)
    outcome = await request.app[LOGIN_AUTH].verify(
        user, password.encode("utf-8", "surrogateescape"), request.remote or "?")
    if not outcome.allowed:
        key = {429: "login.error.throttled", 400: "login.error.too_long"}.get(
            outcome.status, "login.error.wrong")
        refused = _refused(request, outcome.status, key, target, user)
        if outcome.status == 429:
            refused.headers["Retry-After"] = str(max(1, math.ceil(outcome.retry_after)))
        return refused
    response = web.Response(status=303, headers={"Location": target})
    response.set_cookie(SESSION_COOKIE, request.app[SESSIONS].issue(outcome.user),
                        max_age=SESSION_SECONDS, httponly=True, samesite="Lax",
                        secure=request.secure, path="/")
    return response


async def logout(request: web.Request) -> web.Response:
    response = web.Response(status=303, headers={
        "Location": f"/login?lang={language_of(request)}"})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _refused(request: web.Request, status: int, key: str, target: str,
             user: str) -> web.Response:
    response = render(request, "login.html", next=target, message=key, user=user,
                      limit=MAX_PASSWORD_BYTES)
    response.set_status(status)
    return response


def add_login(app: web.Application, auth: BasicAuth, secret: bytes) -> None:
    app[SESSIONS] = Sessions(secret)
    app[LOGIN_AUTH] = auth
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
