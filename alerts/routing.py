"""The Alertmanager configuration from the inventory's teams: the NOC gets everything, each
technician team the wards of its clusters, and no other team.

Alerts are grouped by ward, so one message says everything wrong with one ward centre.
Each team is reached by e-mail and Telegram (Alertmanager's own receivers) and, for a
team with a Zalo group, by a JSON webhook to the chat relay. Secrets never appear here:
the SMTP password is read by Alertmanager from ``smtp_auth_password_file``, and the
Telegram bot token (Alertmanager 0.25 has no ``bot_token_file``) is a placeholder that
``python -m alerts.deploy`` replaces at deploy time in a file of mode 0600.
Inhibitions come from the criteria table: a silent agent holds back the rest of its
ward, and a condition holds back those it ``inhibits`` for the same item.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from alerts.promql import quote
from inventory.criteria import CHECKS
from inventory.model import Inventory, Team

TEMPLATES = "templates/*.tmpl"
# What the generated file carries where the bot token goes; alerts/deploy.py swaps it.
BOT_TOKEN_PLACEHOLDER = "SANSANG_TELEGRAM_BOT_TOKEN_WRITTEN_AT_DEPLOY"


@dataclass(frozen=True)
class Delivery:
    """How messages leave: the SMTP relay, the Telegram Bot API, the Zalo chat relay.

    The defaults are the deployment's: a mail relay and the chat relay beside
    Alertmanager, the SMTP password in a file mounted from deploy/secrets."""

    smtp_smarthost: str = "127.0.0.1:25"
    smtp_from: str = "sansang <sansang@sansang.hcmc.invalid>"
    smtp_auth_username: str = "sansang"
    smtp_auth_password_file: str = "/etc/alertmanager/secrets/smtp-password"
    smtp_require_tls: bool = True
    # None: Alertmanager's default, https://api.telegram.org.
    telegram_api_url: str | None = None
    chat_relay_url: str = "http://127.0.0.1:9095/zalo"


def slug(text: str) -> str:
    """``Quận Gò Vấp`` -> ``quan-go-vap``: an ASCII name for a receiver and a URL."""
    plain = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    ascii_text = plain.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def receiver_name(team_id: str) -> str:
    return f"team-{team_id}"


def receiver(team_id: str, team: Team, delivery: Delivery) -> dict[str, Any]:
    """One team's e-mail, Telegram and chat-relay messages, in its language."""
    language = team.language
    out: dict[str, Any] = {"name": receiver_name(team_id)}
    if team.emails:
        out["email_configs"] = [{
            "to": ", ".join(team.emails),
            "send_resolved": True,
            "headers": {"Subject": f'{{{{ template "sansang.email.subject.{language}" . }}}}'},
            "html": f'{{{{ template "sansang.email.html.{language}" . }}}}',
            "text": f'{{{{ template "sansang.text.{language}" . }}}}',
        }]
    if team.telegram_chat_id is not None:
        telegram: dict[str, Any] = {
            "bot_token": BOT_TOKEN_PLACEHOLDER,
            "chat_id": team.telegram_chat_id,
            "send_resolved": True,
            "parse_mode": "HTML",
            "message": f'{{{{ template "sansang.telegram.{language}" . }}}}',
        }
        if delivery.telegram_api_url:
            telegram["api_url"] = delivery.telegram_api_url
        out["telegram_configs"] = [telegram]
    if team.zalo_group:
        out["webhook_configs"] = [{
            "url": f"{delivery.chat_relay_url.rstrip('/')}/{team.zalo_group}",
            "send_resolved": True,
        }]
    return out


def inhibit_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [{
        "source_matchers": ['alertname="WardAgentSilent"'],
        "target_matchers": ['alertname!="WardAgentSilent"'],
        "equal": ["ward"],
    }, {
        # "Not ready" adds nothing to a ward whose failing check has its own alert.
        "source_matchers": ['check=~".+"'],
        "target_matchers": ['alertname="WardNotReady"'],
        "equal": ["ward"],
    }]
    for check in CHECKS:
        for condition in check.conditions:
            if not condition.inhibits:
                continue
            targets = "|".join(condition.inhibits)
            rules.append({
                "source_matchers": [f"alertname={quote(check.alert)}",
                                    f"condition={quote(condition.name)}"],
                "target_matchers": [f"alertname={quote(check.alert)}",
                                    f"condition=~{quote(targets)}"],
                "equal": ["ward"] if condition.every_item
                else ["ward", *check.item_labels, *condition.extra_labels],
            })
    return rules


def alertmanager_config(inventory: Inventory, delivery: Delivery | None = None
                        ) -> dict[str, Any]:
    delivery = delivery or Delivery()
    everything = [team_id for team_id, team in inventory.teams.items() if team.everything]
    routes: list[dict[str, Any]] = [
        {"receiver": receiver_name(team_id), "continue": True} for team_id in everything
    ]
    # One route per cluster, in the inventory's order of teams: the team that covers it.
    routes += [
        {"receiver": receiver_name(team_id), "matchers": [f"cluster={quote(cluster)}"]}
        for team_id, team in inventory.teams.items() for cluster in team.clusters
    ]
    receivers = [receiver(team_id, team, delivery) for team_id, team in inventory.teams.items()]
    return {
        "global": {
            "resolve_timeout": "5m",
            "smtp_smarthost": delivery.smtp_smarthost,
            "smtp_from": delivery.smtp_from,
            "smtp_auth_username": delivery.smtp_auth_username,
            "smtp_auth_password_file": delivery.smtp_auth_password_file,
            "smtp_require_tls": delivery.smtp_require_tls,
        },
        "templates": [TEMPLATES],
        "route": {
            # Only used when the inventory names no NOC team (everything: true): every
            # alert passes through the NOC's route first.
            "receiver": "unrouted",
            "group_by": ["ward"],
            # A new ward's first message waits briefly for its other alerts; later news
            # about the same ward comes at most every group_interval.
            "group_wait": "30s",
            "group_interval": "2m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": inhibit_rules(),
        "receivers": [{"name": "unrouted"}, *receivers],
    }
