"""Issuing a ward's agent: its token and a ready-to-copy agent config from the inventory.

A technician copies the folder to the ward's machine and starts the agent; no
YAML is edited by hand. Credentials are written as references (the files or
environment variables the agent's machine must hold), never as secrets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from collector.tokens import issue_token
from inventory.model import Inventory


def agent_config_for(inventory: Inventory, ward_code: str, collector_url: str,
                     ca_file: str | None = None) -> dict[str, Any]:
    ward = inventory.wards[ward_code]
    # The city's time zone is the ward's: any window added to this file is read in it.
    config: dict[str, Any] = {"ward": ward_code, "collector_url": collector_url,
                              "token_file": "token", "timezone": inventory.timezone}
    if ca_file:
        config["ca_file"] = "collector-ca.pem"
    if inventory.core_hosts:
        config["icmp"] = {"targets": list(inventory.core_hosts)}
    config["http"] = {"platforms": {p: str(platform.url)
                                    for p, platform in inventory.platforms.items()}}
    names = sorted({urlsplit(str(p.url)).hostname or "" for p in inventory.platforms.values()}
                   - {""})
    if names:
        config["dns"] = {"names": names, **({"resolver": ward.resolver} if ward.resolver else {})}
    if ward.links:
        config["bandwidth"] = {"link": ward.links[0].id}
    if ward.devices:
        config["snmp"] = {"devices": [
            {"id": d.id, "address": d.address, "profile": d.snmp_profile,
             "credentials": inventory.credentials[d.credentials].model_dump(exclude_none=True)}
            for d in ward.devices
        ]}
    if ward.ntp_servers:
        # Kinds without a section of their own go under probes:, by name.
        config["probes"] = {"ntp": {"targets": list(ward.ntp_servers)}}
    config["readiness"] = {
        "thresholds": inventory.thresholds_for(ward_code).model_dump(),
        "links": [link.model_dump() for link in ward.links],
        "devices": [device.model_dump(exclude_none=True) for device in ward.devices],
        "ntp_servers": list(ward.ntp_servers),
    }
    return config


def provision(inventory: Inventory, ward_code: str, tokens_path: Path, collector_url: str,
              out_dir: Path, ca_file: Path | None = None) -> Path:
    """Write ``out_dir/agent.yaml``, ``out_dir/token`` (mode 600) and the CA file if given."""
    if ward_code not in inventory.wards:
        raise KeyError(f"ward {ward_code} is not in the inventory")
    out_dir.mkdir(parents=True, exist_ok=True)
    token = issue_token(tokens_path, ward_code)
    token_path = out_dir / "token"
    token_path.touch(mode=0o600)
    token_path.chmod(0o600)
    token_path.write_text(token.reveal() + "\n", encoding="utf-8")
    if ca_file is not None:
        (out_dir / "collector-ca.pem").write_bytes(ca_file.read_bytes())
    config = agent_config_for(inventory, ward_code, collector_url,
                              str(ca_file) if ca_file else None)
    ward = inventory.wards[ward_code]
    header = (f"# sansang agent for {ward.name} ({ward_code}), issued by the collector.\n"
              "# Start it with: python agent.py run --config agent.yaml\n")
    config_path = out_dir / "agent.yaml"
    config_path.write_text(header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                           encoding="utf-8")
    return config_path
