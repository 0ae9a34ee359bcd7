"""The deployment files: compose validates, the configs it mounts pass their own checkers."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import yaml

from tests.lab.require import require_binary
from ward_agent.config import load_agent_config

ROOT = Path(__file__).resolve().parent.parent


def test_docker_compose_file_is_valid() -> None:
    compose = require_binary("docker-compose")["docker-compose"]
    run = subprocess.run([compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_compose_runs_the_whole_stack() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) >= {"collector", "prometheus", "alertmanager", "grafana",
                             "agent-example", "snmp-device"}
    mounts = " ".join(services["prometheus"]["volumes"])
    assert "./alerts/rules:" in mounts and "./deploy/prometheus.yml:" in mounts
    assert "./dashboards/provisioning/dashboards:" in " ".join(services["grafana"]["volumes"])


def test_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require_binary("promtool")["promtool"]
    # Point the rule glob at the repository's rules so promtool checks them too.
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    config["rule_files"] = [str(ROOT / "alerts" / "rules" / "*.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run([promtool, "check", "config", str(path)], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sansang-alerts.yml" in run.stdout


def test_alertmanager_config_passes_amtool() -> None:
    amtool = require_binary("amtool")["amtool"]
    run = subprocess.run([amtool, "check-config", str(ROOT / "alerts" / "alertmanager.yml")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_example_agent_config_loads() -> None:
    config = load_agent_config(ROOT / "deploy" / "agent-example.yaml")
    assert config.ward == "26968"
    assert config.snmp is not None and len(config.snmp.devices) == 2
    assert config.bandwidth is not None and config.bandwidth.window is not None


def test_the_systemd_unit_runs_unprivileged_with_only_cap_net_raw() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "deploy" / "sansang-agent.service")
    service = unit["Service"]
    assert service["User"] == "sansang"
    assert service["AmbientCapabilities"] == "CAP_NET_RAW"
    assert service["CapabilityBoundingSet"] == "CAP_NET_RAW"
    assert "agent.py run --config" in service["ExecStart"]
