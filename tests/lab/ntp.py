"""A real NTP server for the lab and the benchmarks: Debian's chronyd serving its own clock.

``chronyd -x`` never touches the machine's clock; ``local stratum 3`` makes it answer
as a synchronised server. With an offset it runs under libfaketime, so it serves a
clock shifted by a known amount (namespaces share the real-time clock, so the shift is
the only difference a client sees).
"""

from __future__ import annotations

from pathlib import Path

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def chronyd_server_command(chronyd: str, folder: Path, address: str, port: int = 123,
                           offset: str | None = None, synchronised: bool = True) -> list[str]:
    """The command line of a chronyd serving ``address:port``; ``offset`` like ``+5s``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "chrony.conf"
    config.write_text(("local stratum 3\n" if synchronised else "")
                      + f"allow all\nbindaddress {address}\nport {port}\ncmdport 0\n"
                      f"pidfile {folder}/chronyd.pid\ndriftfile {folder}/drift\n")
    command = [chronyd, "-d", "-x", "-u", "root", "-f", str(config)]
    if offset is None:
        return command
    return ["env", f"LD_PRELOAD={LIBFAKETIME}", f"FAKETIME={offset}",
            "FAKETIME_DONT_FAKE_MONOTONIC=1", *command]
