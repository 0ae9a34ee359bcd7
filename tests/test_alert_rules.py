"""The generated Prometheus rules and Alertmanager configuration, checked by promtool and amtool."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts import generate
from alerts.promql import limit_groups
from alerts.rules import RECORDING_RULES, rule_groups
from inventory.criteria import (
    CHECKS,
    CHECKS_BY_NAME,
    NOT_READY,
    agent_silent_after_seconds,
    evaluate_ward,
)
from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.model import ThresholdOverrides
from probes.series import sample
from tests.lab.require import require_binary
from tests.lab.servers import free_port, http_get, http_post_json, spawn, stop_process, wait_until

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "alerts"
RULES = ALERTS / "rules" / "sansang-alerts.yml"
UNIT_TESTS = ALERTS / "tests" / "sansang-alerts.test.yml"
ALERTMANAGER = ALERTS / "alertmanager.yml"
DESIGN_ALERTS = {
    "WardAgentSilent", "WardHighLatency", "WardHighJitter", "WardPacketLoss",
    "WardBandwidthBelowContract", "WardPlatformUnreachable", "WardDnsSlow",
    "WardDeviceDown", "WardUpsOnBattery", "WardNotReady",
    # Beyond the design's minimum set: the clock check.
    "WardClockSkew",
}


def run(*command: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def alert_rules(document: dict) -> list[dict]:
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def test_checked_in_files_are_what_the_generator_writes():
    result = run(sys.executable, "-m", "alerts.generate", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stale_file_fails_the_check_with_a_diff(tmp_path):
    assert generate.main(["--output-dir", str(tmp_path)]) == 0
    rules = tmp_path / "rules" / "sansang-alerts.yml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("> 0.1)", "> 0.2)"),
                     encoding="utf-8")
    result = run(sys.executable, "-m", "alerts.generate", "--check",
                 "--output-dir", str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("-") and "> 0.2)" in line for line in lines)
    assert any(line.startswith("+") and "> 0.1)" in line for line in lines)


def test_promtool_accepts_the_rules():
    promtool = require_binary("promtool")["promtool"]
    result = run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass():
    promtool = require_binary("promtool")["promtool"]
    result = run(promtool, "test", "rules", str(UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_have_every_alert_of_the_design_with_its_labels_and_annotations():
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = alert_rules(document)
    assert {rule["alert"] for rule in rules} == DESIGN_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        # ward comes from the expression; cluster and name from the join with ward info.
        assert "group_left(cluster, name) sansang_ward_info" in rule["expr"]
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert (ROOT / rule["annotations"]["runbook_url"]).is_file()
    records = [rule["record"] for rule in document["groups"][0]["rules"]]
    assert records == [record for record, _, _ in RECORDING_RULES]
    assert all(record.startswith("sansang:") for record in records)


def test_every_alert_rule_fires_in_a_unit_test_and_every_alert_has_a_quiet_case():
    tests = yaml.safe_load(UNIT_TESTS.read_text(encoding="utf-8"))["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}
    fired = {
        (case["alertname"], alert["exp_labels"].get("condition", alert["exp_labels"]["severity"]))
        for case in cases for alert in case["exp_alerts"]
    }
    expected = {(check.alert, condition.name) for check in CHECKS for condition in check.conditions}
    expected |= {(check.alert, check.missing.name) for check in CHECKS if check.missing}
    expected |= {(NOT_READY.alert, "warning"), (NOT_READY.alert, "critical")}
    assert fired == expected
    assert quiet == DESIGN_ALERTS


def test_a_changed_threshold_changes_both_the_verdict_and_the_rule(tmp_path):
    shipped = load_inventory(DEFAULT_INVENTORY)
    ward = shipped.wards["25747"].model_copy(
        update={"thresholds": ThresholdOverrides(latency_avg_seconds=0.05)})
    inventory = shipped.model_copy(update={"wards": {**shipped.wards, "25747": ward}})
    samples = [sample("sansang_icmp_rtt_avg_seconds", {"ward": "25747", "target": "t"}, 0.07)]

    def verdict(thresholds):
        return evaluate_ward(samples, thresholds, 1.75e9,
                             agent_silent_after_seconds(thresholds))["latency"].ok

    assert verdict(shipped.thresholds_for("25747")) is True
    assert verdict(inventory.thresholds_for("25747")) is False

    def latency_expr(inv):
        rules = alert_rules(rule_groups(inv))
        return next(r["expr"] for r in rules if r["alert"] == "WardHighLatency")

    assert 'sansang_icmp_rtt_avg_seconds{ward="25747"} > 0.05' not in latency_expr(shipped)
    changed_expr = latency_expr(inventory)
    assert 'sansang_icmp_rtt_avg_seconds{ward="25747"} > 0.05' in changed_expr
    assert 'sansang_icmp_rtt_avg_seconds{ward!~"25747|26968"} > 0.1' in changed_expr

    # And Prometheus agrees: the same 70 ms now fires for that ward.
    promtool = require_binary("promtool")["promtool"]
    (tmp_path / "rules.yml").write_text(generate.dump(rule_groups(inventory)), encoding="utf-8")
    (tmp_path / "test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'sansang_ward_info{ward="25747",name="P",cluster="C"}',
                 "values": "1x20"},
                {"series": 'sansang_icmp_rtt_avg_seconds{ward="25747",target="t"}',
                 "values": "0.07x20"},
            ],
            "alert_rule_test": [{
                "eval_time": "15m", "alertname": "WardHighLatency",
                "exp_alerts": [{
                    "exp_labels": {"ward": "25747", "name": "P", "cluster": "C", "target": "t",
                                   "severity": "warning", "check": "latency",
                                   "condition": "rtt_avg"},
                    "exp_annotations": {
                        "summary": "P: độ trễ trung bình đến t là 70ms, vượt ngưỡng 50ms",
                        "description": "Ward P (25747, C): average round-trip time to t is "
                                       "70ms, above the limit of 50ms. "
                                       + CHECKS_BY_NAME["latency"].hint_en,
                        "runbook_url": "docs/runbooks/WardHighLatency.md",
                    },
                }],
            }],
        }],
    }, allow_unicode=True), encoding="utf-8")
    result = run(promtool, "test", "rules", str(tmp_path / "test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_overridden_wards_share_a_term_per_limit():
    shipped = load_inventory(DEFAULT_INVENTORY)
    wards = dict(shipped.wards)
    for code in ("25747", "25750"):
        wards[code] = wards[code].model_copy(
            update={"thresholds": ThresholdOverrides(latency_avg_seconds=0.12)})
    inventory = shipped.model_copy(update={"wards": wards})
    groups = limit_groups(CHECKS_BY_NAME["latency"].conditions[0], inventory)
    assert [(g.limit, g.matcher) for g in groups] == [
        (0.1, 'ward!~"25747|25750|26968"'), (0.12, 'ward=~"25747|25750|26968"')]


def test_amtool_accepts_the_alertmanager_configuration():
    amtool = require_binary("amtool")["amtool"]
    result = run(amtool, "check-config", str(ALERTMANAGER))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_reach_the_noc_and_the_team_of_the_ward_cluster():
    amtool = require_binary("amtool")["amtool"]
    config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    assert config["route"]["group_by"] == ["ward"]
    result = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                 "alertname=WardHighLatency", "ward=26968", "cluster=Quận Tân Bình")
    assert result.stdout.strip() == "noc,team-quan-tan-binh", result.stderr
    result = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                 "alertname=WardHighLatency", "ward=99999")
    assert result.stdout.strip() == "noc", result.stderr
    urls = re.findall(r"(?:url|api_url): (\S+)", ALERTMANAGER.read_text(encoding="utf-8"))
    assert urls and all(url.startswith("http://127.0.0.1:") for url in urls)


def test_a_silent_agent_inhibits_the_rest_of_its_ward():
    config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    assert {
        "source_matchers": ['alertname="WardAgentSilent"'],
        "target_matchers": ['alertname!="WardAgentSilent"'],
        "equal": ["ward"],
    } in config["inhibit_rules"]


def test_the_chat_message_names_the_ward_the_problem_and_the_runbook(tmp_path):
    amtool = require_binary("amtool")["amtool"]
    data = {
        "receiver": "team-quan-tan-binh", "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "WardBandwidthBelowContract", "ward": "26968",
                       "name": "Phường Tân Sơn Nhất", "cluster": "Quận Tân Bình",
                       "link": "main", "severity": "warning"},
            "annotations": {
                "summary": "Phường Tân Sơn Nhất: tốc độ tải xuống trên đường truyền main chỉ "
                           "đạt 42Mbit/s, cần tối thiểu 80Mbit/s",
                "description": "Ward Phường Tân Sơn Nhất (26968, Quận Tân Bình): download on "
                               "link main is 42Mbit/s; it needs at least 80Mbit/s.",
                "runbook_url": "docs/runbooks/WardBandwidthBelowContract.md",
            },
            "startsAt": "2025-06-20T08:15:00Z", "endsAt": "0001-01-01T00:00:00Z",
        }],
        "groupLabels": {"ward": "26968"},
        "commonLabels": {"ward": "26968", "name": "Phường Tân Sơn Nhất",
                         "cluster": "Quận Tân Bình"},
        "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
    }
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")

    def render(template: str) -> str:
        result = run(amtool, "template", "render", f"--template.glob={ALERTS}/templates/*.tmpl",
                     f"--template.text={{{{ template \"{template}\" . }}}}",
                     f"--template.data={tmp_path / 'data.json'}")
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert render("sansang.chat.title").strip() == (
        "🔴 1 sự cố — Phường Tân Sơn Nhất (26968, Quận Tân Bình)")
    text = render("sansang.chat.text")
    assert "42Mbit/s, cần tối thiểu 80Mbit/s" in text
    assert "docs/runbooks/WardBandwidthBelowContract.md" in text


class _Webhooks(BaseHTTPRequestHandler):
    """Records every POST body by path."""

    received: list[tuple[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _alert(alertname: str, ward: str, name: str, cluster: str, **labels: str) -> dict:
    return {
        "labels": {"alertname": alertname, "ward": ward, "name": name, "cluster": cluster,
                   "severity": "warning", **labels},
        "annotations": {"summary": f"{name}: {alertname}", "description": "d",
                        "runbook_url": f"docs/runbooks/{alertname}.md"},
    }


@pytest.mark.servers
def test_alertmanager_sends_each_ward_once_and_holds_back_a_silent_wards_other_alerts(tmp_path):
    binary = require_binary("prometheus-alertmanager")["prometheus-alertmanager"]
    received: list[tuple[str, Any]] = []
    handler = type("Handler", (_Webhooks,), {"received": received})
    hooks = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    hook_base = f"http://127.0.0.1:{hooks.server_address[1]}"

    # The shipped configuration, pointed at the recorder and with short waits.
    text = ALERTMANAGER.read_text(encoding="utf-8").replace("http://127.0.0.1:9095", hook_base)
    config = yaml.safe_load(text.replace("http://127.0.0.1:9096", hook_base))
    config["route"].update(group_wait="1s", group_interval="1s")
    config["templates"] = [str(ALERTS / "templates" / "*.tmpl")]
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                               encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = spawn([binary, f"--config.file={tmp_path / 'alertmanager.yml'}",
                     f"--storage.path={tmp_path / 'data'}",
                     f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                    tmp_path / "alertmanager.log")
    try:
        def ready() -> bool:
            assert process.poll() is None, (tmp_path / "alertmanager.log").read_text()
            try:
                return http_get(url + "/-/ready", timeout=1)[0] == 200
            except OSError:
                return False

        wait_until(ready, 30, what="alertmanager /-/ready")
        silent_ward = ("26968", "Phường Tân Sơn Nhất", "Quận Tân Bình")
        other_ward = ("25747", "Phường Thủ Dầu Một", "Thành phố Thủ Dầu Một")
        status, body = http_post_json(url + "/api/v2/alerts", [
            _alert("WardAgentSilent", *silent_ward, check="agent", condition="silent"),
            _alert("WardHighLatency", *silent_ward, target="10.77.0.1"),
            _alert("WardHighLatency", *other_ward, target="10.77.0.1"),
            _alert("WardPacketLoss", *other_ward, target="10.77.0.1"),
        ])
        assert status == 200, body

        def everyone_heard() -> bool:
            paths = [path for path, _ in received]
            return paths.count("/alerts/noc") >= 2 and {
                "/alerts/team/quan-tan-binh", "/hooks/team/thanh-pho-thu-dau-mot"} <= set(paths)

        wait_until(everyone_heard, 30, what="webhook calls for both wards")
    finally:
        stop_process(process)
        hooks.shutdown()
        hooks.server_close()

    by_path: dict[str, list[Any]] = {}
    for path, payload in received:
        by_path.setdefault(path, []).append(payload)
    noc = {p["groupLabels"]["ward"]: sorted(a["labels"]["alertname"] for a in p["alerts"])
           for p in by_path["/alerts/noc"]}
    assert noc == {"26968": ["WardAgentSilent"],
                   "25747": ["WardHighLatency", "WardPacketLoss"]}
    team = by_path["/alerts/team/quan-tan-binh"]
    assert [a["labels"]["alertname"] for p in team for a in p["alerts"]] == ["WardAgentSilent"]
    chat = by_path["/hooks/team/thanh-pho-thu-dau-mot"][0]["attachments"][0]
    assert chat["title"] == "🔴 2 sự cố — Phường Thủ Dầu Một (25747, Thành phố Thủ Dầu Một)"
    assert "docs/runbooks/WardPacketLoss.md" in chat["text"]
