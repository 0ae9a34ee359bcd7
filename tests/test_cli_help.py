"""Every option of the agent's and the collector's command lines is described."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

import agent
from collector.__main__ import build_parser as collector_parser
from tests.lab.servers import ROOT


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _all_parsers(sub)
    return found


@pytest.mark.parametrize("parser", [agent.build_parser(), collector_parser()],
                         ids=["agent", "collector"])
def test_every_option_has_a_description(parser: argparse.ArgumentParser) -> None:
    undocumented = [
        f"{p.prog} {'/'.join(a.option_strings) or a.dest}"
        for p in _all_parsers(parser)
        for a in p._actions
        if not isinstance(a, argparse._SubParsersAction | argparse._HelpAction)
        and not a.help
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    "command",
    [["agent.py", "--help"], ["agent.py", "probe", "icmp", "--help"],
     ["-m", "collector", "--help"], ["-m", "collector", "serve", "--help"]],
)
def test_help_runs(command: list[str]) -> None:
    run = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0
    assert "usage:" in run.stdout
