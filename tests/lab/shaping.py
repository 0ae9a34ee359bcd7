"""Link shaping and loss injection inside lab namespaces: tc tbf/htb and nft random drop.

Every command runs through ``ip netns exec`` in a namespace the lab created, so
nothing here can touch the host's own interfaces or firewall. This kernel has no
netem: rate comes from tbf or htb, random loss from nft's ``numgen``.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

COMMAND_TIMEOUT_SECONDS = 15.0
# A veth's own default.
DEFAULT_GSO_MAX_SEGS = 65535


def ns_run(netns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one command inside ``netns``, bounded in time."""
    return subprocess.run(
        ["ip", "netns", "exec", netns, *args],
        capture_output=True, text=True, check=check, timeout=COMMAND_TIMEOUT_SECONDS,
    )


def tbf_burst_bytes(rate_bits_per_second: float) -> int:
    # Four milliseconds of traffic, never less than a few full-size frames: enough
    # to ride over a late qdisc watchdog on a busy machine. A much larger bucket
    # refills whenever the queue drains and lets bursts through above the rate,
    # which made 3-second figures at 10 Mbit/s wander by 5 %.
    return max(4096, int(rate_bits_per_second / 8 * 0.004))


def shape_tbf(
    netns: str,
    dev: str,
    rate_bits_per_second: float,
    *,
    burst_bytes: int | None = None,
    latency_ms: float = 50.0,
) -> None:
    """Limit the egress of ``dev`` to ``rate_bits_per_second`` with a token bucket.

    The device's TCP segmentation offload is capped at one segment, so tbf meters
    real wire-size frames rather than 64 KiB super-packets that a small bucket
    would have to split (or drop).
    """
    burst = burst_bytes or tbf_burst_bytes(rate_bits_per_second)
    ns_run(netns, "ip", "link", "set", "dev", dev, "gso_max_segs", "1")
    ns_run(
        netns, "tc", "qdisc", "replace", "dev", dev, "root", "tbf",
        "rate", f"{int(rate_bits_per_second)}bit", "burst", str(burst),
        "latency", f"{latency_ms}ms",
    )


def shape_htb(netns: str, dev: str, rate_bits_per_second: float) -> None:
    """Limit the egress of ``dev`` with one htb class that takes all traffic."""
    rate = f"{int(rate_bits_per_second)}bit"
    unshape(netns, dev)
    ns_run(netns, "tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb",
           "default", "10")
    ns_run(netns, "tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:10",
           "htb", "rate", rate, "ceil", rate)


def unshape(netns: str, dev: str) -> None:
    """Back to the default qdisc and offload (no error when nothing was shaped)."""
    ns_run(netns, "tc", "qdisc", "del", "dev", dev, "root", check=False)
    ns_run(netns, "ip", "link", "set", "dev", dev, "gso_max_segs", str(DEFAULT_GSO_MAX_SEGS))


@dataclass(frozen=True)
class RandomDrop:
    """An nft rule in one namespace that drops a random share of matching packets."""

    netns: str
    table: str
    percent: int

    def counters(self) -> tuple[int, int]:
        """(packets seen by the rule set, packets dropped) since the rule was added."""
        listing = ns_run(self.netns, "nft", "-j", "list", "table", "inet", self.table)
        seen = dropped = 0
        for item in json.loads(listing.stdout)["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            comment = rule.get("comment", "")
            packets = next(
                (e["counter"]["packets"] for e in rule["expr"] if "counter" in e), 0
            )
            if comment == "seen":
                seen = packets
            elif comment == "dropped":
                dropped = packets
        return seen, dropped

    def remove(self) -> None:
        ns_run(self.netns, "nft", "delete", "table", "inet", self.table, check=False)


def random_drop(
    netns: str,
    percent: int,
    *,
    match: str = "icmp type echo-request",
    hook: str = "input",
    table: str = "sansang_lab_loss",
) -> RandomDrop:
    """Drop ``percent`` % of packets matching ``match`` at ``hook``, counting what it did.

    One rule counts every matching packet and the next drops a random share of
    them, so a test can compare a probe's loss with what was really dropped.
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be 0..100, not {percent}")
    ruleset = (
        f"table inet {table} {{\n"
        f"  chain {hook} {{\n"
        f"    type filter hook {hook} priority 0; policy accept;\n"
        f'    {match} counter comment "seen"\n'
        f'    {match} numgen random mod 100 < {percent} counter drop comment "dropped"\n'
        f"  }}\n"
        f"}}\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-f", "-"],
        input=ruleset, capture_output=True, text=True, check=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    return RandomDrop(netns=netns, table=table, percent=percent)
