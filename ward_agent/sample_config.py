"""The agent's sample config, written from the config model: every option, its default, a sentence.

``python -m ward_agent.sample_config`` writes ``deploy/agent-example.yaml`` (the compose
stack's example agent) from the descriptions in ``ward_agent/config.py``; ``--check``
fails when the file is stale, so the sample can never drift from the model. An option
without a description, or one whose value cannot be shown, stops the generator.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from inventory.generated import write_or_check
from inventory.yamlfile import unwrap_optional
from ward_agent.config import AgentConfig

OUTPUT = Path(__file__).resolve().parent.parent / "deploy" / "agent-example.yaml"
WIDTH = 88
# A sentence longer than this is written once; later options of the same name refer to it.
LONG = 100

HEADER = """\
# The sansang ward agent's configuration, every option explained.
#
# This is the compose stack's example agent: ward 26968 (Phường Tân Sơn Nhất),
# probing only services inside the compose network. A real ward's config is written
# by  python -m collector provision WARD --tokens … --collector-url … --out …
#
# An option shown as "# key: value" is not set here: the value is its default (or,
# for an option without one, an example); remove the "# " to set it. Every key is
# checked when the agent starts: a misspelt key is an error, not a silent default.
#
# Written from the config model (ward_agent/config.py) by
#   python -m ward_agent.sample_config
# so change the model's descriptions, not this file.
"""

# What the compose stack's agent sets; everything else is shown at its default.
COMPOSE_AGENT: dict[str, Any] = {
    "ward": "26968",
    "collector_url": "http://collector:8080",
    "token_file": "/etc/sansang/token",
    "icmp": {"targets": ["collector", "prometheus"]},
    "http": {"platforms": {
        "video": "http://collector:8080/healthz",
        "documents": "http://prometheus:9090/-/healthy",
        "feedback1022": "http://alertmanager:9093/-/healthy",
        "procedures": "http://grafana:3000/api/health",
    }},
    # Outside office hours, where a saturated link cannot spoil a video conference.
    "bandwidth": {"link": "main", "window": "17 2,20,23 * * *"},
    "snmp": {"devices": [
        {"id": "core-router", "address": "snmp-device:1161", "profile": "router",
         "credentials": {"version": "2c", "community_env": "SANSANG_EXAMPLE_ROUTER_COMMUNITY"}},
        {"id": "ups-1", "address": "snmp-device:1161", "profile": "ups",
         "credentials": {"version": "2c", "community_env": "SANSANG_EXAMPLE_UPS_COMMUNITY"}},
    ]},
    "spool": {"path": "/var/lib/sansang/spool.sqlite3"},
    "timezone": "Asia/Ho_Chi_Minh",
}


class UndocumentedOption(Exception):
    """An option of the model the sample cannot explain: no description, or no value."""


def render(model: type[BaseModel] = AgentConfig,
           values: Mapping[str, Any] = COMPOSE_AGENT) -> str:
    explained: dict[str, str] = {}
    return HEADER + "\n" + "\n".join(
        _model_lines(model, values, indent=0, commented=False, explained=explained)) + "\n"


def _model_lines(model: type[BaseModel], values: Mapping[str, Any], indent: int,
                 commented: bool, path: str = "", *, explained: dict[str, str],
                 explain: bool = True, dash: bool = False) -> list[str]:
    """The options of ``model``: each one's sentence (when ``explain``), then its line,
    set from ``values`` or shown commented out. With ``dash``, the first option opens
    an entry of a list (``- key: …``); without ``explain``, only the options set.
    A long sentence already written (a window, say) is referred to, not repeated:
    ``explained`` maps each to where it was."""
    lines: list[str] = []

    def key_line(off: bool, text: str) -> str:
        nonlocal dash
        if dash:
            dash = False
            return " " * (indent - 2) + ("# " if off else "") + "- " + text
        return _line(indent, off, text)

    for name, field in model.model_fields.items():
        where = f"{path}{name}"
        if not field.description:
            raise UndocumentedOption(f"{model.__name__}.{name} ({where}): no description")
        given = name in values
        if not explain and not given:
            continue
        if lines and indent == 0:
            lines.append("")
        if explain:
            text = field.description
            if len(text) > LONG and text in explained:
                text = f"See {name} under {explained[text]}."
            elif len(text) > LONG:
                explained[text] = path.rstrip(".") or "the top level"
            lines += _comment(text, indent - 2 if dash else indent)
        off = commented or not given
        annotation = unwrap_optional(field.annotation)
        if is_model(annotation):
            lines.append(key_line(off, f"{name}:"))
            lines += _model_lines(annotation, values.get(name) or {}, indent + 2, off,
                                  f"{where}.", explained=explained, explain=explain)
            continue
        item = model_item(annotation)
        if item is not None:
            items = values.get(name) or _examples(field, where, required=False) or [{}]
            lines.append(key_line(off, f"{name}:"))
            for number, entry in enumerate(items):
                lines += _model_lines(item, entry, indent + 4, off, f"{where}[].",
                                      explained=explained, explain=explain and number == 0,
                                      dash=True)
            continue
        value = values[name] if given else _shown_value(field, where)
        first, *rest = _value_lines(name, value, indent, off)
        lines += [key_line(off, first.lstrip().removeprefix("# ")), *rest]
    return lines


def _value_lines(name: str, value: Any, indent: int, commented: bool) -> list[str]:
    value = _plain(value)
    if isinstance(value, dict) and value:
        lines = [_line(indent, commented, f"{name}:")]
        for key, inner in value.items():
            lines += _value_lines(str(key), inner, indent + 2, commented)
        return lines
    return [_line(indent, commented, f"{name}: {_flow(value)}")]


def _shown_value(field: FieldInfo, where: str) -> Any:
    """The value a line not set here shows: the default, or an example when there is none
    (or when the default is empty, which would show nothing of what goes there)."""
    default = field.default
    if default is not PydanticUndefined and default is not None and (
            default not in ({}, (), []) or not field.examples):
        return default
    return _examples(field, where, required=True)


def _examples(field: FieldInfo, where: str, required: bool) -> Any:
    if field.examples:
        return field.examples[0]
    if required:
        raise UndocumentedOption(f"{where}: no default and no example to show")
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(mode="json"))
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    text = text.removesuffix("\n").removesuffix("\n...")
    # Quoted as people quote: double quotes, and always around a cron window's spaces.
    if isinstance(value, str) and (text.startswith("'") or " " in value):
        return json.dumps(value, ensure_ascii=False)
    return text


def _line(indent: int, commented: bool, text: str) -> str:
    return " " * indent + ("# " if commented else "") + text


def _comment(text: str, indent: int) -> list[str]:
    return textwrap.wrap(text, WIDTH - indent, initial_indent=" " * indent + "# ",
                         subsequent_indent=" " * indent + "# ", break_on_hyphens=False)


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def model_item(annotation: Any) -> type[BaseModel] | None:
    """The model of a list (or tuple) of models, else None."""
    if typing.get_origin(annotation) in (list, tuple):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(args) == 1 and is_model(args[0]):
            return typing.cast(type[BaseModel], args[0])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ward_agent.sample_config",
        description="Write the agent's sample config (deploy/agent-example.yaml) from the "
                    "config model's descriptions.")
    parser.add_argument("--out", type=Path, default=OUTPUT,
                        help="file to write (default deploy/agent-example.yaml)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when the file differs from the model")
    args = parser.parse_args(argv)
    # This command has always written its diff to stderr.
    done = write_or_check({args.out: render()}, args.check, "python -m ward_agent.sample_config",
                          diff_to=sys.stderr)
    if not args.check:
        print(f"wrote {args.out}")
    return done


if __name__ == "__main__":
    sys.exit(main())
