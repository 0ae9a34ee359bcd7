"""Pytest fixtures for the network lab: a fresh ``Lab`` per test or per module.

Each fixture checks the lab's requirements first (root, ip, tc, nft): in CI a
missing one fails the test, elsewhere it skips. The lab is torn down (processes
stopped, namespaces deleted) whatever the test did.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lab.netns import Lab, sweep_stale
from tests.lab.require import require_binary, require_root


def require_lab() -> None:
    require_root()
    require_binary("ip", "tc", "nft", "sysctl")
    # A run killed mid-test (a CI timeout) could not remove its namespaces.
    sweep_stale()


@pytest.fixture
def lab() -> Iterator[Lab]:
    """An empty lab for one test: ``lab.star(n)`` or ``lab.add_host``/``lab.link``."""
    require_lab()
    with Lab() as built:
        yield built


@pytest.fixture(scope="module")
def module_lab() -> Iterator[Lab]:
    """An empty lab shared by the tests of one module (build it once, reuse it)."""
    require_lab()
    with Lab() as built:
        yield built
