"""The collector's command line: ``serve`` the application, ``token issue`` for a ward."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sqlite3
import ssl
import sys
from pathlib import Path

from aiohttp import web

from collector.app import DEFAULT_RETENTION_DAYS, CollectorSettings, create_app
from collector.provision import (
    ProvisionRefused,
    UrlRefused,
    checked_collector_url,
    checked_http_url,
    provision,
    unknown_ward,
)
from collector.security import AccessLogWithoutQuery, hash_password, server_tls_context
from collector.tokens import has_token, issue_token
from inventory import criteria
from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.model import Inventory
from inventory.yamlfile import ConfigError


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _tool_url(value: str) -> str:
    """An http(s) URL with a host: a tool the collector links to or calls."""
    try:
        return checked_http_url(value).rstrip("/")
    except UrlRefused as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    serve.add_argument("--report-interval", type=float,
                       default=criteria.DEFAULT_REPORT_INTERVAL_SECONDS,
                       help="agents' ICMP interval in seconds, for the silent-agent check "
                            "(default %(default)s)")
    serve.add_argument("--max-body-bytes", type=int, default=1 << 20,
                       help="largest accepted request body (default 1048576)")
    serve.add_argument("--speedtest-slots", type=int, default=1,
                       help="bandwidth tests allowed at once (default 1)")
    serve.add_argument("--rate", type=float, default=2.0,
                       help="pushes per second each ward may make on average (default 2)")
    serve.add_argument("--rate-burst", type=int, default=20,
                       help="pushes a ward may make at once before --rate applies (default 20)")
    serve.add_argument("--retention-days", type=float, default=DEFAULT_RETENTION_DAYS,
                       help="days of raw reports kept in the database; each series' newest "
                            "report and the daily readiness history are kept for good "
                            f"(default {DEFAULT_RETENTION_DAYS:.0f})")
    serve.add_argument("--tls-cert", type=Path, default=None,
                       help="serve HTTPS with this certificate chain (PEM); TLS 1.2 at least")
    serve.add_argument("--tls-key", type=Path, default=None, help="private key of --tls-cert")
    serve.add_argument("--tls-client-ca", type=Path, default=None,
                       help="require client certificates signed by this CA")
    serve.add_argument("--basic-auth-file", type=Path, default=None,
                       help="YAML 'users: {name: bcrypt hash}' required for /metrics and the "
                            "pages (agents keep using their ward tokens)")
    serve.add_argument("--alertmanager-url", type=_tool_url, default=None,
                       help="Alertmanager (e.g. http://127.0.0.1:9093): acknowledging a ward "
                            "on the dispatch page silences it there, and the pages link to "
                            "its alerts")
    serve.add_argument("--prometheus-url", type=_tool_url, default=None,
                       help="Prometheus, for links from a ward's page to its alerts")
    serve.add_argument("--grafana-url", type=_tool_url, default=None,
                       help="Grafana, for links from a ward's page to its dashboard")
    serve.add_argument("--log-level", default="INFO", type=str.upper,
                       choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                       help="logging level (default INFO)")

    token = sub.add_parser("token", help="manage ward tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    issue = token_sub.add_parser("issue", help="issue (or, with --replace, replace) a ward's "
                                               "token",
                                 description="Print a new token for WARD once and store "
                                             "only its hash in the tokens file.")
    issue.add_argument("ward", help="ward code, e.g. 26968")
    issue.add_argument("--tokens", type=Path, required=True,
                       help="tokens file to update, in an existing folder")
    issue.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY,
                       help="inventory the ward must belong to")
    issue.add_argument("--out", type=Path, default=None,
                       help="write the token to this file (mode 600) instead of stdout")
    issue.add_argument("--replace", action="store_true",
                       help="replace the ward's existing token; its installed agent is "
                            "refused until it gets the new one")

    provision = sub.add_parser(
        "provision", help="issue a ward's token and write its ready-to-copy agent folder",
        description="Issue WARD's token and write OUT/agent.yaml and OUT/token from the "
                    "inventory, so the agent is installed without editing YAML by hand.")
    provision.add_argument("ward", help="ward code, e.g. 26968")
    provision.add_argument("--tokens", type=Path, required=True,
                           help="tokens file to update, in an existing folder")
    provision.add_argument("--collector-url", required=True,
                           help="URL the agent pushes to, e.g. https://collector.example:8443")
    provision.add_argument("--out", type=Path, required=True,
                           help="folder to write (made if missing, inside an existing one)")
    provision.add_argument("--replace", action="store_true",
                           help="re-issue the token of a ward that already has one; the "
                                "agent installed there is refused until it gets the new "
                                "folder")
    provision.add_argument("--ca-file", type=Path, default=None,
                           help="CA that signed the collector's certificate, copied beside "
                                "the config")
    provision.add_argument("--inventory", type=Path, default=DEFAULT_INVENTORY,
                           help="inventory the ward must belong to")

    report = sub.add_parser(
        "export", help="write the city readiness report as CSV and XLSX",
        description="Read every ward's verdict from a running collector and write "
                    "OUT/sansang-readiness-<time>.csv and .xlsx, one row per ward.")
    report.add_argument("--collector-url", default="http://127.0.0.1:8080",
                        help="collector to read (default http://127.0.0.1:8080)")
    report.add_argument("--out", type=Path, default=Path("."),
                        help="folder to write the files into (default: here)")
    report.add_argument("--lang", choices=["vi", "en"], default="vi",
                        help="language of the problem texts (default vi)")
    report.add_argument("--user", default=None,
                        help="NOC login user, when the collector requires one; the password "
                             "is read from SANSANG_NOC_PASSWORD")

    hash_password = sub.add_parser("hash-password",
                                   help="print a bcrypt hash for --basic-auth-file",
                                   description="Read a password from standard input and print "
                                               "its bcrypt hash.")
    hash_password.add_argument("--user", default="noc", help="user name to print beside it")
    return parser


def _check_token_issue(args: argparse.Namespace) -> None:
    """Refuse what ``token issue`` would get wrong, before the tokens file is touched."""
    for option, path in (("--tokens", args.tokens), ("--out", args.out)):
        if path is not None and not path.parent.is_dir():
            raise ProvisionRefused(f"{option}: the folder {path.parent} does not exist; create "
                                   "it first or name a file in an existing folder")
    if has_token(args.tokens, args.ward) and not args.replace:
        raise ProvisionRefused(
            f"ward {args.ward} already has a token in {args.tokens}; add --replace to issue a "
            "new one (the agent installed at the ward is then refused until it gets it)")


# What export says when it cannot, in the language of --lang.
EXPORT_FAILURES = {
    "url": ("--collector-url: cần http(s)://MÁY[:CỔNG], ví dụ http://127.0.0.1:8080; "
            "nhận được {url!r}",
            "--collector-url: expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:8080; "
            "got {url!r}"),
    "out": ("--out: thư mục {folder} không tồn tại; hãy tạo trước hoặc chọn thư mục khác",
            "--out: the folder {folder} does not exist; create it first or name another"),
    "unreachable": ("không kết nối được collector {url}: {reason}",
                    "cannot reach the collector at {url}: {reason}"),
    "login": ("collector {url} yêu cầu đăng nhập: thêm --user và đặt mật khẩu trong "
              "SANSANG_NOC_PASSWORD",
              "the collector at {url} needs a login: give --user, and the password in "
              "SANSANG_NOC_PASSWORD"),
    "refused": ("collector {url} trả lời HTTP {status} {reason}",
                "the collector at {url} answered HTTP {status} {reason}"),
    "not_collector": ("{url} không trả lời như một collector sansang (--collector-url)",
                      "{url} did not answer as a sansang collector (--collector-url)"),
    "write": ("không ghi được {path}: {reason}", "cannot write {path}: {reason}"),
}


def _export(args: argparse.Namespace) -> int:
    """Write the report, or say in one line, in the language of --lang, why not."""
    import urllib.error

    from collector.export import export, password_from_env

    def fail(key: str, code: int, **values: object) -> int:
        vi, en = EXPORT_FAILURES[key]
        print(f"export: {(vi if args.lang == 'vi' else en).format(**values)}", file=sys.stderr)
        return code

    url = args.collector_url
    try:
        checked_collector_url(url)
    except ProvisionRefused:
        return fail("url", 2, url=url)
    folder = args.out.absolute().parent
    if not folder.is_dir():
        return fail("out", 2, folder=folder)
    try:
        csv_path, xlsx_path = export(url, args.out, args.lang, args.user, password_from_env())
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            return fail("login", 1, url=url)
        return fail("refused", 1, url=url, status=exc.code, reason=exc.reason)
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or exc.reason
        return fail("unreachable", 1, url=url, reason=reason)
    except (ValueError, KeyError, TypeError):
        # Not JSON, or JSON without the ward list: something else answers at that address.
        return fail("not_collector", 1, url=url)
    except OSError as exc:
        if exc.filename is None:
            return fail("unreachable", 1, url=url, reason=exc.strerror or exc)
        return fail("write", 1, path=exc.filename, reason=exc.strerror)
    print(f"wrote {csv_path} and {xlsx_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "hash-password":
        try:
            password = sys.stdin.buffer.readline().rstrip(b"\r\n").decode()
        except UnicodeDecodeError:
            print("hash-password: the password on standard input is not UTF-8 text",
                  file=sys.stderr)
            return 2
        if not password:
            print("no password on standard input", file=sys.stderr)
            return 2
        try:
            hashed = hash_password(password)
        except ValueError as exc:
            print(f"hash-password: {exc}; choose a shorter one", file=sys.stderr)
            return 2
        print(f"users:\n  {args.user}: '{hashed}'")
        return 0
    if args.command == "export":
        return _export(args)
    try:
        inventory = load_inventory(args.inventory)
    except ConfigError as exc:
        exc.report("invalid inventory")
        return 2

    if args.command in ("provision", "token") and args.ward not in inventory.wards:
        command = "provision" if args.command == "provision" else "token issue"
        print(f"{command}: {unknown_ward(inventory, args.ward, args.inventory)}",
              file=sys.stderr)
        return 2
    if args.command == "provision":
        try:
            replaced = args.replace and has_token(args.tokens, args.ward)
            path = provision(inventory, args.ward, args.tokens, args.collector_url, args.out,
                             args.ca_file, replace=args.replace)
        except ProvisionRefused as exc:
            print(f"provision: {exc}", file=sys.stderr)
            return 2
        except ConfigError as exc:
            exc.report("provision: unreadable tokens file")
            return 2
        print(f"agent for ward {args.ward} written to {path.parent}/ "
              f"(copy it to the ward, then: python agent.py run --config agent.yaml)")
        if replaced:
            print(f"ward {args.ward}'s old token no longer works: the agent installed there "
                  f"is refused until this folder replaces its own")
        return 0
    if args.command == "token":
        try:
            _check_token_issue(args)
        except ProvisionRefused as exc:
            print(f"token issue: {exc}", file=sys.stderr)
            return 2
        except ConfigError as exc:
            exc.report("token issue: unreadable tokens file")
            return 2
        if args.out:
            # Made (mode 600) before the token is issued, so a file that cannot be written
            # leaves the ward's old token in place.
            try:
                args.out.touch(mode=0o600)
            except OSError as exc:
                print(f"token issue: --out {args.out}: cannot write: {exc.strerror}",
                      file=sys.stderr)
                return 2
        token = issue_token(args.tokens, args.ward)
        if args.out:
            args.out.write_text(token.reveal() + "\n", encoding="utf-8")
            print(f"token for ward {args.ward} written to {args.out}")
        else:
            print(token.reveal())
        return 0

    return _serve(args, inventory)


def _serve(args: argparse.Namespace, inventory: Inventory) -> int:
    """Run the collector until stopped; a file or address it cannot use is one line."""

    def refuse(line: str) -> int:
        print(f"cannot start the collector: {line}", file=sys.stderr)
        return 2

    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    simulated: frozenset[str] = frozenset()
    if args.simulated_wards:
        try:
            simulated = frozenset(args.simulated_wards.read_text().split())
        except (OSError, UnicodeDecodeError) as exc:
            return refuse(f"--simulated-wards {args.simulated_wards}: cannot read: "
                          f"{getattr(exc, 'strerror', None) or 'not UTF-8 text'}")
    if not args.database.absolute().parent.is_dir():
        return refuse(f"--database: the folder {args.database.absolute().parent} does not "
                      "exist; create it first or name another")
    settings = CollectorSettings(
        inventory=inventory,
        tokens_path=args.tokens,
        database_path=args.database,
        simulated_wards=simulated,
        report_interval_seconds=args.report_interval,
        max_body_bytes=args.max_body_bytes,
        speedtest_slots=args.speedtest_slots,
        rate_per_second=args.rate,
        rate_burst=args.rate_burst,
        retention_days=args.retention_days,
        basic_auth_path=args.basic_auth_file,
        alertmanager_url=args.alertmanager_url,
        prometheus_url=args.prometheus_url,
        grafana_url=args.grafana_url,
        tune_garbage_collector=True,
    )
    ssl_context = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("--tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        for option, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key),
                             ("--tls-client-ca", args.tls_client_ca)):
            try:
                if path is not None:
                    path.read_bytes()
            except OSError as exc:
                return refuse(f"{option} {path}: cannot read: {exc.strerror}")
        try:
            ssl_context = server_tls_context(args.tls_cert, args.tls_key, args.tls_client_ca)
        except ssl.SSLError as exc:
            detail = f" ({exc.reason})" if exc.reason else ""
            return refuse(f"--tls-cert {args.tls_cert}, --tls-key {args.tls_key}: not a PEM "
                          f"certificate chain and its key{detail}")
    try:
        app = create_app(settings)
    except ConfigError as exc:
        exc.report("cannot start the collector")
        return 2
    except sqlite3.Error as exc:
        return refuse(f"--database {args.database}: cannot open: {exc}")
    host, port = args.listen
    scheme = "https" if ssl_context else "http"
    try:
        web.run_app(app, host=host, port=port, ssl_context=ssl_context,
                    access_log_class=AccessLogWithoutQuery, print=lambda _m: print(
            f"sansang collector on {scheme}://{host}:{port}/ (metrics at /metrics)",
            flush=True))
    except OSError as exc:
        # Only the listening socket's own failures; anything else is a bug to see whole.
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        return refuse(f"--listen {host}:{port}: {os.strerror(exc.errno)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
