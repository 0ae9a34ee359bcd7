"""Where Alertmanager's messages land in tests: a real SMTP server (aiosmtpd) and a stand-in
for the Telegram Bot API, both on loopback, each recording what arrived and when.

The Telegram stand-in answers ``POST /bot<token>/sendMessage`` as the real API does (a
JSON ``{"ok": true, "result": <message>}``), so Alertmanager counts the message as sent
and does not retry; any other token is refused with 401, as Telegram would.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from tests.lab.servers import free_port, serving_post


@dataclass
class Mail:
    at: float
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpServer:
    host: str
    port: int
    username: str
    password: str
    mails: list[Mail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


@contextlib.contextmanager
def running_smtp_server(username: str = "sansang", password: str = "smtp-secret"
                        ) -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 that requires AUTH PLAIN (allowed without TLS on
    loopback, as Go's client also allows there) and records every message. LOGIN is not
    offered: aiosmtpd's "User Name" prompt is not the "Username:" Alertmanager expects."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = SmtpServer("127.0.0.1", free_port(), username, password)

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            server.mails.append(Mail(time.time(), list(envelope.rcpt_tos),
                                     bytes(envelope.original_content or envelope.content)))
            return "250 OK"

    def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        ok = (isinstance(data, LoginPassword)
              and (data.login, data.password) == (username.encode(), password.encode()))
        if ok:
            server.logins.append(mechanism)
        return AuthResult(success=ok)

    controller = Controller(Handler(), hostname=server.host, port=server.port,
                            authenticator=authenticate, auth_required=True,
                            auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass
class TelegramMessage:
    at: float
    chat_id: int
    text: str
    parse_mode: str | None


@dataclass
class TelegramStandIn:
    api_url: str
    token: str
    messages: list[TelegramMessage] = field(default_factory=list)


@contextlib.contextmanager
def running_telegram_stand_in(token: str = "123456:TEST-token") -> Iterator[TelegramStandIn]:
    from aiohttp import web

    stand_in = TelegramStandIn(api_url="", token=token)

    async def send_message(request: web.Request) -> web.Response:
        if request.match_info["token"] != token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        if request.content_type == "application/json":
            data = dict(await request.json())
        else:
            data = dict(await request.post())
        chat_id = int(data["chat_id"])
        stand_in.messages.append(TelegramMessage(time.time(), chat_id, str(data["text"]),
                                                 data.get("parse_mode")))
        return web.json_response({"ok": True, "result": {
            "message_id": len(stand_in.messages), "date": int(time.time()),
            "chat": {"id": chat_id, "type": "group"}, "text": data["text"]}})

    with serving_post("/bot{token}/sendMessage", send_message, "telegram-stand-in") as url:
        stand_in.api_url = url
        yield stand_in
