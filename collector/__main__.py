"""The collector's command line: ``serve`` the application, ``token issue`` for a ward."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from aiohttp import web

from collector.app import CollectorSettings, create_app
from collector.tokens import issue_token
from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.yamlfile import ConfigError


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m collector",
        description="sansang collector: receives ward agents' reports, serves /metrics "
                    "to Prometheus, and the readiness pages.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the collector",
                           description="Run the collector's HTTP server until stopped.")
    serve.add_argument("--listen", type=_listen, default=("127.0.0.1", 8080),
                       help="HOST:PORT to listen on (default 127.0.0.1:8080)")
    serve.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY,
                       help="inventory YAML (default: the shipped HCMC inventory)")
    serve.add_argument("--tokens", type=Path, required=True,
                       help="tokens file: ward code -> sha256 hash of its token")
    serve.add_argument("--database", type=Path, default=Path("sansang.sqlite3"),
                       help="SQLite file for the report history (default sansang.sqlite3)")
    serve.add_argument("--simulated-wards", type=Path, default=None,
                       help="file listing ward codes (one per line) whose data is simulated; "
                            "their series carry simulated=\"true\"")
    serve.add_argument("--report-interval", type=float, default=60.0,
                       help="agents' probe interval in seconds, for the silent-agent check "
                            "(default 60)")
    serve.add_argument("--max-body-bytes", type=int, default=1 << 20,
                       help="largest accepted request body (default 1048576)")
    serve.add_argument("--speedtest-slots", type=int, default=1,
                       help="bandwidth tests allowed at once (default 1)")
    serve.add_argument("--log-level", default="INFO", help="logging level (default INFO)")

    token = sub.add_parser("token", help="manage ward tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    issue = token_sub.add_parser("issue", help="issue (or replace) a ward's token",
                                 description="Print a new token for WARD once and store "
                                             "only its hash in the tokens file.")
    issue.add_argument("ward", help="ward code, e.g. 26968")
    issue.add_argument("--tokens", type=Path, required=True, help="tokens file to update")
    issue.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY,
                       help="inventory the ward must belong to")
    issue.add_argument("--out", type=Path, default=None,
                       help="write the token to this file (mode 600) instead of stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        inventory = load_inventory(args.inventory)
    except ConfigError as exc:
        print(f"invalid inventory {args.inventory}:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return 2

    if args.command == "token":
        if args.ward not in inventory.wards:
            print(f"ward {args.ward} is not in {args.inventory}", file=sys.stderr)
            return 2
        token = issue_token(args.tokens, args.ward)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.touch(mode=0o600)
            args.out.write_text(token.reveal() + "\n", encoding="utf-8")
            print(f"token for ward {args.ward} written to {args.out}")
        else:
            print(token.reveal())
        return 0

    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    simulated: frozenset[str] = frozenset()
    if args.simulated_wards:
        simulated = frozenset(args.simulated_wards.read_text().split())
    settings = CollectorSettings(
        inventory=inventory,
        tokens_path=args.tokens,
        database_path=args.database,
        simulated_wards=simulated,
        report_interval_seconds=args.report_interval,
        max_body_bytes=args.max_body_bytes,
        speedtest_slots=args.speedtest_slots,
    )
    try:
        app = create_app(settings)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    host, port = args.listen
    web.run_app(app, host=host, port=port, print=lambda _m: print(
        f"sansang collector on http://{host}:{port}/ (metrics at /metrics)", flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
