"""A Unix-socket bridge that lets a lab namespace reach a service on the host's loopback.

The host keeps no lab address and the namespace gets no route out: a TCP
listener on the namespace's own 127.0.0.1 forwards each connection to a Unix
socket in the shared filesystem, and the host side forwards that socket to the
service on the host's 127.0.0.1. Every byte travels on a loopback.

  python -m tests.lab.bridge tcp-to-unix --listen 127.0.0.1:18080 --unix /tmp/x.sock
  python -m tests.lab.bridge unix-to-tcp --unix /tmp/x.sock --connect 127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.lab.netns import Host, Lab


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _splice(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                  open_upstream: object) -> None:
    try:
        upstream_reader, upstream_writer = await open_upstream()  # type: ignore[operator]
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(_pipe(client_reader, upstream_writer),
                         _pipe(upstream_reader, client_writer))


async def tcp_to_unix(listen: str, unix_path: str) -> None:
    host, _, port = listen.rpartition(":")
    server = await asyncio.start_server(
        lambda r, w: _splice(r, w, lambda: asyncio.open_unix_connection(unix_path)),
        host, int(port))
    await _serve(server)


async def unix_to_tcp(unix_path: str, connect: str) -> None:
    host, _, port = connect.rpartition(":")
    server = await asyncio.start_unix_server(
        lambda r, w: _splice(r, w, lambda: asyncio.open_connection(host, int(port))),
        unix_path)
    await _serve(server)


async def _serve(server: asyncio.base_events.Server) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        print("ready", flush=True)
        await stop.wait()


@contextlib.contextmanager
def bridged(lab: Lab, host: Host, service_url: str, directory: Path,
            port: int = 18080) -> Iterator[str]:
    """Make the host's loopback ``service_url`` reachable inside ``host`` at the URL yielded."""
    from tests.lab.netns import python_command
    from tests.lab.servers import spawn, stop_process, wait_until

    socket_path = directory / f"bridge-{host.name}-{port}.sock"
    outside = spawn([sys.executable, "-m", "tests.lab.bridge", "unix-to-tcp", "--unix",
                     str(socket_path), "--connect", service_url.removeprefix("http://")],
                    directory / f"bridge-{host.name}-{port}.log")
    try:
        wait_until(socket_path.exists, 10, what="host side of the bridge")
        inside = lab.start(host, python_command("-m", "tests.lab.bridge", "tcp-to-unix",
                                                "--listen", f"127.0.0.1:{port}", "--unix",
                                                str(socket_path)))
        lab.wait_for_line(inside, "ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(outside)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.bridge")
    sub = parser.add_subparsers(dest="direction", required=True)
    inward = sub.add_parser("tcp-to-unix")
    inward.add_argument("--listen", required=True)
    inward.add_argument("--unix", required=True)
    outward = sub.add_parser("unix-to-tcp")
    outward.add_argument("--unix", required=True)
    outward.add_argument("--connect", required=True)
    args = parser.parse_args(argv)
    if args.direction == "tcp-to-unix":
        asyncio.run(tcp_to_unix(args.listen, args.unix))
    else:
        asyncio.run(unix_to_tcp(args.unix, args.connect))
    return 0


if __name__ == "__main__":
    sys.exit(main())
