"""ICMP at scale: the probe over 200 lab hosts against fping, same count and pacing.

A target namespace holds 200 addresses of 10.77.1.0/24 on one veth (its kernel
answers); the prober namespace, where unprivileged ICMP sockets are allowed as
an agent would be set up, runs ``bench.icmp_timed`` and then
``fping -C N -q -p P -i 1 -t T`` over the same hosts. Both send N requests to
every host, one every P ms per host; the figure is the time until every host's
last reply. A second namespace without that setting shows the probe on raw
sockets (a root agent on a stock host), where all its probes share one socket.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.results import Row, at_most
from bench.scale import Scale
from bench.servers import Unavailable, binary
from probes.icmp import MAX_CONCURRENT

if TYPE_CHECKING:
    from tests.lab.netns import Host

TARGET_RATIO = 1.5
TIMEOUT_SECONDS = 1.0
ROW_KEYS = [("icmp", "ICMP probe of lab hosts", "s"),
            ("icmp_raw", "ICMP probe of lab hosts, raw sockets", "s")]


def run(work: Path, scale: Scale) -> list[Row]:
    if os.geteuid() != 0:
        raise Unavailable("needs root to build network namespaces")
    for name in ("ip", "fping", "sysctl"):
        binary(name)
    from tests.lab.netns import Lab

    fping = binary("fping")
    with Lab(prefix="sb-") as lab:
        target = lab.add_host("target")
        prober = lab.add_host("prober", unprivileged_ping=True)
        raw_prober = lab.add_host("raw")
        lab.link(target, prober)
        lab.link(target, raw_prober)
        hosts = [target.address_toward(prober)]
        hosts += [lab.add_address(target, prober) for _ in range(scale.icmp_hosts - 1)]
        raw_hosts = [target.address_toward(raw_prober)]
        raw_hosts += [lab.add_address(target, raw_prober) for _ in range(scale.icmp_hosts - 1)]

        def ours_from(host: Host, addresses: list[str], repeats: int) -> list[dict[str, Any]]:
            completed = host.python(
                "-m", "bench.icmp_timed", "--count", str(scale.icmp_count),
                "--interval", str(scale.icmp_interval_seconds),
                "--timeout", str(TIMEOUT_SECONDS), "--repeats", str(repeats), *addresses,
                timeout=600)
            runs: list[dict[str, Any]] = json.loads(completed.stdout)
            return runs

        ours = ours_from(prober, hosts, scale.icmp_repeats)
        raw = ours_from(raw_prober, raw_hosts, scale.icmp_repeats)

        peer = []
        for _ in range(scale.icmp_repeats):
            started = time.perf_counter()
            result = prober.run(
                fping, "-C", str(scale.icmp_count), "-q",
                "-p", str(round(scale.icmp_interval_seconds * 1000)), "-i", "1",
                "-t", str(round(TIMEOUT_SECONDS * 1000)), *hosts, check=False, timeout=300)
            seconds = time.perf_counter() - started
            # "-C" prints "HOST : 0.05 0.04 -" per host on stderr; "-" is a lost packet.
            replies = sum(1 for line in result.stderr.splitlines() if " : " in line
                          for value in line.partition(" : ")[2].split() if value != "-")
            peer.append({"seconds": seconds, "received": replies})

    expected = scale.icmp_hosts * scale.icmp_count
    ours_seconds = statistics.median(r["seconds"] for r in ours)
    peer_seconds = statistics.median(r["seconds"] for r in peer)
    ours_received = min(r["received"] for r in ours)
    peer_received = min(r["received"] for r in peer)
    note = (f"{scale.icmp_count} requests per host every {scale.icmp_interval_seconds * 1000:.0f}"
            f" ms, median of {scale.icmp_repeats}; replies: ours {ours_received}/{expected} "
            f"({ours[0]['socket']} socket), fping {peer_received}/{expected}; fping's time "
            f"includes starting it, ours does not include starting Python")
    ratio = ours_seconds / peer_seconds
    raw_seconds = statistics.median(r["seconds"] for r in raw)
    raw_received = min(r["received"] for r in raw)
    raw_note = (f"median of {scale.icmp_repeats}; {raw[0]['socket']} socket, one shared by up "
                f"to {MAX_CONCURRENT} hosts at once, replies sorted by identifier and source; "
                f"replies {raw_received}/{expected}; the agent uses datagram sockets when "
                f"net.ipv4.ping_group_range allows its group")
    return [
        Row("icmp", f"ICMP probe of {scale.icmp_hosts} lab hosts", "s", ours_seconds,
            peer_seconds, "fping", target=f"≤ {TARGET_RATIO}×",
            met=at_most(ratio, TARGET_RATIO) if ours_received == expected else False,
            note=note, details={"ours": ours, "fping": peer, "raw": raw}),
        Row("icmp_raw", f"ICMP probe of {scale.icmp_hosts} lab hosts, raw sockets", "s",
            raw_seconds, peer_seconds, "fping", target=f"≤ {TARGET_RATIO}×",
            met=at_most(raw_seconds / peer_seconds, TARGET_RATIO)
            if raw_received == expected else False, note=raw_note),
    ]
