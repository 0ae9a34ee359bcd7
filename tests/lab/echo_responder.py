"""A user-space ICMP echo responder with an exact delay and an exact loss share.

Run inside a lab namespace whose kernel echo replies are off
(``net.ipv4.icmp_echo_ignore_all=1``). Each echo request is answered after
``--delay-ms``, counted from the kernel's receive timestamp so a busy machine does
not add its own wake-up latency to the delay. ``--drop-percent P`` drops exactly P
of every 100 requests of each flow (source address and ICMP identifier), spread
evenly, so a probe of N packets sees exactly N*P/100 lost. Prints ``ready`` once
listening; on SIGTERM or SIGINT prints one JSON line of what it saw and exits.
"""

from __future__ import annotations

import argparse
import heapq
import json
import select
import signal
import socket
import struct
import sys
import time
from collections import Counter

ECHO_REQUEST = 8
ECHO_REPLY = 0
# struct timespec, as SO_TIMESTAMPNS hands it over (64-bit Linux).
TIMESPEC = struct.Struct("@qq")
# Python does not export it; 35 on every Linux architecture.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_reply(request: bytes) -> bytes:
    reply = bytearray(request)
    reply[0] = ECHO_REPLY
    reply[2:4] = b"\x00\x00"
    reply[2:4] = struct.pack("!H", checksum(bytes(reply)))
    return bytes(reply)


def dropped(index: int, percent: int) -> bool:
    """Whether the ``index``-th request (0-based) of a flow is dropped: P of every 100."""
    return (index + 1) * percent // 100 > index * percent // 100


def serve(delay_seconds: float, drop_percent: int) -> dict[str, int]:
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    print("ready", flush=True)

    per_flow: Counter[tuple[str, int]] = Counter()
    stats = {"requests": 0, "dropped": 0, "replied": 0}
    # (due wall-clock time, tie-breaker, destination, reply bytes)
    pending: list[tuple[float, int, str, bytes]] = []
    sequence = 0
    while not stopping:
        now = time.time()
        while pending and pending[0][0] <= now:
            _, _, destination, reply = heapq.heappop(pending)
            try:
                sock.sendto(reply, (destination, 0))
                stats["replied"] += 1
            except OSError:
                pass
        wait = min(pending[0][0] - now, 0.5) if pending else 0.5
        try:
            readable, _, _ = select.select([sock], [], [], max(wait, 0.0))
        except InterruptedError:
            continue
        if not readable:
            continue
        data, ancillary, _, address = sock.recvmsg(65535, 64)
        received_at = time.time()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = TIMESPEC.unpack(value[: TIMESPEC.size])
                received_at = seconds + nanoseconds / 1e9
        header_length = (data[0] & 0x0F) * 4
        icmp = data[header_length:]
        if len(icmp) < 8 or icmp[0] != ECHO_REQUEST or icmp[1] != 0:
            continue
        source = address[0]
        identifier = struct.unpack("!H", icmp[4:6])[0]
        index = per_flow[(source, identifier)]
        per_flow[(source, identifier)] += 1
        stats["requests"] += 1
        if dropped(index, drop_percent):
            stats["dropped"] += 1
            continue
        sequence += 1
        heapq.heappush(pending, (received_at + delay_seconds, sequence, source, echo_reply(icmp)))
    sock.close()
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--drop-percent", type=int, default=0, choices=range(101),
                        metavar="0..100")
    args = parser.parse_args(argv)
    stats = serve(args.delay_ms / 1000.0, args.drop_percent)
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
