"""Which ICMP socket the agent uses, and what it says when it may use neither."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from probes import icmp
from probes.stats import jitter, loss_ratio


@pytest.fixture(autouse=True)
def fresh_choice() -> Iterator[None]:
    icmp.socket_mode.cache_clear()
    yield
    icmp.socket_mode.cache_clear()


def test_a_group_inside_ping_group_range_uses_unprivileged_sockets(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(icmp, "_ping_group_range", lambda: (0, 2147483647))
    monkeypatch.setattr(icmp, "_has_cap_net_raw", lambda: False)
    assert icmp.socket_mode() == "unprivileged"


def test_cap_net_raw_without_the_group_uses_raw_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(icmp, "_ping_group_range", lambda: (1, 0))
    monkeypatch.setattr(icmp, "_has_cap_net_raw", lambda: True)
    assert icmp.socket_mode() == "raw"


def test_neither_says_why_and_how_to_fix_it_as_a_failed_result(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(icmp, "_ping_group_range", lambda: (1, 0))
    monkeypatch.setattr(icmp, "_has_cap_net_raw", lambda: False)
    with pytest.raises(icmp.IcmpUnavailable) as raised:
        icmp.socket_mode()
    message = str(raised.value)
    assert "ping_group_range (1 0)" in message
    assert "CAP_NET_RAW" in message and "AmbientCapabilities=CAP_NET_RAW" in message
    result = asyncio.run(icmp.probe("127.0.0.1", icmp.IcmpConfig(count=1),
                                    time.monotonic() + 2))
    assert result.up is False and result.error == message
    assert (result.sent, result.loss_ratio) == (0, 1.0)


def test_jitter_is_the_mean_absolute_difference_of_consecutive_rtts() -> None:
    assert jitter([0.010, 0.030, 0.020, 0.020]) == pytest.approx((0.020 + 0.010 + 0.0) / 3)
    assert jitter([0.010]) == 0.0


def test_loss_counts_what_was_sent_and_nothing_sent_is_total_loss() -> None:
    assert loss_ratio(10, 7) == pytest.approx(0.3)
    assert loss_ratio(0, 0) == 1.0
