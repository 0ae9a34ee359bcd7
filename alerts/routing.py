"""The Alertmanager configuration: the NOC gets everything, each technician team its cluster.

Alerts are grouped by ward, so one message says everything wrong with one ward centre.
A silent agent inhibits the rest of its ward's alerts: with no fresh data they would
only repeat that the ward is blind. Receiver URLs are loopback placeholders that the
deployment replaces with the real webhook relay and chat addresses.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from alerts.promql import quote
from inventory.model import Inventory

WEBHOOK_BASE = "http://127.0.0.1:9095/alerts"
CHAT_BASE = "http://127.0.0.1:9096/hooks"
TEMPLATES = "templates/*.tmpl"


def slug(text: str) -> str:
    """``Quận Gò Vấp`` -> ``quan-go-vap``: an ASCII name for a receiver and a URL."""
    plain = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    ascii_text = plain.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def receiver(name: str, path: str) -> dict[str, Any]:
    """A JSON webhook (for the dispatch list) and a Slack-compatible chat message."""
    return {
        "name": name,
        "webhook_configs": [{"url": f"{WEBHOOK_BASE}/{path}", "send_resolved": True}],
        "slack_configs": [{
            "api_url": f"{CHAT_BASE}/{path}",
            "send_resolved": True,
            "title": '{{ template "sansang.chat.title" . }}',
            "text": '{{ template "sansang.chat.text" . }}',
        }],
    }


def alertmanager_config(inventory: Inventory) -> dict[str, Any]:
    clusters = sorted({ward.cluster for ward in inventory.wards.values()})
    teams: dict[str, str] = {}
    for cluster in clusters:
        name = f"team-{slug(cluster)}"
        if name in teams.values():
            raise ValueError(f"clusters {cluster!r} and another share the receiver name {name}")
        teams[cluster] = name
    routes: list[dict[str, Any]] = [{"receiver": "noc", "continue": True}]
    routes += [
        {"receiver": name, "matchers": [f"cluster={quote(cluster)}"]}
        for cluster, name in teams.items()
    ]
    return {
        "global": {"resolve_timeout": "5m"},
        "templates": [TEMPLATES],
        "route": {
            "receiver": "noc",
            "group_by": ["ward"],
            # A new ward's first message waits briefly for its other alerts; later news
            # about the same ward comes at most every group_interval.
            "group_wait": "30s",
            "group_interval": "2m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": [
            {
                "source_matchers": ['alertname="WardAgentSilent"'],
                "target_matchers": ['alertname!="WardAgentSilent"'],
                "equal": ["ward"],
            },
            {
                # A platform that does not answer is neither slow nor about to expire.
                "source_matchers": ['alertname="WardPlatformUnreachable"', 'condition="down"'],
                "target_matchers": ['alertname="WardPlatformUnreachable"',
                                    'condition=~"slow|tls_expiry"'],
                "equal": ["ward", "platform"],
            },
        ],
        "receivers": [receiver("noc", "noc")] + [
            receiver(name, f"team/{name.removeprefix('team-')}") for name in teams.values()
        ],
    }
