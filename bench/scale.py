"""How big and how long each benchmark runs: the full national run, and the quick smoke run."""

from __future__ import annotations

from dataclasses import dataclass

from bench.fleet import NATIONAL_WARDS


@dataclass(frozen=True)
class Scale:
    name: str
    wards: int
    # ingest
    warmup_seconds: float
    single_seconds: float
    single_rounds: int
    batched_seconds: float
    batch_rounds: int  # rounds of one ward per backlog batch (9 reports a round)
    batches: int
    concurrency: int
    batch_concurrency: int
    pushgateway_seconds: float
    pushgateway_fill_seconds: float
    # /metrics
    render_repeats: int
    # agent
    agent_interval_seconds: float
    agent_settle_seconds: float
    agent_window_seconds: float
    # icmp
    icmp_hosts: int
    icmp_count: int
    icmp_interval_seconds: float
    icmp_repeats: int
    # bandwidth
    bandwidth_seconds: float
    bandwidth_warmup_seconds: float
    bandwidth_streams: int
    # board
    board_loads: int


FULL = Scale(
    name="full", wards=NATIONAL_WARDS,
    warmup_seconds=2.0, single_seconds=15.0, single_rounds=3,
    batched_seconds=15.0, batch_rounds=22, batches=1200, concurrency=32, batch_concurrency=4,
    pushgateway_seconds=15.0, pushgateway_fill_seconds=600.0,
    render_repeats=5,
    # The agent's shipped default interval for icmp, http, dns and snmp: its steady state.
    agent_interval_seconds=60.0, agent_settle_seconds=30.0, agent_window_seconds=180.0,
    icmp_hosts=200, icmp_count=5, icmp_interval_seconds=0.2, icmp_repeats=3,
    bandwidth_seconds=5.0, bandwidth_warmup_seconds=1.0, bandwidth_streams=4,
    board_loads=7,
)

QUICK = Scale(
    name="quick", wards=150,
    warmup_seconds=0.3, single_seconds=1.5, single_rounds=2,
    batched_seconds=1.5, batch_rounds=22, batches=60, concurrency=16, batch_concurrency=2,
    pushgateway_seconds=1.5, pushgateway_fill_seconds=30.0,
    render_repeats=2,
    agent_interval_seconds=2.0, agent_settle_seconds=3.0, agent_window_seconds=4.0,
    icmp_hosts=20, icmp_count=2, icmp_interval_seconds=0.1, icmp_repeats=1,
    bandwidth_seconds=1.0, bandwidth_warmup_seconds=0.3, bandwidth_streams=2,
    board_loads=2,
)
