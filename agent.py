"""sansang's ward agent and the technician's command line.

  python agent.py run --config AGENT_CONFIG        the agent: probe on schedule, push
  python agent.py probe KIND TARGET... [--json]    one ad-hoc probe of any kind
  python agent.py check --config AGENT_CONFIG      one-shot readiness checklist for one ward
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import ssl
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from inventory.yamlfile import ConfigError, error_lines, words
from probes import PROBES
from probes.base import ProbeResult

if TYPE_CHECKING:
    from ward_agent.config import AgentConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python agent.py",
        description="sansang ward agent: measures the ward's link, the city platforms and the "
                    "equipment, and pushes the results to the collector. Also the technician's "
                    "tool for ad-hoc probes and a one-shot readiness check.",
    )
    parser.add_argument("--log-level", default="INFO", type=str.upper,
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="logging level (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the agent on its schedule until stopped",
                         description="Probe on the configured intervals, keep every result in "
                                     "the on-disk spool, push to the collector.")
    run.add_argument("--config", required=True, help="agent config YAML")

    probe = sub.add_parser("probe", help="run one probe now and print the result",
                           description="Run one probe now. With --json print one JSON document; "
                                       "exit 0 when it succeeded, 1 when it failed.")
    kinds = probe.add_subparsers(dest="kind", required=True)

    # Every registered kind brings its own subcommand (probes.base.ProbeCli).
    for probe_kind in PROBES.values():
        kind_parser = kinds.add_parser(probe_kind.name, help=probe_kind.cli.help)
        probe_kind.cli.add_arguments(kind_parser)
        kind_parser.add_argument("--json", action="store_true",
                                 help="print one JSON document instead of a table")

    check = sub.add_parser("check", help="one-shot readiness checklist for one ward",
                           description="Run every probe of the ward once and print the "
                                       "readiness checklist; exit 0 only when ready.")
    check.add_argument("--config", required=True, help="agent config YAML")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.add_argument("--push", action="store_true",
                       help="also send the results to the collector, so the NOC sees a fix "
                            "at once")
    check.add_argument("--lang", choices=["vi", "en"], default="vi",
                       help="language of the checklist (default vi)")
    return parser


async def run_probe(args: argparse.Namespace) -> int:
    if args.kind not in PROBES:
        print(f"probe kind {args.kind!r} is not available in this build", file=sys.stderr)
        return 2
    probe_kind = PROBES[args.kind]
    try:
        targets, fields = probe_kind.cli.from_arguments(args)
        config = probe_kind.config_type(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        option = probe_kind.cli.option_for
        for line in error_lines(exc, lambda loc: option(str(loc[0]), vars(args)) if loc
                                else "options"):
            print(f"probe {args.kind}: {line}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"probe {args.kind}: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"probe {args.kind}: {exc}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + probe_kind.budget_seconds(config)
    results: list[ProbeResult] = list(
        await asyncio.gather(*(probe_kind.run(t, config, deadline) for t in targets))
    )
    documents = [r.to_json() for r in results]
    if args.json:
        # icmp prints a list (one object per host); every other kind prints one object.
        print(json.dumps(documents if probe_kind.cli.json_list else documents[0],
                         ensure_ascii=False))
    else:
        from ward_agent.display import table

        table(documents, list(probe_kind.columns))
    return 0 if all(r.up for r in results) else 1


def startup_problem(config: AgentConfig, language: str) -> str | None:
    """What keeps the agent from pushing, found before it starts, as one line naming the
    config key and its file: an unreadable token or CA file, a CA file that holds no
    certificate, a spool that cannot be opened. None when all can be used."""
    from ward_agent.spool import Spool

    for key, path in (("token_file", config.token_file), ("ca_file", config.ca_file)):
        if path is not None:
            try:
                Path(path).read_bytes()
            except OSError as exc:
                return f"{key} {path}: {words('cannot_read', language, why=exc.strerror)}"
    if config.ca_file is not None:
        try:
            ssl.create_default_context(cafile=config.ca_file)
        except ssl.SSLError as exc:
            detail = f" ({exc.reason})" if exc.reason else ""
            return f"ca_file {config.ca_file}: {words('not_pem', language, detail=detail)}"
    spool = config.spool
    try:
        Spool(spool.path, spool.max_bytes, spool.max_age_seconds).close()
    except (OSError, sqlite3.Error) as exc:
        why = getattr(exc, "strerror", None) or exc
        return f"spool.path {spool.path}: {words('cannot_open', language, why=why)}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every round it starts at INFO; the agent's own log says what matters.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command == "probe":
        return asyncio.run(run_probe(args))
    from ward_agent.config import load_agent_config

    # Each problem names its file; only check speaks the technician's language.
    language = getattr(args, "lang", "en")
    try:
        config = load_agent_config(args.config, language)
    except ConfigError as exc:
        exc.report("cấu hình agent không dùng được" if language == "vi"
                   else "invalid agent config", language=language)
        return 2
    cannot_start = "không khởi động được agent" if language == "vi" else "cannot start the agent"
    if args.command == "run" or getattr(args, "push", False):
        problem = startup_problem(config, language)
        if problem:
            print(f"{cannot_start}: {problem}", file=sys.stderr)
            return 2
    if args.command == "run":
        from ward_agent.runner import AgentRunner

        try:
            asyncio.run(AgentRunner(config).run())
        except KeyboardInterrupt:
            pass
        return 0
    from collector.i18n import translate
    from ward_agent.check import check

    try:
        return check(config, as_json=args.json, push=args.push, language=args.lang)
    except KeyboardInterrupt:
        print(translate("agent_check.interrupted", args.lang), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
