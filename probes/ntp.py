"""NTP probe: how far this machine's clock is from one NTP server, with the delay and stratum.

A ward PC whose clock is off breaks TLS and the document system's digital signatures.
One request, no hidden retries; the wire is ntplib's (a maintained SNTP client), run in
a thread since it blocks, and never past ``min(timeout_seconds, deadline)``. The offset
is the server's clock minus ours: positive when this clock is behind.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field

from probes.base import (
    ProbeCli,
    ProbeConfig,
    ProbeKind,
    ProbeResult,
    finite_or_none,
    remaining,
    timeout_budget,
)
from probes.series import Family, Sample, add

if TYPE_CHECKING:
    import argparse

    from inventory.model import Ward


class NtpConfig(ProbeConfig):
    port: int = Field(default=123, ge=1, le=65535)
    version: int = Field(default=4, ge=1, le=4)
    timeout_seconds: float = Field(default=2.0, gt=0.0, le=60.0)


class NtpResult(ProbeResult):
    server: str = Field(max_length=300)
    # The server's clock minus this machine's, and the round trip, as NTP computes them.
    offset_seconds: float | None = None
    delay_seconds: float | None = Field(default=None, ge=0.0)
    stratum: int | None = Field(default=None, ge=0, le=16)
    leap: int | None = Field(default=None, ge=0, le=3)


# Stratum 16 is "unsynchronised" (RFC 5905); 0 is a kiss-o'-death packet.
UNSYNCHRONISED = 16


def _ask(server: str, config: NtpConfig, timeout: float) -> Any:
    import ntplib

    return ntplib.NTPClient().request(server, version=config.version, port=config.port,
                                      timeout=timeout)


async def probe(target: str, config: NtpConfig, deadline: float) -> NtpResult:
    """Ask ``target`` (a host name or address) for its time, once."""
    import ntplib

    started = time.monotonic()
    result = NtpResult(up=False, server=target[:300])
    budget = min(config.timeout_seconds, remaining(deadline))
    if budget <= 0:
        result.error = "no time left before the deadline"
        return result
    try:
        answer = await asyncio.wait_for(asyncio.to_thread(_ask, target, config, budget),
                                        budget + 0.5)
    except (ntplib.NTPException, TimeoutError):
        result.error = f"NTP server {target} did not answer within {budget:.1f} s"
    except socket.gaierror as exc:
        result.error = f"cannot resolve NTP server {target}: {exc.strerror or exc}"
    except OSError as exc:
        result.error = f"cannot reach NTP server {target}: {exc.strerror or exc}"
    else:
        stratum = int(answer.stratum)
        if stratum in (0, UNSYNCHRONISED) or not 0 <= int(answer.leap) <= 2:
            # A server that says it does not know the time: its offset means nothing.
            result.error = (f"NTP server {target} is not synchronised "
                            f"(stratum {stratum}, leap {answer.leap})")
            result.stratum = stratum if 0 <= stratum <= UNSYNCHRONISED else None
        else:
            result.up = True
            result.offset_seconds = finite_or_none(float(answer.offset))
            delay = finite_or_none(float(answer.delay))
            result.delay_seconds = delay if delay is not None and delay >= 0 else None
            result.stratum, result.leap = stratum, int(answer.leap)
            if result.offset_seconds is None:
                result.up, result.error = False, f"NTP server {target} sent no usable time"
    result.duration_seconds = time.monotonic() - started
    return result


# --- the kind, declared once

FAMILIES = (
    Family("sansang_ntp_up", "1 when the NTP server answered with a synchronised time."),
    Family("sansang_clock_offset_seconds",
           "The NTP server's clock minus the ward machine's (positive: the ward is behind)."),
    Family("sansang_ntp_delay_seconds", "Round trip of the NTP exchange."),
    Family("sansang_ntp_stratum", "Stratum the NTP server reports (1 is a reference clock)."),
)


def series(target: str, result: NtpResult, ward: Ward) -> list[Sample]:
    out: list[Sample] = []
    labels = {"server": target}
    add(out, "sansang_ntp_up", labels, 1 if result.up else 0)
    add(out, "sansang_clock_offset_seconds", labels, result.offset_seconds)
    add(out, "sansang_ntp_delay_seconds", labels, result.delay_seconds)
    add(out, "sansang_ntp_stratum", labels, result.stratum)
    return out


def failed(target: str, error: str) -> NtpResult:
    return NtpResult(up=False, error=error, server=target[:300])


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("servers", nargs="+", metavar="SERVER", help="NTP server(s) to ask")
    parser.add_argument("--port", type=int, default=123, help="UDP port (default 123)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")


def _from_arguments(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    return list(args.servers), {"port": args.port, "timeout_seconds": args.timeout}


KIND = ProbeKind(
    "ntp", NtpConfig, NtpResult, probe, FAMILIES, series, failed, timeout_budget,
    columns=[("server", "server", ""), ("up", "up", ""), ("offset_seconds", "offset", "s"),
             ("delay_seconds", "delay", "s"), ("stratum", "stratum", "")],
    cli=ProbeCli("NTP: this machine's clock offset from a server", _arguments,
                 _from_arguments, json_list=True),
)
