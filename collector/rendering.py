"""Pages rendered for people: the templates, the language of a request, the answer.

Server-rendered with Jinja2, Vietnamese unless ``?lang=en`` (remembered in a cookie).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from collector.i18n import DEFAULT_LANGUAGE, LANGUAGES, Language, translate
from collector.security import NOC_USER

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
LANGUAGE_COOKIE = "sansang_lang"

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
