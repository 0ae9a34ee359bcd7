"""Notifications end to end: crafted pushes -> collector -> Prometheus -> Alertmanager (all
real, Debian's) -> a real SMTP server and a Telegram Bot API stand-in, on loopback only.

Seven wards, each in a cluster of its own with its own team: six lab scenarios (a cut
line, 30 % loss, 2 % loss, a silent agent, a platform down, a UPS on battery) and one
healthy ward. For each scenario the NOC and the ward's team, and no other team, get one
message by e-mail and one by Telegram, valid MIME with a UTF-8 Vietnamese subject; the
time from the first faulty report (its measured_at) to the message, scaled back from
rules and routing compressed 1/30 (alerts.timescale), is within docs/alerting.md's
promise. Then the cut line is repaired and both get the resolution message. Last, a
ward is acknowledged on the dispatch page: its next fault reaches nobody, and once it
is ready again the collector expires its silence itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from alerts.deploy import with_bot_token
from alerts.generate import dump
from alerts.routing import Delivery, alertmanager_config
from alerts.rules import rule_groups
from alerts.timescale import scale_routing, scale_rules, seconds
from demo.fleet import SimulatedWard, simulated_reports, simulated_ward
from demo.inventory import demo_inventory_document
from inventory import DEFAULT_INVENTORY, load_inventory
from inventory.model import Inventory
from tests.lab.notify import running_smtp_server, running_telegram_stand_in
from tests.lab.servers import (
    ROOT,
    free_port,
    http_get,
    http_post_json,
    loop_in_thread,
    run_in,
    running_alertmanager,
    running_collector,
    running_prometheus,
    running_webhook_receiver,
    wait_until,
)

pytestmark = pytest.mark.servers

TIME_SCALE = 1 / 30
# The production ICMP and report interval (15 s), compressed like the rules.
REPORT_INTERVAL = 15 * TIME_SCALE
SCENARIOS = ("link_cut", "loss_30", "loss_2", "silent", "platform_down", "ups_on_battery")
# docs/alerting.md: time to notification at production settings, in seconds.
PROMISE_SECONDS = {"link_cut": 120, "loss_30": 180, "loss_2": 900, "silent": 120,
                   "platform_down": 450, "ups_on_battery": 270}
FIRST_LINE = {"link_cut": "mất kết nối hoàn toàn", "loss_30": "mất gói nặng",
              "loss_2": "tỷ lệ mất gói", "silent": "không gửi báo cáo",
              "platform_down": "không truy cập được Hệ thống giải quyết TTHC",
              "ups_on_battery": "đang chạy bằng pin"}


def lab_inventory(path: Path) -> tuple[Inventory, dict[str, str]]:
    """Seven wards of the shipped list, each of a different cluster, with the shipped
    teams of those clusters and the NOC; the scenario of each ward."""
    shipped = load_inventory(DEFAULT_INVENTORY)
    codes: list[str] = []
    for code, ward in shipped.wards.items():
        if ward.cluster not in {shipped.wards[c].cluster for c in codes}:
            codes.append(code)
        if len(codes) == len(SCENARIOS) + 1:
            break
    document = demo_inventory_document(shipped, "", {p: f"http://127.0.0.1:9/{p}"
                                                     for p in shipped.platforms})
    del document["wards_csv"]
    document["wards"] = {
        code: {**document["wards"][code],
               **shipped.wards[code].model_dump(include={"name", "kind", "province",
                                                         "cluster"})}
        for code in codes
    }
    clusters = {shipped.wards[code].cluster for code in codes}
    document["teams"] = {
        team_id: team.model_dump(exclude_defaults=True)
        for team_id, team in shipped.teams.items()
        if team.everything or set(team.clusters) <= clusters
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return load_inventory(path), dict(zip(codes, [*SCENARIOS, "healthy"], strict=True))


def crafted_reports(ward: SimulatedWard, scenario: str, round_: int, now: float,
                    rng: random.Random) -> list[dict[str, Any]]:
    """The demo fleet's healthy reports, with the scenario's fault put in."""
    profile = scenario if scenario in ("platform_down", "ups_on_battery") else "healthy"
    reports = simulated_reports(SimulatedWard(ward.code, ward.token, profile,
                                              ward.contract_bytes_per_second), now, rng)
    icmp = reports[0]["result"]
    received = {"link_cut": 0, "loss_30": 7,
                # One packet of ten lost every fifth run: 2 % over any window.
                "loss_2": 9 if round_ % 5 == 0 else 10}.get(scenario, 10)
    if received < 10:
        rtts = icmp["rtts_seconds"][:received]
        icmp.update(received=received, loss_ratio=(10 - received) / 10, rtts_seconds=rtts)
        if not rtts:
            for key in ("rtt_min_seconds", "rtt_avg_seconds", "rtt_max_seconds",
                        "jitter_seconds"):
                icmp[key] = None
            icmp.update(up=False, error="100 % packet loss")
    return reports


@contextlib.contextmanager
def pushing(collector_url: str, wards: list[SimulatedWard], scenario: dict[str, str],
            faulty_since: dict[str, float]) -> Iterator[None]:
    """Every REPORT_INTERVAL, each ward pushes its current ``scenario`` (a silent one
    nothing); ``faulty_since`` gets the measured_at of each ward's first faulty round
    (for a silent ward, of the last report it sent)."""
    url = collector_url + "/api/v1/reports"

    async def run() -> None:
        rng = random.Random(16)
        last: dict[str, float] = {}
        round_ = 0
        async with aiohttp.ClientSession() as session:
            while True:
                started = time.monotonic()
                now = time.time()
                for ward in wards:
                    current = scenario[ward.code]
                    if current == "silent":
                        faulty_since.setdefault(ward.code, last.get(ward.code, now))
                        continue
                    if current != "healthy":
                        faulty_since.setdefault(ward.code, now)
                    body = {"reports": crafted_reports(ward, current, round_, now, rng)}
                    async with session.post(url, json=body, headers={
                            "Authorization": f"Bearer {ward.token}"}) as response:
                        assert response.status == 200, await response.text()
                    last[ward.code] = now
                round_ += 1
                await asyncio.sleep(max(0.0, REPORT_INTERVAL - (time.monotonic() - started)))

    async def stop(task: asyncio.Task[None]) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def start() -> asyncio.Task[None]:
        return asyncio.create_task(run())

    with loop_in_thread("crafted-pushes") as loop:
        task = run_in(loop, start())
        try:
            yield
        finally:
            if task.done() and task.exception():
                raise AssertionError(f"pushes failed: {task.exception()!r}")
            run_in(loop, stop(task))


def acknowledge_on_dispatch_page(collector_url: str, ward: str, who: str, comment: str) -> None:
    """As an operator would: the dispatch page's form, its token and all."""
    status, page = http_get(collector_url + "/dispatch")
    assert status == 200
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.decode())
    assert token, page
    form = urllib.parse.urlencode({"csrf": token.group(1), "action": "acknowledge", "by": who,
                                   "text": comment, "hours": "4"}).encode()
    request = urllib.request.Request(f"{collector_url}/dispatch/{ward}", data=form,
                                     method="POST")

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        urllib.request.build_opener(Stay).open(request, timeout=10)
    except urllib.error.HTTPError as answer:
        assert answer.code == 303, answer.read()
    else:
        raise AssertionError("the form was not answered with a redirect")


def ward_silences(alertmanager_url: str, ward: str) -> list[dict[str, Any]]:
    """The ward's silences that are not expired, from Alertmanager's own API."""
    query = urllib.parse.urlencode({"filter": f'ward="{ward}"'})
    status, body = http_get(f"{alertmanager_url}/api/v2/silences?{query}")
    assert status == 200, body
    return [x for x in json.loads(body) if x["status"]["state"] != "expired"]


def ward_of(subject_or_text: str) -> str:
    match = re.search(r"\((\d{5})[,)]", subject_or_text)
    assert match, subject_or_text
    return match.group(1)


def test_each_scenario_reaches_the_noc_and_its_team_only_in_time(tmp_path: Path) -> None:
    inventory, scenarios = lab_inventory(tmp_path / "inventory.yaml")
    team_of = {code: next(team_id for team_id, team in inventory.teams.items()
                          if ward.cluster in team.clusters)
               for code, ward in inventory.wards.items()}
    noc = next(team_id for team_id, team in inventory.teams.items() if team.everything)
    by_email = {address: team_id for team_id, team in inventory.teams.items()
                for address in team.emails}
    by_chat = {team.telegram_chat_id: team_id for team_id, team in inventory.teams.items()}
    (tmp_path / "smtp-password").write_text("smtp-secret", encoding="utf-8")
    # Known before either starts: the collector silences acknowledged wards there.
    alertmanager_port = free_port()

    with (
        running_smtp_server(password="smtp-secret") as smtp,
        running_telegram_stand_in() as telegram,
        running_webhook_receiver() as relay,
        running_collector(tmp_path / "collector", list(inventory.wards),
                          inventory=tmp_path / "inventory.yaml",
                          extra_args=["--report-interval", str(REPORT_INTERVAL),
                                      "--alertmanager-url",
                                      f"http://127.0.0.1:{alertmanager_port}"]) as collector,
    ):
        rules = tmp_path / "rules.yml"
        rules.write_text(dump(scale_rules(rule_groups(public_url=collector.url), TIME_SCALE)),
                         encoding="utf-8")
        delivery = Delivery(
            smtp_smarthost=f"{smtp.host}:{smtp.port}", smtp_require_tls=False,
            smtp_auth_password_file=str(tmp_path / "smtp-password"),
            telegram_api_url=telegram.api_url, chat_relay_url=relay.url + "/zalo")
        # As deployed: the generated text, the bot token written in by alerts.deploy.
        routing = yaml.safe_load(with_bot_token(
            dump(scale_routing(alertmanager_config(inventory, delivery), TIME_SCALE)),
            telegram.token))
        scenario = dict.fromkeys(scenarios, "healthy")
        faulty_since: dict[str, float] = {}
        wards = [simulated_ward(inventory, code, collector.tokens[code], "healthy")
                 for code in scenarios]
        with (
            pushing(collector.url, wards, scenario, faulty_since),
            running_alertmanager(tmp_path / "alertmanager", routing,
                                 ROOT / "alerts" / "templates", port=alertmanager_port)
            as alertmanager,
            running_prometheus(tmp_path / "prometheus", [collector.url.removeprefix("http://")],
                               scrape_interval=f"{int(REPORT_INTERVAL * 1000)}ms",
                               rule_files=[rules],
                               alertmanager=alertmanager.url.removeprefix("http://"))
            as prometheus,
        ):
            # 1. Every ward ready and quiet before the faults.
            prometheus.wait_for("sum(sansang_ward_ready)", 30,
                                lambda r: bool(r) and float(r[0]["value"][1]) == len(wards))
            assert not smtp.mails and not telegram.messages

            # 2. The faults, all at once.
            for code, name in scenarios.items():
                scenario[code] = name
            expected = {(code, receiver) for code, name in scenarios.items() if name != "healthy"
                        for receiver in (noc, team_of[code])}

            def mailed() -> set[tuple[str, str]]:
                return {(ward_of(m.message["Subject"]), by_email[r])
                        for m in smtp.mails for r in m.recipients}

            def chatted() -> set[tuple[str, str]]:
                return {(ward_of(m.text.splitlines()[0]), by_chat[m.chat_id])
                        for m in telegram.messages}

            longest = max(PROMISE_SECONDS.values()) * TIME_SCALE
            wait_until(lambda: mailed() >= expected and chatted() >= expected, longest + 30,
                       interval=0.5, what="every scenario's messages")
            # Two group intervals more: nothing else arrives (one message per ward).
            time.sleep(2 * seconds(routing["route"]["group_interval"]))
            assert mailed() == expected and chatted() == expected

            for code, name in scenarios.items():
                if name == "healthy":
                    continue
                mails = [m for m in smtp.mails if ward_of(m.message["Subject"]) == code]
                chats = [m for m in telegram.messages
                         if ward_of(m.text.splitlines()[0]) == code]
                # One e-mail and one Telegram message to each of the NOC and the team.
                assert len(mails) == 2 and len(chats) == 2, (name, mails, chats)
                assert sorted(sorted(m.recipients) for m in mails) == sorted([
                    sorted(inventory.teams[noc].emails),
                    sorted(inventory.teams[team_of[code]].emails)])
                mail = mails[0]
                message = mail.message
                assert not message.defects
                raw_subject = re.search(rb"^Subject: (.*(?:\r\n[ \t].*)*)", mail.raw, re.M)
                assert raw_subject and raw_subject.group(1).isascii()
                assert raw_subject.group(1).lower().startswith(b"=?utf-8?")
                ward_name = inventory.wards[code].name
                assert message["Subject"].startswith("[sansang] 🔴 ")
                assert f"{ward_name} ({code}" in message["Subject"]
                text = message.get_body(("plain",)).get_content()
                assert FIRST_LINE[name] in text, text
                assert f"{collector.url}/ward/{code}" in text
                assert "/docs/runbooks/Ward" in text and "Từ: " in text

                notified = min(m.at for m in [*mails, *chats])
                scaled_back = (notified - faulty_since[code]) / TIME_SCALE
                print(f"{name}: notified {scaled_back:.0f} s after the fault at production "
                      f"settings (promise {PROMISE_SECONDS[name]} s)")
                assert scaled_back <= PROMISE_SECONDS[name], (name, scaled_back)

            # The Zalo relay webhook got the NOC's copy of every ward's news.
            relayed = {a["labels"]["ward"] for _, a in relay.alerts()}
            assert relayed == {code for code, name in scenarios.items() if name != "healthy"}

            # 3. The cut line repaired: one resolution message to the NOC and the team.
            cut = next(code for code, name in scenarios.items() if name == "link_cut")
            scenario[cut] = "healthy"

            def resolved() -> set[str]:
                return {by_email[r] for m in smtp.mails for r in m.recipients
                        if ward_of(m.message["Subject"]) == cut
                        and "✅ Đã khắc phục" in m.message["Subject"]}

            wait_until(lambda: resolved() == {noc, team_of[cut]}, 60, interval=0.5,
                       what="the resolution message")

            # 4. Acknowledged on the dispatch page: a silence for the ward with 30 % loss,
            # visible in Alertmanager's API; its line is then cut, and nobody hears of it.
            acked = next(code for code, name in scenarios.items() if name == "loss_30")
            acked_at = time.time()
            acknowledge_on_dispatch_page(collector.url, acked, "noc-an", "Đã cử kỹ thuật viên")
            silences = ward_silences(alertmanager.url, acked)
            assert [(x["createdBy"], x["comment"], x["status"]["state"]) for x in silences] == [
                ("noc-an", "Đã cử kỹ thuật viên", "active")]
            silence_id = silences[0]["id"]
            scenario[acked] = "link_cut"

            def outage_silenced() -> bool:
                return any(a["labels"].get("ward") == acked
                           and a["labels"].get("condition") == "outage"
                           and a["status"]["silencedBy"] == [silence_id]
                           for a in alertmanager.alerts())

            wait_until(outage_silenced, 30, interval=0.5, what="the outage alert silenced")
            time.sleep(2 * seconds(routing["route"]["group_interval"]))
            assert not [m for m in smtp.mails
                        if ward_of(m.message["Subject"]) == acked and m.at > acked_at]
            assert not [m for m in telegram.messages
                        if ward_of(m.text.splitlines()[0]) == acked and m.at > acked_at]

            # Ready again: the collector closes the ward's case and expires its silence.
            scenario[acked] = "healthy"
            prometheus.wait_for(f'sansang_ward_ready{{ward="{acked}"}} == 1', 30)
            wait_until(lambda: not ward_silences(alertmanager.url, acked), 30, interval=0.5,
                       what="the silence expired once the ward is ready")
            _, body = http_get(collector.url + "/api/v1/wards")
            assert next(w for w in json.loads(body)["wards"] if w["code"] == acked)["case"] \
                is None

            # 5. A silence made in Alertmanager's own UI (its API, as the UI does) for a
            # failing ward shows on the dispatch page, with its author.
            other = next(code for code, name in scenarios.items() if name == "platform_down")
            status, _ = http_post_json(alertmanager.url + "/api/v2/silences", {
                "matchers": [{"name": "ward", "value": other, "isRegex": False,
                              "isEqual": True}],
                "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
                "createdBy": "noc-binh", "comment": "bảo trì hệ thống"})
            assert status == 200

            def shown_on_dispatch_page() -> bool:
                page = http_get(collector.url + "/dispatch")[1].decode()
                row = re.search(rf'id="case-{other}".*?</tr>', page, re.S)
                return bool(row) and "Alertmanager: đã tắt thông báo (bởi noc-binh" in row[0]

            wait_until(shown_on_dispatch_page, 30, interval=1,
                       what="Alertmanager's own silence on the dispatch page")
