"""Provisioning: one command gives a technician a ward's working agent folder."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from collector.tokens import TokenBook
from inventory import DEFAULT_INVENTORY
from tests.lab.servers import ROOT
from ward_agent.config import load_agent_config
from ward_agent.jobs import jobs_for


def test_provision_writes_a_config_the_agent_loads_and_a_token_the_collector_knows(
    tmp_path: Path
) -> None:
    tokens, out = tmp_path / "tokens.yaml", tmp_path / "ward-26968"
    run = subprocess.run(
        [sys.executable, "-m", "collector", "provision", "26968", "--tokens", str(tokens),
         "--collector-url", "https://collector.invalid:8443", "--out", str(out),
         "--inventory", str(DEFAULT_INVENTORY)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert "python agent.py run --config agent.yaml" in run.stdout
    config = load_agent_config(out / "agent.yaml")
    assert config.ward == "26968"
    assert config.timezone == "Asia/Ho_Chi_Minh"
    token = config.token().reveal()
    assert TokenBook.from_file(tokens).ward_for(token) == "26968"
    assert stat.S_IMODE((out / "token").stat().st_mode) == 0o600
    assert token not in (out / "agent.yaml").read_text()
    assert {job.kind for job in jobs_for(config)} == {"icmp", "http", "dns", "bandwidth", "snmp"}
    assert config.snmp is not None
    assert config.snmp.devices[0].credentials.auth_key_env == "SANSANG_SNMP_AUTH_KEY"


def test_provision_refuses_a_ward_outside_the_inventory(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "collector", "provision", "99999", "--tokens",
         str(tmp_path / "t.yaml"), "--collector-url", "http://127.0.0.1:1", "--out",
         str(tmp_path / "o")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert run.returncode == 2
    assert "ward 99999 is not in" in run.stderr
    assert not (tmp_path / "t.yaml").exists()
