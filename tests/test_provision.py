"""Provisioning: one command gives a technician a ward's working agent folder."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from collector.__main__ import main as collector_main
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


def provision_cli(tmp_path: Path, *args: str, ward: str = "26968",
                  url: str = "https://collector.invalid:8443") -> list[str]:
    return ["provision", ward, "--tokens", str(tmp_path / "tokens.yaml"),
            "--collector-url", url, "--out", str(tmp_path / "ward"), *args]


def one_line_refusal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert collector_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


@pytest.mark.parametrize(("url", "why"), [
    ("collector.example:8443", "no http:// or https://"),
    ("ftp://collector.example", "no http:// or https://"),
    ("https://", "no host"),
    ("https://collector.example:99999", "the port must be a number from 1 to 65535"),
    ("https://collector.example:https", "the port must be a number from 1 to 65535"),
    ("https://collector.example/?ward=1", "a user, query or fragment"),
])
def test_provision_refuses_a_collector_url_the_agent_could_not_push_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, why: str
) -> None:
    line = one_line_refusal(capsys, provision_cli(tmp_path, url=url))
    assert line.startswith("provision: --collector-url: expected http(s)://HOST[:PORT]")
    assert f"got {url!r} ({why}" in line
    assert not (tmp_path / "tokens.yaml").exists() and not (tmp_path / "ward").exists()


def test_provisioning_a_ward_again_needs_replace_and_says_the_agent_must_get_the_new_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert collector_main(provision_cli(tmp_path)) == 0
    first = (tmp_path / "ward" / "token").read_text()
    capsys.readouterr()
    line = one_line_refusal(capsys, provision_cli(tmp_path))
    assert line == (f"provision: ward 26968 already has a token in {tmp_path / 'tokens.yaml'}; "
                    "add --replace to issue a new one (the agent installed at the ward is "
                    "then refused until it gets the new folder)")
    assert (tmp_path / "ward" / "token").read_text() == first

    assert collector_main(provision_cli(tmp_path, "--replace")) == 0
    assert "the agent installed there is refused until this folder replaces its own" in \
        capsys.readouterr().out
    token = (tmp_path / "ward" / "token").read_text().strip()
    assert token != first.strip()
    assert TokenBook.from_file(tmp_path / "tokens.yaml").ward_for(token) == "26968"


def test_provision_makes_no_folder_the_user_did_not_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder"
    argv = ["provision", "26968", "--tokens", str(missing / "tokens.yaml"),
            "--collector-url", "https://collector.invalid", "--out", str(tmp_path / "ward")]
    assert one_line_refusal(capsys, argv) == (
        f"provision: --tokens: the folder {missing} does not exist; create it first or name "
        "a tokens file in an existing folder")
    argv = [*provision_cli(tmp_path)[:-1], str(missing / "ward")]
    assert one_line_refusal(capsys, argv).startswith(
        f"provision: --out: the folder {missing} does not exist")
    assert not missing.exists() and not (tmp_path / "tokens.yaml").exists()


def test_provision_refuses_an_unreadable_ca_file_before_issuing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line_refusal(capsys, provision_cli(tmp_path, "--ca-file",
                                                   str(tmp_path / "ca.pem")))
    assert line == (f"provision: --ca-file: cannot read {tmp_path / 'ca.pem'}: "
                    "No such file or directory")
    assert not (tmp_path / "tokens.yaml").exists()


def test_an_unknown_ward_code_offers_the_closest_wards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line_refusal(capsys, provision_cli(tmp_path, ward="26969"))
    assert line.startswith(f"provision: ward 26969 is not in {DEFAULT_INVENTORY}; closest: ")
    assert "26968 (Phường Tân Sơn Nhất)" in line


def test_a_ward_typed_by_name_is_offered_its_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_line_refusal(capsys, provision_cli(tmp_path, ward="phường tân sơn nhất"))
    assert "closest: 26968 (Phường Tân Sơn Nhất)" in line


def test_token_issue_needs_replace_for_a_ward_that_has_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = tmp_path / "tokens.yaml"
    argv = ["token", "issue", "26968", "--tokens", str(tokens)]
    assert collector_main(argv) == 0
    capsys.readouterr()
    assert one_line_refusal(capsys, argv).startswith(
        f"token issue: ward 26968 already has a token in {tokens}; add --replace")
    assert collector_main([*argv, "--replace"]) == 0
    assert one_line_refusal(capsys, [*argv, "--replace", "--out",
                                     str(tmp_path / "no" / "token")]).startswith(
        f"token issue: --out: the folder {tmp_path / 'no'} does not exist")


def test_provision_writes_the_readiness_section_the_check_judges_by(tmp_path: Path) -> None:
    from collector.provision import readiness_section
    from inventory import load_inventory
    from ward_agent.config import ReadinessProfile

    inventory = load_inventory(DEFAULT_INVENTORY)
    assert collector_main(provision_cli(tmp_path)) == 0
    config = load_agent_config(tmp_path / "ward" / "agent.yaml")
    ward = inventory.wards["26968"]
    assert config.readiness.name == ward.name
    assert config.readiness.thresholds == inventory.thresholds_for("26968")
    assert config.readiness.links == ward.links
    assert config.readiness.devices == ward.devices
    assert config.readiness == ReadinessProfile.model_validate(
        readiness_section(inventory, "26968"))


def test_the_inventory_role_wins_over_detection_in_the_provisioned_config(
    tmp_path: Path
) -> None:
    from collector.provision import agent_config_for
    from inventory.load import load_inventory
    from inventory.model import Device

    inventory = load_inventory(DEFAULT_INVENTORY)
    code = "26968"
    devices = (
        Device(id="ups-1", role="ups", address="127.0.0.1", credentials="ward-v3"),
        Device(id="pc-1", role="pc", address="127.0.0.2", credentials="ward-v3"),
        Device(id="ap-1", role="ap", address="127.0.0.3", credentials="ward-v3"),
        Device(id="fw-1", role="firewall", address="127.0.0.4", credentials="ward-v3",
               snmp_profile="router"),
    )
    ward = inventory.wards[code].model_copy(update={"devices": devices})
    inventory = inventory.model_copy(update={"wards": {**inventory.wards, code: ward}})
    config = agent_config_for(inventory, code, "https://collector.invalid:8443")
    profiles = {d["id"]: d["profile"] for d in config["snmp"]["devices"]}
    # A role names the profile; an access point is told by what it answers; a declared
    # profile wins over both.
    assert profiles == {"ups-1": "ups", "pc-1": "host", "ap-1": "auto", "fw-1": "router"}
