"""No secret reaches a log, a page, a metric, an error or an output, and ``Secret`` never prints.

One round with every kind of secret configured the way operators configure
them: a ward token issued by provisioning, an SNMP community in a file, SNMPv3
keys in environment variables, the NOC's basic-auth password, and wrong values
of each. Real snmpd, a real collector and agent (both logging at DEBUG), the
probe and check command lines; then every byte they wrote or answered is
searched for every secret value.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from probes.bandwidth import BandwidthConfig
from probes.secret import MASK, Secret
from probes.snmp import SnmpConfig
from tests.lab.fixtures_snmp import SnmpAgent
from tests.lab.servers import (
    ROOT,
    free_port,
    http_get,
    http_post_json,
    running_collector,
    spawn,
    stop_process,
    wait_until,
)

WARD = "10001"
AUTH_ENV, PRIV_ENV = "SANSANG_TEST_V3_AUTH_KEY", "SANSANG_TEST_V3_PRIV_KEY"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def run_cli(args: list[str], stdin: str | None = None,
            timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def inventory_text(snmp_port: int, community_file: Path, wrong_community_file: Path) -> str:
    address = f"127.0.0.1:{snmp_port}"
    return yaml.safe_dump({
        "city": "Test City",
        "platforms": {p: {"url": f"http://127.0.0.1:9/{p}"}
                      for p in ("video", "documents", "feedback1022", "procedures")},
        "credentials": {
            "lab-v2c": {"version": "2c", "community_file": str(community_file)},
            "lab-v3": {"version": "3", "user": "monitor", "auth_protocol": "sha",
                       "auth_key_env": AUTH_ENV, "priv_protocol": "aes",
                       "priv_key_env": PRIV_ENV},
            "wrong-v2c": {"version": "2c", "community_file": str(wrong_community_file)},
        },
        "wards": {WARD: {
            "name": "Phường Một", "kind": "phường", "province": "Tỉnh Thử", "cluster": "Cụm A",
            # Every probe stays on loopback, the resolver too.
            "resolver": "127.0.0.1",
            "devices": [
                {"id": "sw1", "role": "switch", "address": address, "credentials": "lab-v2c",
                 "critical": True},
                {"id": "srv1", "role": "server", "address": address, "credentials": "lab-v3",
                 "critical": True},
                {"id": "sw2", "role": "switch", "address": address,
                 "credentials": "wrong-v2c"},
            ],
        }},
    }, allow_unicode=True)


def device_up(metrics: str, device: str) -> str | None:
    for line in metrics.splitlines():
        if line.startswith("sansang_device_up{") and f'device="{device}"' in line:
            return line.rsplit(" ", 1)[1]
    return None


def test_no_configured_secret_appears_in_any_log_page_metric_error_or_output(
    tmp_path: Path, snmpd_agent: SnmpAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    v3 = snmpd_agent.users["sha-aes"]
    assert snmpd_agent.community is not None
    password = secrets.token_urlsafe(18)
    configured = {
        "community": snmpd_agent.community,
        "v3 auth key": v3.auth_key,
        "v3 priv key": v3.priv_key,
        "wrong community": f"wrong-community-{secrets.token_hex(6)}",
        "wrong v3 auth key": f"wrong-auth-{secrets.token_hex(6)}",
        "wrong v3 priv key": f"wrong-priv-{secrets.token_hex(6)}",
        "basic-auth password": password,
        "basic-auth header": basic("noc", password)["Authorization"].split(" ", 1)[1],
    }
    collector_dir, agent_dir = tmp_path / "collector", tmp_path / "agent"
    collector_dir.mkdir()
    community_file, wrong_file = tmp_path / "community", tmp_path / "wrong-community"
    community_file.write_text(configured["community"] + "\n")
    wrong_file.write_text(configured["wrong community"] + "\n")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(inventory_text(snmpd_agent.port, community_file, wrong_file),
                         encoding="utf-8")
    monkeypatch.setenv(AUTH_ENV, v3.auth_key)
    monkeypatch.setenv(PRIV_ENV, v3.priv_key)
    outputs: dict[str, str] = {}  # where -> what was written or answered there

    def keep(where: str, result: subprocess.CompletedProcess[str]) -> None:
        outputs[f"{where} (stdout)"] = result.stdout
        outputs[f"{where} (stderr)"] = result.stderr

    hashed = run_cli(["-m", "collector", "hash-password", "--user", "noc"], stdin=password + "\n")
    keep("hash-password", hashed)
    assert hashed.returncode == 0, hashed.stderr
    users = collector_dir / "users.yaml"
    users.write_text(hashed.stdout)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provisioned = run_cli(["-m", "collector", "provision", WARD, "--tokens",
                           str(collector_dir / "tokens.yaml"), "--collector-url", url,
                           "--out", str(agent_dir), "--inventory", str(inventory)])
    keep("provision", provisioned)
    assert provisioned.returncode == 0, provisioned.stderr
    configured["ward token"] = Secret.from_file(agent_dir / "token").reveal()
    spare = run_cli(["-m", "collector", "token", "issue", WARD, "--tokens",
                     str(tmp_path / "spare-tokens.yaml"), "--inventory", str(inventory),
                     "--out", str(tmp_path / "spare-token")])
    keep("token issue --out", spare)
    assert spare.returncode == 0, spare.stderr
    configured["spare ward token"] = Secret.from_file(tmp_path / "spare-token").reveal()

    # Rounds every few seconds, so the devices show their states soon.
    config = yaml.safe_load((agent_dir / "agent.yaml").read_text(encoding="utf-8"))
    outputs["provisioned agent.yaml"] = (agent_dir / "agent.yaml").read_text(encoding="utf-8")
    config["snmp"].update(timeout_seconds=2, retries=1, interval_seconds=5)
    config["http"].update(timeout_seconds=1, interval_seconds=5)
    config["dns"].update(timeout_seconds=1, interval_seconds=5)
    config["push"] = {"interval_seconds": 1}
    config["jitter_seconds"] = 0
    (agent_dir / "agent.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))

    login = basic("noc", password)
    responses: list[tuple[str, bytes]] = []  # request -> the body answered

    def fetch(path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        status, body = http_get(url + path, headers=headers)
        responses.append((f"GET {path}", body))
        return status, body

    with contextlib.ExitStack() as stack:
        stack.enter_context(running_collector(
            collector_dir, [], inventory=inventory, port=port, tokens={},
            extra_args=["--basic-auth-file", str(users), "--log-level", "DEBUG",
                        "--report-interval", "5"]))
        agent = spawn([sys.executable, str(ROOT / "agent.py"), "--log-level", "DEBUG", "run",
                       "--config", str(agent_dir / "agent.yaml")], agent_dir / "agent.log")
        stack.callback(stop_process, agent)

        def secrets_used() -> bool:
            # The right community and keys get answers, the wrong community does not.
            assert agent.poll() is None, (agent_dir / "agent.log").read_text()
            metrics = http_get(url + "/metrics", headers=login)[1].decode()
            return [device_up(metrics, d) for d in ("sw1", "srv1", "sw2")] == ["1", "1", "0"]

        wait_until(secrets_used, 60, what="sw1 and srv1 up, sw2 down")

        snmp = ["agent.py", "probe", "snmp", snmpd_agent.target, "--json", "--timeout"]
        v3_args = ["--user", "monitor", "--auth-protocol", "sha", "--priv-protocol", "aes"]
        commands = {
            # Generous budgets for the right ones: six commands start at once on a busy machine.
            "probe snmp v2c": [*snmp, "15", "--community", configured["community"]],
            "probe snmp v2c, wrong community": [*snmp, "2", "--community",
                                                configured["wrong community"]],
            "probe snmp v3": [*snmp, "15", *v3_args, "--auth-key", v3.auth_key,
                              "--priv-key", v3.priv_key],
            "probe snmp v3, wrong keys": [*snmp, "2", *v3_args,
                                          "--auth-key", configured["wrong v3 auth key"],
                                          "--priv-key", configured["wrong v3 priv key"]],
            "probe snmp v3, no privacy key": [*snmp, "2", "--user", "monitor",
                                              "--auth-protocol", "sha",
                                              "--auth-key", v3.auth_key],
            "check --push": ["agent.py", "check", "--config", str(agent_dir / "agent.yaml"),
                             "--json", "--push"],
        }
        running = {name: subprocess.Popen([sys.executable, *args], cwd=ROOT, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                   for name, args in commands.items()}
        exits = {}
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=90)
            keep(name, subprocess.CompletedProcess(process.args, process.returncode, stdout,
                                                    stderr))
            exits[name] = process.returncode

        for path in ("/", "/?lang=en", f"/ward/{WARD}", f"/ward/{WARD}?lang=en", "/dispatch",
                     "/dispatch.csv", "/api/v1/wards", "/metrics", "/healthz",
                     "/api/openapi.json"):
            status, _ = fetch(path, login)
            assert status == 200, path
        # Error answers, each given something secret to (not) repeat.
        assert fetch("/")[0] == 401
        assert fetch("/metrics", basic("noc", configured["wrong community"]))[0] == 401
        assert fetch("/dispatch", basic(password, password))[0] == 401
        assert fetch(f"/ward/{WARD}?key={secrets.token_urlsafe(24)}")[0] == 401
        assert fetch("/ward/99999", login)[0] == 404
        assert fetch("/speedtest/status",
                     {"Authorization": f"Bearer {configured['community']}"})[0] in (200, 401)
        token = configured["ward token"]
        report = {"id": secrets.token_hex(8), "ward": WARD, "measured_at": 1e9, "kind": "icmp",
                  "target": "127.0.0.1", "result": {"up": False, "host": "127.0.0.1",
                                                    "sent": 0, "received": 0,
                                                    "loss_ratio": 1.0}}
        for name, headers, body in (
            ("no token", {}, {"reports": [report]}),
            ("community as token", {"Authorization": f"Bearer {configured['community']}"},
             {"reports": [report]}),
            ("password as basic", login, {"reports": [report]}),
            ("foreign ward", {"Authorization": f"Bearer {token}"},
             {"reports": [{**report, "ward": "99999"}]}),
            ("too old", {"Authorization": f"Bearer {token}"}, {"reports": [report]}),
            ("not a batch", {"Authorization": f"Bearer {token}"}, {"report": []}),
        ):
            status, answer = http_post_json(url + "/api/v1/reports", body, headers=headers)
            assert 400 <= status < 500, (name, status)
            responses.append((f"POST /api/v1/reports ({name})", json.dumps(answer).encode()))

    for name in ("collector", "agent"):
        for log in (collector_dir if name == "collector" else agent_dir).glob("*.log"):
            outputs[f"{name} log {log.name}"] = log.read_text(errors="replace")
    files = [users, collector_dir / "tokens.yaml", *collector_dir.glob("collector.sqlite3*"),
             *agent_dir.glob("spool.sqlite3*")]
    leaks = [
        (where, secret) for where, text in outputs.items()
        for secret, value in configured.items() if value in text
    ] + [
        (what, secret) for what, body in responses
        for secret, value in configured.items() if value.encode() in body
    ] + [
        (path.name, secret) for path in files
        for secret, value in configured.items() if value.encode() in path.read_bytes()
    ]
    print(f"searched {len(outputs)} outputs and logs, {len(responses)} answers, {len(files)} "
          f"files for {len(configured)} secret values; command exits {exits}")
    assert leaks == []
    # The secrets were really used: right ones worked, wrong ones failed.
    assert (exits["probe snmp v2c"], exits["probe snmp v3"]) == (0, 0), (
        outputs["probe snmp v2c (stdout)"], outputs["probe snmp v3 (stdout)"])
    assert exits["probe snmp v2c, wrong community"] == 1
    assert exits["probe snmp v3, wrong keys"] == 1
    assert exits["probe snmp v3, no privacy key"] == 2
    pushed = outputs["check --push (stdout)"] + outputs["check --push (stderr)"]
    assert "đã gửi" in pushed or "pushed" in pushed, pushed


# --- the Secret type itself


VALUE = "s3cr3t-" + secrets.token_hex(8)


def test_a_secret_prints_as_the_mask_however_it_is_formatted() -> None:
    secret = Secret(VALUE)
    shown = [str(secret), repr(secret), f"{secret}", f"{secret!r}", f"{secret!s}",
             f"{secret:>40}", format(secret, ""), "%s" % secret, "%r" % secret,  # noqa: UP031
             "{}".format(secret), str([secret]), str({"k": secret}),  # noqa: UP032
             json.dumps({"k": secret}, default=str)]
    assert all(VALUE not in text for text in shown), shown
    assert all(MASK in text for text in shown), shown
    assert secret.reveal() == VALUE


def test_a_secret_is_masked_in_log_records(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(VALUE)
    log = logging.getLogger("sansang.test")
    with caplog.at_level(logging.DEBUG, logger="sansang.test"):
        log.debug("community %s", secret)
        log.info("key %r", secret)
        log.warning(secret)
        log.error("config %s", {"auth_key": secret})
    assert VALUE not in caplog.text
    assert caplog.text.count(MASK) == 4


def test_a_secret_is_masked_in_pydantic_dumps_reprs_and_validation_errors() -> None:
    v2c = SnmpConfig(version="2c", community=Secret(VALUE))
    v3 = SnmpConfig(version="3", user="monitor", auth_protocol="sha", auth_key=VALUE,
                    priv_protocol="aes", priv_key=Secret(VALUE))
    bandwidth = BandwidthConfig(token=Secret(VALUE))
    dumps: list[Any] = []
    for model in (v2c, v3, bandwidth):
        dumps += [model.model_dump(), model.model_dump(mode="json"), model.model_dump_json(),
                  repr(model), str(model)]
    assert all(VALUE not in str(d) for d in dumps), dumps
    assert v2c.model_dump()["community"] == MASK
    assert json.loads(v3.model_dump_json())["auth_key"] == MASK
    # Coming in as text, a key is a Secret at once, so it can still be sent.
    assert isinstance(v3.auth_key, Secret) and v3.auth_key.reveal() == VALUE
    with pytest.raises(ValueError) as refused:
        SnmpConfig(version="3", user="monitor", auth_protocol="sha", auth_key=Secret(VALUE))
    assert VALUE not in str(refused.value)
    assert "priv_key" in str(refused.value)


def test_the_agent_config_holds_references_to_secrets_never_the_secrets(tmp_path: Path) -> None:
    from ward_agent.config import load_agent_config
    from ward_agent.jobs import snmp_fields

    (tmp_path / "token").write_text(VALUE + "\n")
    (tmp_path / "community").write_text(VALUE + "\n")
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump({
        "ward": WARD, "collector_url": "http://127.0.0.1:9", "token_file": "token",
        "snmp": {"devices": [{"id": "sw1", "address": "127.0.0.1", "credentials": {
            "version": "2c", "community_file": str(tmp_path / "community")}}]},
    }))
    config = load_agent_config(tmp_path / "agent.yaml")
    assert config.snmp is not None
    fields = snmp_fields(config.snmp.devices[0].credentials)
    assert fields["community"].reveal() == VALUE and config.token().reveal() == VALUE
    assert VALUE not in repr(config) + config.model_dump_json() + repr(fields)
