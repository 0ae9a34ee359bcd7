"""The demo's mailbox: where Alertmanager's messages land on this machine, to be read.

An SMTP server (aiosmtpd; it asks for the password Alertmanager is given, as a real relay
would), a stand-in for the Telegram Bot API (Alertmanager's ``api_url``) and one for the
chat relay's webhook, all on loopback. Each message is kept as its recipient gets it — an
e-mail as a ``.eml`` file, a chat message as text — in a folder of its own, and shown on a
page, newest first. Nothing is sent anywhere else.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import logging
import socket
import time
import warnings
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web

log = logging.getLogger("sansang.demo.mailbox")

SMTP_USER = "sansang"


@dataclass(frozen=True)
class Message:
    at: float
    channel: str  # "email", "telegram" or "chat-relay"
    recipients: list[str]
    subject: str
    text: str
    file: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def email_text(raw: bytes) -> tuple[str, str]:
    """The subject and the plain-text body of a message, decoded as a mail reader would."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain", "html"))
    return str(parsed["Subject"] or ""), body.get_content() if body is not None else ""


class Mailbox:
    """Everything Alertmanager sends in the demo, kept under ``folder``."""

    def __init__(self, folder: Path, smtp_password: str, bot_token: str):
        self.folder = folder
        self.smtp_password = smtp_password
        self.bot_token = bot_token
        self.messages: list[Message] = []
        self.smtp_port = _free_port()
        self._controller: Any = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def smtp_smarthost(self) -> str:
        return f"127.0.0.1:{self.smtp_port}"

    @property
    def telegram_api_url(self) -> str:
        return self.url

    @property
    def chat_relay_url(self) -> str:
        return self.url + "/chat-relay"

    def _keep(self, channel: str, recipients: list[str], subject: str, text: str,
              content: bytes, suffix: str) -> None:
        name = f"{len(self.messages) + 1:05d}-{channel}{suffix}"
        (self.folder / name).write_bytes(content)
        self.messages.append(Message(time.time(), channel, recipients, subject, text, name))

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._start_smtp()
        app = web.Application(client_max_size=1 << 20)
        app.router.add_get("/", self._page)
        app.router.add_get("/api/messages", self._api)
        app.router.add_post("/bot{token}/sendMessage", self._telegram)
        app.router.add_post("/chat-relay/{group}", self._chat_relay)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = _free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- e-mail

    def _start_smtp(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        mailbox = self

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
                raw = bytes(envelope.original_content or envelope.content)
                subject, text = email_text(raw)
                mailbox._keep("email", list(envelope.rcpt_tos), subject, text, raw, ".eml")
                return "250 OK"

        def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str,
                         data: Any) -> AuthResult:
            return AuthResult(success=isinstance(data, LoginPassword) and (
                data.login, data.password) == (SMTP_USER.encode(),
                                               self.smtp_password.encode()))

        # PLAIN without TLS is allowed on loopback (Go's client allows it there too);
        # LOGIN's "User Name" prompt is not the "Username:" Alertmanager expects.
        self._controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.smtp_port, authenticator=authenticate,
            auth_required=True, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        with warnings.catch_warnings():  # "AUTH without TLS": loopback only, on purpose
            warnings.simplefilter("ignore", UserWarning)
            self._controller.start()

    # --- chat

    async def _telegram(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.bot_token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        data = dict(await request.json()) if request.content_type == "application/json" \
            else dict(await request.post())
        text, chat = str(data.get("text", "")), str(data.get("chat_id", ""))
        self._keep("telegram", [chat], text.splitlines()[0] if text else "", text,
                   text.encode(), ".txt")
        return web.json_response({"ok": True, "result": {
            "message_id": len(self.messages), "date": int(time.time()),
            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "group"},
            "text": text}})

    async def _chat_relay(self, request: web.Request) -> web.Response:
        body = await request.json()
        lines = [f"{a.get('status', '')}: {a.get('annotations', {}).get('summary', '')}"
                 for a in body.get("alerts", [])]
        text = "\n".join(lines)
        receiver = request.match_info["group"]
        self._keep("chat-relay", [receiver], lines[0] if lines else "", text,
                   json.dumps(body, ensure_ascii=False, indent=2).encode(), ".json")
        return web.json_response({"ok": True})

    # --- reading

    async def _api(self, _request: web.Request) -> web.Response:
        return web.json_response({"messages": [asdict(m) for m in self.messages]},
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))

    async def _page(self, _request: web.Request) -> web.Response:
        items = []
        for message in reversed(self.messages[-500:]):
            when = time.strftime("%H:%M:%S %d/%m/%Y", time.localtime(message.at))
            items.append(
                f"<article><h2>{html.escape(message.subject)}</h2>"
                f"<p class=meta>{when} · {html.escape(message.channel)} → "
                f"{html.escape(', '.join(message.recipients))} · {html.escape(message.file)}"
                f"</p><pre>{html.escape(message.text)}</pre></article>")
        page = (
            "<!doctype html><html lang=vi><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            "<meta http-equiv=refresh content=10>"
            "<title>Hộp thư demo — Demo mailbox</title><style>body{font-family:sans-serif;"
            "max-width:60rem;margin:auto;padding:1rem}article{border-top:1px solid #ccc}"
            "pre{white-space:pre-wrap}.meta{color:#555}</style></head><body>"
            "<h1>Hộp thư demo — Demo mailbox</h1>"
            f"<p>{len(self.messages)} tin nhắn Alertmanager đã gửi trong demo, mới nhất trước; "
            f"tệp gốc trong <code>{html.escape(str(self.folder))}</code>. "
            "(Messages Alertmanager sent in the demo, newest first.)</p>"
            + "".join(items) + "</body></html>")
        return web.Response(text=page, content_type="text/html")
