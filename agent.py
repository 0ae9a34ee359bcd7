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
import sys
import time
from typing import Any

from inventory.yamlfile import ConfigError
from probes import PROBES
from probes.bandwidth import BandwidthConfig
from probes.bandwidth import budget_seconds as bandwidth_budget_seconds
from probes.base import ProbeConfig, ProbeResult
from probes.icmp import IcmpConfig
from probes.secret import Secret

PROBE_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "icmp": [("host", "host", ""), ("sent", "sent", ""), ("received", "recv", ""),
             ("loss_ratio", "loss", "ratio"), ("rtt_min_seconds", "min", "s"),
             ("rtt_avg_seconds", "avg", "s"), ("rtt_max_seconds", "max", "s"),
             ("jitter_seconds", "jitter", "s")],
    "http": [("url", "url", ""), ("up", "up", ""), ("status_code", "status", ""),
             ("response_seconds", "response", "s"), ("connect_seconds", "connect", "s"),
             ("tls_seconds", "tls", "s"), ("tls_expiry_timestamp_seconds", "cert expiry", "")],
    "dns": [("name", "name", ""), ("resolver", "resolver", ""), ("up", "up", ""),
            ("lookup_seconds", "lookup", "s"), ("addresses", "addresses", "")],
    "bandwidth": [("up", "up", ""), ("download_bytes_per_second", "download", "B/s"),
                  ("upload_bytes_per_second", "upload", "B/s"), ("rtt_seconds", "rtt", "s"),
                  ("streams", "streams", "")],
    "snmp": [("up", "up", ""), ("profile", "profile", ""), ("sys_name", "name", ""),
             ("uptime_seconds", "uptime", ""), ("cpu_ratio", "cpu", "ratio"),
             ("memory_used_ratio", "memory", "ratio")],
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python agent.py",
        description="sansang ward agent: measures the ward's link, the city platforms and the "
                    "equipment, and pushes the results to the collector. Also the technician's "
                    "tool for ad-hoc probes and a one-shot readiness check.",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the agent on its schedule until stopped",
                         description="Probe on the configured intervals, keep every result in "
                                     "the on-disk spool, push to the collector.")
    run.add_argument("--config", required=True, help="agent config YAML")

    probe = sub.add_parser("probe", help="run one probe now and print the result",
                           description="Run one probe now. With --json print one JSON document; "
                                       "exit 0 when it succeeded, 1 when it failed.")
    kinds = probe.add_subparsers(dest="kind", required=True)

    icmp = kinds.add_parser("icmp", help="ICMP echo: RTT, jitter, loss")
    icmp.add_argument("hosts", nargs="+", metavar="HOST", help="host(s) to ping")
    icmp.add_argument("--count", type=int, default=5, help="echo requests per host (default 5)")
    icmp.add_argument("--interval", type=float, default=0.2,
                      help="seconds between requests to one host (default 0.2)")
    icmp.add_argument("--timeout", type=float, default=1.0,
                      help="seconds to wait for each reply (default 1)")

    bandwidth = kinds.add_parser("bandwidth", help="download and upload against the collector")
    bandwidth.add_argument("collector_url", metavar="COLLECTOR_URL",
                           help="collector base URL, e.g. https://collector:8080/")
    bandwidth.add_argument("--duration", type=float, default=10,
                           help="seconds of measurement per direction (default 10)")
    bandwidth.add_argument("--streams", type=int, default=4,
                           help="parallel TCP streams (default 4)")
    bandwidth.add_argument("--token-file", default=None,
                           help="file holding the ward's token, if the collector asks for one")
    bandwidth.add_argument("--ca-file", default=None, help="CA file to verify the collector")

    http = kinds.add_parser("http", help="HTTP(S): status, timings, certificate expiry")
    http.add_argument("url", metavar="URL", help="the URL to fetch, http:// or https://")
    http.add_argument("--timeout", type=float, default=5.0, help="seconds in all (default 5)")
    http.add_argument("--ca-file", default=None, help="CA file for private certificates")

    dns = kinds.add_parser("dns", help="DNS lookup time and addresses")
    dns.add_argument("name", metavar="NAME", help="the name to look up")
    dns.add_argument("--resolver", default=None,
                     help="resolver IP[:PORT] (default: the system's resolver)")
    dns.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")

    snmp = kinds.add_parser("snmp", help="SNMP device: identity, CPU, memory, interfaces, UPS")
    snmp.add_argument("host", metavar="HOST[:PORT]", help="device address; port 161 by default")
    auth = snmp.add_mutually_exclusive_group(required=True)
    auth.add_argument("--community", help="SNMP v2c community")
    auth.add_argument("--user", help="SNMP v3 user (authPriv)")
    snmp.add_argument("--auth-protocol", choices=["sha", "sha256"], help="v3 auth protocol")
    snmp.add_argument("--auth-key", help="v3 auth key")
    snmp.add_argument("--priv-protocol", choices=["aes", "aes256"], help="v3 privacy protocol")
    snmp.add_argument("--priv-key", help="v3 privacy key")
    snmp.add_argument("--context", default=None, help="v3 context name")
    snmp.add_argument("--profile", default="auto",
                      choices=["auto", "host", "switch", "router", "ups", "printer"],
                      help="what to read (default: auto, from sysObjectID)")
    snmp.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")

    for kind_parser in (icmp, bandwidth, http, dns, snmp):
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


def _probe_config(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    """The targets and config fields for ``args.kind`` from the command line."""
    kind = args.kind
    if kind == "icmp":
        return args.hosts, {"count": args.count, "interval_seconds": args.interval,
                            "timeout_seconds": args.timeout}
    if kind == "bandwidth":
        fields: dict[str, Any] = {"duration_seconds": args.duration, "streams": args.streams,
                                  "ca_file": args.ca_file}
        if args.token_file:
            fields["token"] = Secret.from_file(args.token_file)
        return [args.collector_url], fields
    if kind == "http":
        return [args.url], {"timeout_seconds": args.timeout, "ca_file": args.ca_file}
    if kind == "dns":
        fields = {"timeout_seconds": args.timeout}
        if args.resolver:
            host, _, port = args.resolver.rpartition(":") if args.resolver.count(":") == 1 \
                else (args.resolver, "", "")
            fields["resolver"] = host or args.resolver
            if port:
                fields["port"] = int(port)
        return [args.name], fields
    if kind == "snmp":
        if args.community is not None:
            fields = {"version": "2c", "community": Secret(args.community)}
        else:
            fields = {"version": "3", "user": args.user, "auth_protocol": args.auth_protocol,
                      "auth_key": Secret(args.auth_key or ""),
                      "priv_protocol": args.priv_protocol,
                      "priv_key": Secret(args.priv_key or ""), "context_name": args.context}
        return [args.host], {**fields, "profile": args.profile, "timeout_seconds": args.timeout}
    raise AssertionError(kind)


def _budget(config: ProbeConfig) -> float:
    if isinstance(config, IcmpConfig):
        return config.count * (config.interval_seconds + config.timeout_seconds) + 1
    if isinstance(config, BandwidthConfig):
        return bandwidth_budget_seconds(config)
    return config.timeout_seconds + 1


async def run_probe(args: argparse.Namespace) -> int:
    if args.kind not in PROBES:
        print(f"probe kind {args.kind!r} is not available in this build", file=sys.stderr)
        return 2
    probe_kind = PROBES[args.kind]
    targets, fields = _probe_config(args)
    try:
        config = probe_kind.config_type(**{k: v for k, v in fields.items() if v is not None})
    except ValueError as exc:
        print(f"invalid options: {exc}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + _budget(config)
    results: list[ProbeResult] = list(
        await asyncio.gather(*(probe_kind.run(t, config, deadline) for t in targets))
    )
    documents = [r.to_json() for r in results]
    if args.json:
        # icmp prints a list (one object per host); every other kind prints one object.
        print(json.dumps(documents if args.kind == "icmp" else documents[0], ensure_ascii=False))
    else:
        from ward_agent.display import table

        table(documents, PROBE_COLUMNS[args.kind])
    return 0 if all(r.up for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every round it starts at INFO; the agent's own log says what matters.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command == "probe":
        return asyncio.run(run_probe(args))
    from ward_agent.config import load_agent_config

    try:
        config = load_agent_config(args.config)
    except ConfigError as exc:
        exc.report(f"invalid agent config {args.config}")
        return 2
    if args.command == "run":
        from ward_agent.runner import AgentRunner

        try:
            asyncio.run(AgentRunner(config).run())
        except KeyboardInterrupt:
            pass
        return 0
    from ward_agent.check import check

    return check(config, as_json=args.json, push=args.push, language=args.lang)


if __name__ == "__main__":
    sys.exit(main())
