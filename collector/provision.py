"""Issuing a ward's agent: its token and a ready-to-copy agent config from the inventory.

A technician copies the folder to the ward's machine and starts the agent; no
YAML is edited by hand. Credentials are written as references (the files or
environment variables the agent's machine must hold), never as secrets.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import HttpUrl, TypeAdapter, ValidationError

from collector.tokens import has_token, issue_token
from inventory.model import Inventory


class ProvisionRefused(Exception):
    """A mistake in the command, caught before anything is written; the message names
    the option and what was expected, in one line."""


class UrlRefused(ValueError):
    """Not an http(s) URL a client of ours can use; the message says what was expected."""


def checked_http_url(url: str) -> str:
    """``url`` when an agent or the collector can call it: http or https, a host, a port if
    any in 1-65535, no user, query or fragment."""

    def refused(why: str) -> UrlRefused:
        return UrlRefused("expected http(s)://HOST[:PORT], e.g. "
                          f"https://collector.example:8443; got {url!r} ({why})")

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise refused("no http:// or https://")
    if not parts.hostname:
        raise refused("no host")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise refused("the port must be a number from 1 to 65535")
    if parts.username is not None or parts.query or parts.fragment:
        raise refused("a user, query or fragment the agent would not send")
    try:
        TypeAdapter(HttpUrl).validate_python(url)
    except ValidationError:
        raise refused("not a URL the agent can read") from None
    return url


def checked_collector_url(url: str) -> str:
    """``url`` when an agent can push to it; refused now rather than by the agent on site."""
    try:
        return checked_http_url(url)
    except UrlRefused as exc:
        raise ProvisionRefused(f"--collector-url: {exc}") from None


def unknown_ward(inventory: Inventory, ward_code: str, inventory_path: Path) -> str:
    """The line that says ``ward_code`` is not in the inventory, with the closest codes
    (or names, for a ward typed by name) to choose from."""
    by_name = {ward.name.casefold(): code for code, ward in inventory.wards.items()}
    codes = difflib.get_close_matches(ward_code, list(inventory.wards), n=3, cutoff=0.6)
    names = difflib.get_close_matches(ward_code.casefold(), list(by_name), n=3, cutoff=0.6)
    close = list(dict.fromkeys([*codes, *(by_name[name] for name in names)]))[:3]
    text = f"ward {ward_code} is not in {inventory_path}"
    if close:
        text += "; closest: " + ", ".join(f"{code} ({inventory.wards[code].name})"
                                          for code in close)
    return text


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
            {"id": d.id, "address": d.address, "profile": d.profile,
             "credentials": inventory.credentials[d.credentials].model_dump(exclude_none=True)}
            for d in ward.devices
        ]}
    if ward.ntp_servers:
        # Kinds without a section of their own go under probes:, by name.
        config["probes"] = {"ntp": {"targets": list(ward.ntp_servers)}}
    config["readiness"] = readiness_section(inventory, ward_code)
    return config


def readiness_section(inventory: Inventory, ward_code: str) -> dict[str, Any]:
    """The agent config's ``readiness:``: what ``agent.py check`` judges by, as the collector
    judges the ward (its name, thresholds, links' contracts, devices and time servers)."""
    ward = inventory.wards[ward_code]
    return {
        "name": ward.name,
        "thresholds": inventory.thresholds_for(ward_code).model_dump(),
        "links": [link.model_dump() for link in ward.links],
        "devices": [device.model_dump(exclude_none=True) for device in ward.devices],
        "ntp_servers": list(ward.ntp_servers),
        # The platforms as people name them, for the check's sentences.
        "platform_names": {p: platform.name for p, platform in inventory.platforms.items()
                           if platform.name},
    }


def provision(inventory: Inventory, ward_code: str, tokens_path: Path, collector_url: str,
              out_dir: Path, ca_file: Path | None = None, *, replace: bool = False) -> Path:
    """Write ``out_dir/agent.yaml``, ``out_dir/token`` (mode 600) and the CA file if given.

    Every mistake is refused (:class:`ProvisionRefused`) before anything is written:
    a URL the agent could not push to, a ward that already has a token unless
    ``replace``, a folder that would have to be made beyond the one named, an
    unreadable CA file. Only ``out_dir`` itself is created.
    """
    if ward_code not in inventory.wards:
        raise KeyError(f"ward {ward_code} is not in the inventory")
    checked_collector_url(collector_url)
    if not tokens_path.parent.is_dir():
        raise ProvisionRefused(f"--tokens: the folder {tokens_path.parent} does not exist; "
                               "create it first or name a tokens file in an existing folder")
    if not out_dir.parent.is_dir():
        raise ProvisionRefused(f"--out: the folder {out_dir.parent} does not exist; create "
                               "it first or name a folder inside an existing one")
    if out_dir.exists() and not out_dir.is_dir():
        raise ProvisionRefused(f"--out: {out_dir} is a file; expected a folder to write into")
    ca_bytes = None
    if ca_file is not None:
        try:
            ca_bytes = ca_file.read_bytes()
        except OSError as exc:
            raise ProvisionRefused(f"--ca-file: cannot read {ca_file}: {exc.strerror}") from None
    if has_token(tokens_path, ward_code) and not replace:
        raise ProvisionRefused(
            f"ward {ward_code} already has a token in {tokens_path}; add --replace to issue "
            "a new one (the agent installed at the ward is then refused until it gets the "
            "new folder)")
    out_dir.mkdir(exist_ok=True)
    token = issue_token(tokens_path, ward_code)
    token_path = out_dir / "token"
    token_path.touch(mode=0o600)
    token_path.chmod(0o600)
    token_path.write_text(token.reveal() + "\n", encoding="utf-8")
    if ca_bytes is not None:
        (out_dir / "collector-ca.pem").write_bytes(ca_bytes)
    config = agent_config_for(inventory, ward_code, collector_url,
                              str(ca_file) if ca_file else None)
    ward = inventory.wards[ward_code]
    header = (f"# sansang agent for {ward.name} ({ward_code}), issued by the collector.\n"
              "# Start it with: python agent.py run --config agent.yaml\n")
    config_path = out_dir / "agent.yaml"
    config_path.write_text(header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                           encoding="utf-8")
    return config_path
