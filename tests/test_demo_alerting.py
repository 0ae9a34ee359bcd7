"""``python -m demo --fast``: the whole stack on this machine, seen through its own APIs.

The demo's Prometheus has the generated rules loaded and healthy; the ward whose line the
fleet cuts on schedule gets its outage alert, which reaches the NOC and that ward's own
cluster team (no other team) by e-mail in Vietnamese, and resolves once the line is
back; the pages agree with Prometheus on which wards are ready; Ctrl-C stops it all,
leaving no process behind.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from collector.i18n import translate
from inventory import load_inventory
from tests.lab.require import require_binary
from tests.lab.servers import free_port, http_get, spawn, wait_until

pytestmark = pytest.mark.servers

OUTAGE = "mất kết nối hoàn toàn"


def get_json(url: str) -> Any:
    status, body = http_get(url, timeout=5)
    assert status == 200, (url, body[:300])
    return json.loads(body)


def mails(folder: Path) -> list[EmailMessage]:
    out = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out


def firing_and_resolved(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()
    firing, _, resolved = text.partition("Đã khắc phục:")
    return firing, resolved


def leftover_processes(state_dir: Path) -> list[str]:
    """Every process on this machine whose command line names the demo's folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(state_dir) in command and entry.name != str(os.getpid()):
            found.append(f"{entry.name}: {command[:200]}")
    return found


def test_the_fast_demo_fires_delivers_and_resolves_an_alert_and_stops_clean(
        tmp_path: Path) -> None:
    require_binary("prometheus", "prometheus-alertmanager")
    state_dir = tmp_path / "demo"
    log_path = tmp_path / "demo.log"
    process = spawn([sys.executable, "-m", "demo", "--fast", "--port", str(free_port()),
                     "--state-dir", str(state_dir), "--duration", "400"], log_path)
    try:
        wait_until(lambda: (state_dir / "urls.json").exists() or process.poll() is not None,
                   60, what="the demo's banner")
        assert process.poll() is None, log_path.read_text()
        urls = json.loads((state_dir / "urls.json").read_text())
        inventory = load_inventory(state_dir / "inventory.yaml")
        ward = next(f["ward"] for f in urls["faults"] if f["profile"] == "link_cut")
        cluster = inventory.wards[ward].cluster
        noc = next(t.emails[0] for t in inventory.teams.values() if t.everything)
        team = next(t.emails[0] for t in inventory.teams.values() if cluster in t.clusters)

        # 1. The generated rules are loaded and every one of them evaluates.
        groups = get_json(urls["prometheus"] + "/api/v1/rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        assert len(rules) > 20
        wait_until(lambda: all(r["health"] == "ok" for g in get_json(
            urls["prometheus"] + "/api/v1/rules")["data"]["groups"] for r in g["rules"]),
            30, what="every rule healthy")

        # 2. The cut line fires its outage alert; Alertmanager holds it for that ward.
        def outage_in_alertmanager() -> bool:
            alerts = get_json(urls["alertmanager"] + "/api/v2/alerts?" + urllib.parse.urlencode(
                {"filter": f'ward="{ward}"'}))
            return any(a["labels"].get("condition") == "outage" for a in alerts)

        wait_until(outage_in_alertmanager, 90, interval=1, what="the outage alert")
        # The ward's page says what the alert says (once the ward is judged again).
        verdict = re.compile(r'id="verdict">\s*' + translate("ward.not_ready", "vi"))
        wait_until(lambda: verdict.search(http_get(
            f"{urls['collector']}/ward/{ward}")[1].decode()) is not None, 15, interval=0.5,
            what="the ward's page saying not ready")

        # 3. One e-mail to the NOC and one to the ward's team, in Vietnamese, no one else.
        mailbox = state_dir / "mailbox"

        def outage_mails() -> list[EmailMessage]:
            return [m for m in mails(mailbox)
                    if f"({ward}," in str(m["Subject"]) and OUTAGE in firing_and_resolved(m)[0]]

        wait_until(lambda: {m["To"] for m in outage_mails()} >= {
            noc, team}, 60, interval=1, what="the outage e-mails")
        first = outage_mails()
        assert sorted(m["To"] for m in first) == sorted([noc, team])
        assert {m["To"] for m in mails(mailbox) if f"({ward}," in str(m["Subject"])} \
            == {noc, team}
        for message in first:
            assert str(message["Subject"]).startswith("[sansang] 🔴 ")
            assert "Trang của phường" in message.get_body(("plain",)).get_content()

        # 4. The line is back: the outage resolves, in Prometheus and in the mailbox.
        def outage_resolved_by_mail() -> set[str]:
            return {str(m["To"]) for m in mails(mailbox) if f"({ward}," in str(m["Subject"])
                    and OUTAGE in firing_and_resolved(m)[1]}

        wait_until(lambda: outage_resolved_by_mail() >= {noc, team},
                   120, interval=1, what="the outage's resolution by e-mail")
        firing = get_json(urls["prometheus"] + "/api/v1/query?" + urllib.parse.urlencode(
            {"query": f'ALERTS{{ward="{ward}",condition="outage",alertstate="firing"}}'}))
        assert firing["data"]["result"] == []

        # 5. The pages and Prometheus agree on which wards are not ready.
        def agree() -> bool:
            api = get_json(urls["collector"] + "/api/v1/wards")["wards"]
            not_ready_api = {w["code"] for w in api if not w["ready"]}
            result = get_json(urls["prometheus"] + "/api/v1/query?" + urllib.parse.urlencode(
                {"query": "sansang_ward_ready == 0"}))["data"]["result"]
            return not_ready_api == {r["metric"]["ward"] for r in result}

        wait_until(agree, 30, interval=1, what="the pages and Prometheus agreeing")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    output = log_path.read_text()
    assert code == 0, output
    assert "demo stopped" in output
    assert leftover_processes(state_dir) == []

