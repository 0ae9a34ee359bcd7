"""Round-trip statistics shared by the ICMP probe and the bandwidth probe's RTT.

Pure functions over lists of RTTs, so they are tested without sockets.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence


def jitter(rtts: Sequence[float]) -> float:
    """Mean absolute difference of consecutive RTTs (0 with fewer than two)."""
    if len(rtts) < 2:
        return 0.0
    return sum(abs(b - a) for a, b in itertools.pairwise(rtts)) / (len(rtts) - 1)


def loss_ratio(sent: int, received: int) -> float:
    """Loss from what was actually sent and received; nothing sent counts as total loss."""
    if sent <= 0:
        return 1.0
    return max(0.0, min(1.0, (sent - received) / sent))
