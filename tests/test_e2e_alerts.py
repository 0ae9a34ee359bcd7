"""Readiness end to end: collector verdicts, Prometheus alerts and Alertmanager agree.

A lab of 22 wards: 21 simulated with fixed faults (healthy, lossy, slow, silent,
below contract, UPS on battery, a platform down, a device down, slow DNS) and one
measured by a real agent in a network namespace. The rules are the generated
ones, compressed in time by 1/30 (alerts.timescale) so minutes become seconds;
every promise below is stated in those compressed terms.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from alerts.routing import alertmanager_config
from alerts.rules import rule_groups
from alerts.timescale import scale_routing, scale_rules, seconds
from demo.fleet import simulated_ward
from demo.inventory import demo_inventory_document
from inventory import DEFAULT_INVENTORY, load_inventory
from inventory.criteria import CHECKS_BY_NAME
from tests.lab.bridge import bridged
from tests.lab.netns import Lab, python_command
from tests.lab.servers import (
    ROOT,
    http_get,
    running_alertmanager,
    running_collector,
    running_fleet,
    running_prometheus,
    running_webhook_receiver,
    wait_until,
)

TIME_SCALE = 1 / 30
REPORT_INTERVAL = 2.0
FAULTS = ["lossy", "lossy", "slow", "silent", "below_contract", "ups_on_battery",
          "platform_down", "device_down", "dns_slow"]
HEALTHY = 12
LOSS_FOR = seconds(CHECKS_BY_NAME["loss"].for_) * TIME_SCALE


def lab_inventory(path: Path) -> tuple[Path, list[str], str]:
    shipped = load_inventory(DEFAULT_INVENTORY)
    codes = list(shipped.wards)[:HEALTHY + len(FAULTS) + 1]
    real_ward = codes[-1]
    urls = {p: f"http://127.0.0.1:9/{p}" for p in shipped.platforms}
    document = demo_inventory_document(shipped, real_ward, urls)
    del document["wards_csv"]
    document["wards"] = {
        code: {**document["wards"][code],
               **shipped.wards[code].model_dump(include={"name", "kind", "province",
                                                         "cluster"})}
        for code in codes
    }
    # Only the teams of these wards' clusters (and the NOC): a team must name a cluster
    # the ward list has.
    clusters = {shipped.wards[code].cluster for code in codes}
    document["teams"] = {team_id: team for team_id, team in document["teams"].items()
                         if team.get("everything") or set(team.get("clusters", ())) <= clusters}
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path, codes[:-1], real_ward


def firing_checks(prometheus: Any) -> dict[str, set[str]]:
    status, body = http_get(prometheus.url + "/api/v1/alerts")
    assert status == 200
    import json

    out: dict[str, set[str]] = {}
    for alert in json.loads(body)["data"]["alerts"]:
        labels = alert["labels"]
        if alert["state"] == "firing" and labels["alertname"] != "WardNotReady":
            out.setdefault(labels["ward"], set()).add(labels["check"])
    return out


def failing_checks(collector_url: str) -> dict[str, set[str]]:
    import json

    status, body = http_get(collector_url + "/api/v1/wards")
    assert status == 200
    return {w["code"]: {f["check"] for f in w["failing"]}
            for w in json.loads(body)["wards"] if w["failing"]}


def test_alerts_agree_with_verdicts_inhibit_and_follow_a_broken_link(tmp_path: Path) -> None:
    from tests.lab.fixtures_net import require_lab

    require_lab()
    inventory_path, simulated, real_ward = lab_inventory(tmp_path / "inventory.yaml")
    inventory = load_inventory(inventory_path)
    profiles = dict(zip(simulated, ["healthy"] * HEALTHY + FAULTS, strict=True))
    silent_ward = next(code for code, p in profiles.items() if p == "silent")

    rules_path = tmp_path / "rules.yml"
    rules_path.write_text(yaml.safe_dump(scale_rules(rule_groups(), TIME_SCALE),
                                         allow_unicode=True))

    with (
        running_webhook_receiver() as webhook,
        running_collector(tmp_path / "collector", list(inventory.wards),
                          inventory=inventory_path,
                          extra_args=["--report-interval", str(REPORT_INTERVAL)]) as collector,
        Lab() as lab,
    ):
        # Every alert to one JSON webhook (tests/test_e2e_notifications.py covers the
        # e-mail and Telegram receivers).
        routing = alertmanager_config(inventory)
        routing["route"]["receiver"] = "webhook"
        routing["route"].pop("routes")
        routing["receivers"] = [{"name": "webhook", "webhook_configs": [
            {"url": webhook.url + "/webhook", "send_resolved": True}]}]
        routing = scale_routing(routing, TIME_SCALE)
        group_interval = seconds(routing["route"]["group_interval"])

        fleet = [simulated_ward(inventory, code, collector.tokens[code], profile)
                 for code, profile in profiles.items()]
        # The silent ward reports once, well before Prometheus starts: it is silent
        # from Prometheus's first look, so its silence fires before its loss can.
        import asyncio

        from demo.fleet import run_fleet

        asyncio.run(run_fleet(collector.url, [f for f in fleet if f.profile == "silent"],
                              0, rounds=1))
        time.sleep(3 * REPORT_INTERVAL + 1)

        # The real ward: an agent in a namespace, pinging the core through a veth,
        # pushing to the host's collector over a loopback-only Unix-socket bridge.
        core = lab.add_host("core")
        ward = lab.add_host("ward", unprivileged_ping=True)
        lab.link(core, ward)
        with bridged(lab, ward, collector.url, tmp_path) as collector_in_ward:
            agent_config = tmp_path / "agent.yaml"
            agent_config.write_text(yaml.safe_dump({
                "ward": real_ward, "collector_url": collector_in_ward,
                "token_file": str(collector.token_file(real_ward)),
                "icmp": {"targets": [core.address_toward(ward)], "count": 10,
                         "packet_interval_seconds": 0.05, "timeout_seconds": 0.2,
                         "interval_seconds": REPORT_INTERVAL},
                "spool": {"path": str(tmp_path / "agent-spool.sqlite3")},
                "push": {"interval_seconds": 0.5}, "jitter_seconds": 0.1,
            }))
            with (tmp_path / "agent.log").open("ab") as agent_log:
                lab.start(ward, python_command(str(ROOT / "agent.py"), "run", "--config",
                                               str(agent_config)),
                          stdout=agent_log, stderr=subprocess.STDOUT)

            with (
                running_alertmanager(tmp_path / "alertmanager", routing,
                                     ROOT / "alerts" / "templates") as alertmanager,
                running_prometheus(tmp_path / "prometheus",
                                   [collector.url.removeprefix("http://")],
                                   scrape_interval="1s", rule_files=[rules_path],
                                   alertmanager=alertmanager.url.removeprefix("http://"),
                                   ) as prometheus,
                running_fleet(collector.url, [f for f in fleet if f.profile != "silent"],
                              REPORT_INTERVAL),
            ):
                # 1. Every ward's firing alerts name exactly its failing checks.
                expected_faults = {code for code, p in profiles.items() if p != "healthy"}
                state: dict[str, Any] = {}

                def agree() -> bool:
                    state["firing"] = firing_checks(prometheus)
                    state["failing"] = failing_checks(collector.url)
                    return (state["firing"] == state["failing"]
                            and set(state["failing"]) == expected_faults)

                try:
                    # The slowest alert (bandwidth: 30 min, 60 s here) bounds the wait.
                    wait_until(agree, 150, interval=1.0, what="alerts agreeing with verdicts")
                except TimeoutError:
                    raise AssertionError(
                        f"firing {state.get('firing')} != failing {state.get('failing')}"
                    ) from None
                # The silent ward's old loss is stale, not failing, and no longer exported:
                # neither the verdict nor a rule judges old data as if it were current.
                assert state["failing"][silent_ward] == {"agent"}
                metrics = http_get(collector.url + "/metrics")[1].decode()
                assert f'sansang_icmp_loss_ratio{{ward="{silent_ward}"' not in metrics
                assert real_ward not in state["failing"]

                # 2. The silent ward's other alerts (its verdict) are inhibited at the
                # Alertmanager...
                def silent_ward_alerts() -> list[dict[str, Any]]:
                    return [a for a in alertmanager.alerts()
                            if a["labels"].get("ward") == silent_ward]

                wait_until(lambda: {a["labels"]["alertname"] for a in silent_ward_alerts()}
                           >= {"WardAgentSilent", "WardNotReady"}, 60,
                           what="silent ward's alerts at the Alertmanager")
                for alert in silent_ward_alerts():
                    if alert["labels"]["alertname"] == "WardAgentSilent":
                        assert alert["status"]["state"] == "active"
                    else:
                        assert alert["status"]["state"] == "suppressed", alert
                        assert alert["status"]["inhibitedBy"], alert
                # ...and never reach the receiver, which did get the silence itself.
                delivered = {a["labels"]["alertname"] for _, a in webhook.alerts()
                             if a["labels"].get("ward") == silent_ward}
                assert delivered == {"WardAgentSilent"}

                # 3. Breaking the real ward's link pages within the promised time...
                round_seconds = 10 * (0.05 + 0.2) + 1
                promise = (REPORT_INTERVAL + round_seconds + 0.5  # a round, then a push
                           + 1 + 1  # a scrape, an evaluation
                           + LOSS_FOR + group_interval + 2)  # for:, the ward's group, slack
                drop = lab.random_loss(core, 50)
                broken_at = time.time()

                def notified(status: str) -> float | None:
                    for at, alert in webhook.alerts():
                        labels = alert["labels"]
                        if (labels.get("ward") == real_ward and alert["status"] == status
                                and labels["alertname"] == "WardPacketLoss"
                                and at >= broken_at):
                            return at
                    return None

                wait_until(lambda: notified("firing") is not None, promise + 30,
                           what="WardPacketLoss at the webhook")
                fired_after = (notified("firing") or 0) - broken_at
                assert fired_after <= promise, (fired_after, promise)

                # ...and restoring it resolves the alert once the loss window has passed.
                drop.remove()
                restored_at = time.time()
                # The marginal loss condition: its window must empty, then it keeps
                # firing for keep_firing_for (so a loss at its limit does not flap).
                marginal = next(c for c in CHECKS_BY_NAME["loss"].conditions
                                if c.name == "loss")
                assert marginal.window and marginal.keep_firing_for
                window = seconds(marginal.window) * TIME_SCALE
                keep = seconds(marginal.keep_firing_for) * TIME_SCALE
                resolve_promise = (REPORT_INTERVAL + round_seconds + 0.5 + window + keep
                                   + 1 + 1 + group_interval + 2)

                def resolved() -> float | None:
                    for at, alert in webhook.alerts():
                        labels = alert["labels"]
                        if (labels.get("ward") == real_ward and alert["status"] == "resolved"
                                and labels["alertname"] == "WardPacketLoss"
                                and at >= restored_at):
                            return at
                    return None

                wait_until(lambda: resolved() is not None, resolve_promise + 30,
                           what="WardPacketLoss resolved at the webhook")
                resolved_after = (resolved() or 0) - restored_at
                assert resolved_after <= resolve_promise, (resolved_after, resolve_promise)
                print(f"WardPacketLoss fired {fired_after:.1f} s after the break "
                      f"(promise {promise:.1f} s), resolved {resolved_after:.1f} s after the "
                      f"repair (promise {resolve_promise:.1f} s)")
