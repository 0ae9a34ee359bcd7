"""The generated Prometheus rules and Alertmanager configuration, checked by promtool and amtool."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from alerts import generate
from alerts.routing import BOT_TOKEN_PLACEHOLDER
from alerts.rules import DEFAULT_RUNBOOK_BASE_URL, RECORDING_RULES, rule_groups
from inventory.criteria import (
    CHECKS,
    CHECKS_BY_NAME,
    NOT_READY,
    agent_silent_after_seconds,
    evaluate_ward,
    limit_samples,
)
from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.model import ThresholdOverrides
from probes.series import sample
from tests.lab.require import require_binary

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
    rules.write_text(rules.read_text(encoding="utf-8").replace("[10m]", "[20m]"),
                     encoding="utf-8")
    result = run(sys.executable, "-m", "alerts.generate", "--check",
                 "--output-dir", str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("-") and "[20m]" in line for line in lines)
    assert any(line.startswith("+") and "[10m]" in line for line in lines)


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
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url", "ward_url"}
        runbook = rule["annotations"]["runbook_url"]
        assert runbook.startswith(DEFAULT_RUNBOOK_BASE_URL + "/")
        assert (ROOT / "docs" / "runbooks" / runbook.rsplit("/", 1)[1]).is_file()
        assert rule["annotations"]["ward_url"].endswith("/ward/{{ $labels.ward }}")
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


def test_an_override_changes_the_verdict_and_the_limit_series_but_not_the_rule(tmp_path):
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

    def latency_limit(inv):
        return next(value for _, labels, value in limit_samples(inv.thresholds_for("25747"))
                    if dict(labels) == {"check": "latency", "condition": "rtt_avg"})

    assert (latency_limit(shipped), latency_limit(inventory)) == (0.1, 0.05)
    # The rules never see the inventory: one rule per condition, whatever the overrides.
    latency_rules = [r for r in alert_rules(rule_groups()) if r["alert"] == "WardHighLatency"]
    assert len(latency_rules) == 1
    assert 'sansang_ward_limit{check="latency",condition="rtt_avg"}' in latency_rules[0]["expr"]

    # And Prometheus agrees: the same 70 ms fires against that ward's own limit series.
    promtool = require_binary("promtool")["promtool"]
    (tmp_path / "rules.yml").write_text(generate.dump(rule_groups()), encoding="utf-8")
    (tmp_path / "test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'sansang_ward_info{ward="25747",name="P",cluster="C"}',
                 "values": "1x20"},
                {"series": 'sansang_ward_limit{ward="25747",check="latency",condition="rtt_avg"}',
                 "values": f"{latency_limit(inventory)}x20"},
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
                        "summary": "P: độ trễ trung bình đến t là 70 ms, vượt ngưỡng 50 ms",
                        "description": "Ward P (25747, C): average round-trip time to t is "
                                       "70 ms, above the limit of 50 ms. "
                                       + CHECKS_BY_NAME["latency"].hint_en,
                        "runbook_url": DEFAULT_RUNBOOK_BASE_URL + "/WardHighLatency.md",
                        "ward_url": "https://sansang.hcmc.invalid/ward/25747",
                    },
                }],
            }],
        }],
    }, allow_unicode=True), encoding="utf-8")
    result = run(promtool, "test", "rules", str(tmp_path / "test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


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
    assert result.stdout.strip() == "team-noc,team-quan-tan-binh", result.stderr
    result = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                 "alertname=WardHighLatency", "ward=99999")
    assert result.stdout.strip() == "team-noc", result.stderr


def test_every_team_of_the_inventory_is_a_receiver_with_its_own_addresses():
    inventory = load_inventory(DEFAULT_INVENTORY)
    config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    receivers = {r["name"]: r for r in config["receivers"]}
    for team_id, team in inventory.teams.items():
        receiver = receivers[f"team-{team_id}"]
        assert receiver["email_configs"][0]["to"] == ", ".join(team.emails)
        assert receiver["telegram_configs"][0]["chat_id"] == team.telegram_chat_id
    # No secret in the committed file: a file for the password, a placeholder for the token.
    text = ALERTMANAGER.read_text(encoding="utf-8")
    assert config["global"]["smtp_auth_password_file"].startswith("/")
    assert "smtp_auth_password:" not in text
    tokens = {t["bot_token"] for r in config["receivers"] for t in r.get("telegram_configs", [])}
    assert tokens == {BOT_TOKEN_PLACEHOLDER}
    urls = re.findall(r"(?:url|api_url): (\S+)", text)
    assert urls and all(url.startswith("http://127.0.0.1:") for url in urls)


def test_the_deploy_step_writes_the_bot_token_in_mode_0600(tmp_path):
    from alerts import deploy

    (tmp_path / "token").write_text("123456:abc-DEF\n", encoding="utf-8")
    output = tmp_path / "alertmanager.yml"
    assert deploy.main(["--bot-token-file", str(tmp_path / "token"),
                        "--output", str(output)]) == 0
    assert output.stat().st_mode & 0o777 == 0o600
    text = output.read_text(encoding="utf-8")
    assert BOT_TOKEN_PLACEHOLDER not in text and "bot_token: 123456:abc-DEF" in text
    (tmp_path / "token").write_text("two words", encoding="utf-8")
    assert deploy.main(["--bot-token-file", str(tmp_path / "token"),
                        "--output", str(tmp_path / "other.yml")]) == 1
    assert not (tmp_path / "other.yml").exists()


def test_a_silent_agent_and_an_outage_inhibit_what_they_make_redundant():
    config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    assert {
        "source_matchers": ['alertname="WardAgentSilent"'],
        "target_matchers": ['alertname!="WardAgentSilent"'],
        "equal": ["ward"],
    } in config["inhibit_rules"]
    assert {
        "source_matchers": ['alertname="WardPacketLoss"', 'condition="outage"'],
        "target_matchers": ['alertname="WardPacketLoss"', 'condition=~"heavy|loss"'],
        "equal": ["ward"],
    } in config["inhibit_rules"]


def test_the_message_names_the_ward_the_problem_the_runbook_and_the_page(tmp_path):
    amtool = require_binary("amtool")["amtool"]
    data = {
        "receiver": "team-quan-tan-binh", "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "WardBandwidthBelowContract", "ward": "26968",
                       "name": "Phường Tân Sơn Nhất", "cluster": "Quận Tân Bình",
                       "link": "main", "severity": "warning"},
            "annotations": {
                "summary": "Phường Tân Sơn Nhất: tốc độ tải xuống trên đường truyền chính "
                           "(VNPT) chỉ đạt 42 Mbit/s, cần tối thiểu 80 Mbit/s",
                "description": "Ward Phường Tân Sơn Nhất (26968, Quận Tân Bình): download on "
                               "the main (VNPT) link is 42 Mbit/s; it needs at least 80 Mbit/s.",
                "runbook_url": DEFAULT_RUNBOOK_BASE_URL + "/WardBandwidthBelowContract.md",
                "ward_url": "https://sansang.hcmc.invalid/ward/26968",
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

    assert render("sansang.email.subject.vi").strip() == (
        "[sansang] 🔴 1 sự cố — Phường Tân Sơn Nhất (26968, Quận Tân Bình)")
    text = render("sansang.text.vi")
    assert "42 Mbit/s, cần tối thiểu 80 Mbit/s" in text
    assert "• [cảnh báo] Phường Tân Sơn Nhất" in text  # the severity in words
    assert "Từ: 15:15 20/06/2025 (giờ Việt Nam)" in text
    assert DEFAULT_RUNBOOK_BASE_URL + "/WardBandwidthBelowContract.md" in text
    assert "Trang của phường: https://sansang.hcmc.invalid/ward/26968" in text
    assert "download on link main" not in text
    assert "download on the main (VNPT) link" in render("sansang.text.en")
