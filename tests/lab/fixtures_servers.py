"""Fixtures that start the lab's platform servers and resolvers (see tls.py, dns.py).

Registered in tests/conftest.py through ``pytest_plugins``. Every server is
stopped at the end of its scope, whether the test passed or failed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.lab.dns import LabResolver, closed_udp_port, dnsmasq, silent_udp_port
from tests.lab.require import require_binary
from tests.lab.tls import LabPki, PlatformServers, platform_servers


@pytest.fixture(scope="session")
def lab_pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    """The test CA (its PEM at ``ca_file``) and the certificates the platforms present."""
    return LabPki(tmp_path_factory.mktemp("pki"))


@pytest_asyncio.fixture
async def platforms(lab_pki: LabPki) -> AsyncIterator[PlatformServers]:
    """Healthy, expiring, expired, wrong-host, 503 and hung platforms on 127.0.0.1."""
    async with platform_servers(lab_pki) as servers:
        yield servers


@pytest.fixture(scope="session")
def lab_resolver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabResolver]:
    """dnsmasq on 127.0.0.1 with the lab's static records; fails in CI when missing."""
    binary = require_binary("dnsmasq")["dnsmasq"]
    with dnsmasq(binary, tmp_path_factory.mktemp("dnsmasq")) as resolver:
        yield resolver


@pytest.fixture
def silent_resolver() -> Iterator[tuple[str, int]]:
    """``(host, port)`` of a UDP socket that takes queries and never answers."""
    with silent_udp_port() as address:
        yield address


@pytest.fixture
def closed_resolver() -> tuple[str, int]:
    """``(host, port)`` where nothing listens: the kernel answers port unreachable."""
    return closed_udp_port()
