"""Every registered probe kind is declared whole, and every part of the project that has a
place per kind finds it there: a kind forgotten in any table fails here, not in the field.

The parts: the collector's metric families and series, the agent's failed result and time
budget, the technician's table and command line, the agent's config, the API description.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agent
from collector.exposition import FAMILIES
from collector.openapi import build
from inventory.model import Ward
from probes import PROBES
from probes.base import ProbeKind
from ward_agent.config import OWN_SECTIONS, AgentConfig
from ward_agent.jobs import jobs_for

WARD = Ward(code="10001", name="Phường Một", kind="phường", province="-", cluster="-")
KINDS = sorted(PROBES)


@pytest.mark.parametrize("name", KINDS)
def test_a_kind_declares_every_part_of_itself(name: str) -> None:
    kind = PROBES[name]
    assert isinstance(kind, ProbeKind) and kind.name == name
    assert kind.families and kind.columns and kind.cli.help


@pytest.mark.parametrize("name", KINDS)
def test_its_families_are_in_the_exposition_and_its_series_use_only_them(name: str) -> None:
    kind = PROBES[name]
    assert all(FAMILIES[family.name] == family for family in kind.families)
    own = {family.name for family in kind.families}
    failed = kind.failed("target-1", "could not")
    assert not failed.up and failed.error == "could not"
    for sample in kind.series("target-1", failed, WARD):
        assert sample[0] in own, sample


@pytest.mark.parametrize("name", KINDS)
def test_its_budget_and_columns_fit_its_own_types(name: str) -> None:
    kind = PROBES[name]
    assert kind.budget_seconds(kind.config_type.model_construct()) > 0
    fields = kind.result_type.model_fields
    assert all(column[0] in fields for column in kind.columns)


@pytest.mark.parametrize("name", KINDS)
def test_its_command_line_is_the_technicians(name: str, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    with pytest.raises(SystemExit) as done:
        agent.build_parser().parse_args(["probe", name, "--help"])
    assert done.value.code == 0
    assert "--json" in capsys.readouterr().out


@pytest.mark.parametrize("name", KINDS)
def test_the_agent_config_has_a_place_for_it(name: str, tmp_path: Path) -> None:
    base = {"ward": "10001", "collector_url": "http://127.0.0.1:8080", "token_file": "t"}
    if name in OWN_SECTIONS:
        assert name in AgentConfig.model_fields
        return
    config = AgentConfig.model_validate({**base, "probes": {name: {"targets": ["x"]}}})
    assert [job.kind for job in jobs_for(config)] == [name]


@pytest.mark.parametrize("name", KINDS)
def test_the_api_description_accepts_its_reports(name: str) -> None:
    variants = build()["components"]["schemas"]["Report"]["oneOf"]
    assert any(v["properties"]["kind"]["enum"] == [name] for v in variants)


def test_a_kind_under_probes_must_be_registered_and_its_options_valid() -> None:
    base = {"ward": "10001", "collector_url": "http://127.0.0.1:8080", "token_file": "t"}
    for probes, message in (
        ({"nope": {"targets": ["x"]}}, "nope: expected a probe kind"),
        ({"icmp": {"targets": ["x"]}}, "icmp has a section of its own"),
        ({"ntp": {"targets": ["x"], "timeout_seconds": -1}}, "ntp.timeout_seconds"),
        ({"ntp": {"targets": ["x"], "colour": "red"}}, "ntp.colour"),
    ):
        with pytest.raises(ValueError, match=message):
            AgentConfig.model_validate({**base, "probes": probes})


def test_the_ntp_job_probes_its_targets_with_its_options() -> None:
    config = AgentConfig.model_validate({
        "ward": "10001", "collector_url": "http://127.0.0.1:8080", "token_file": "t",
        "probes": {"ntp": {"targets": ["127.0.0.1"], "timeout_seconds": 0.5, "port": 1123,
                           "interval_seconds": 300}}})
    (job,) = jobs_for(config)
    assert (job.kind, job.interval_seconds, job.budget_seconds) == ("ntp", 300, 1.5)
    options = job.targets[0].config()
    assert json.loads(options.model_dump_json()) == {"timeout_seconds": 0.5, "port": 1123,
                                                     "version": 4}
