"""Pages rendered for people: the templates, the language of a request, the answer.

Server-rendered with Jinja2, Vietnamese unless ``?lang=en`` (remembered in a cookie).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from isal import igzip

from collector.i18n import DEFAULT_LANGUAGE, LANGUAGES, Language, translate
from collector.security import NOC_USER

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
LANGUAGE_COOKIE = "sansang_lang"
# ISA-L's fastest level, as for /metrics: a national board's 1.4 MB in a few milliseconds.
PAGE_GZIP_LEVEL = 1

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def language_of(request: web.Request) -> Language:
    asked = request.query.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if asked == "en":
        return "en"
    if asked == "vi":
        return "vi"
    return DEFAULT_LANGUAGE


def render(request: web.Request, template: str, **context: Any) -> web.Response:
    language = language_of(request)

    def t(key: str, **values: object) -> str:
        return translate(key, language, **values)

    def url(path: str, **params: str) -> str:
        query = {"lang": language, **params}
        return path + "?" + "&".join(f"{k}={v}" for k, v in query.items())

    other = "en" if language == "vi" else "vi"
    toggle = request.rel_url.update_query(lang=other)
    html = _environment.get_template(template).render(
        t=t, url=url, lang=language, toggle_url=str(toggle),
        noc_user=request.get(NOC_USER, ""), **context)
    response = web.Response(text=html, content_type="text/html")
    if request.query.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="Lax",
                            httponly=True, secure=request.secure)
    return response


async def gzipped(request: web.Request, response: web.Response) -> web.Response:
    """``response`` gzipped, off the event loop, when the browser takes gzip.

    Only for a page with no secret on it: a compressed page that holds a secret beside
    text the request chose gives the secret away, a guess at a time (BREACH).
    """
    body = response.body
    if "gzip" not in request.headers.get("Accept-Encoding", "") or not isinstance(body, bytes):
        return response
    response.body = await asyncio.to_thread(igzip.compress, body, PAGE_GZIP_LEVEL, mtime=0)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response
