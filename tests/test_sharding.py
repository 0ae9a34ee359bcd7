"""Past one machine: wards sharded across collectors, one Prometheus each, one central store.

Two collectors own disjoint halves of the wards (``bench.sharding.shard_of``);
each is scraped by its own Prometheus, which remote-writes into Debian's
VictoriaMetrics. A third Prometheus scrapes both collectors, as a single
server would. The central store must know every ward of both shards, and the
city board's queries must answer there exactly as on the single Prometheus.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from bench.fleet import build_fleet, round_of_reports
from bench.servers import victoria_metrics
from bench.sharding import shard_of, split_inventory
from inventory.load import DEFAULT_INVENTORY, load_inventory
from tests.lab.require import require_binary
from tests.lab.servers import (
    http_get,
    http_post_json,
    running_collector,
    running_prometheus,
    wait_until,
)

WARDS = 40
SHARDS = 2
CITY_BOARD = Path(__file__).resolve().parents[1] / "dashboards" / "json" / "sansang-city.json"


def test_the_shard_of_a_ward_is_fixed_by_its_code_alone() -> None:
    # The first 8 bytes of SHA-256 of the code, modulo the number of shards: these
    # values are the contract every machine (and any other tool) must agree on.
    codes = ("26968", "25747", "10000", "10001", "10002", "10003")
    assert [shard_of(code, 2) for code in codes] == [0, 1, 0, 1, 0, 0]
    assert [shard_of(code, 3) for code in codes] == [1, 2, 2, 1, 1, 2]
    assert shard_of(" 26968 ", 3) == shard_of("26968", 3)
    assert shard_of("26968", 1) == 0
    assert {shard_of(str(code), 4) for code in range(10000, 10100)} == {0, 1, 2, 3}
    with pytest.raises(ValueError):
        shard_of("26968", 0)


def test_split_inventories_load_and_hold_every_ward_exactly_once(tmp_path: Path) -> None:
    city = load_inventory(DEFAULT_INVENTORY)

    parts = [load_inventory(p) for p in split_inventory(DEFAULT_INVENTORY, 3, tmp_path)]

    codes = [code for part in parts for code in part.wards]
    assert sorted(codes) == sorted(city.wards)
    for shard, part in enumerate(parts):
        assert all(shard_of(code, 3) == shard for code in part.wards)
        assert all(part.wards[code] == city.wards[code] for code in part.wards)
        assert part.platforms == city.platforms and part.thresholds == city.thresholds
    assert min(len(p.wards) for p in parts) >= len(city.wards) // 3 * 0.7


def board_queries() -> dict[str, str]:
    """The city board's panel queries, with its variables set to All (their allValue)."""
    board = json.loads(CITY_BOARD.read_text())
    values = {v["name"]: v.get("allValue") or ".*" for v in board["templating"]["list"]}
    queries = {}
    for panel in board["panels"]:
        for index, target in enumerate(panel.get("targets", [])):
            expr = target.get("expr", "")
            if not expr or "$__" in expr:
                continue
            expr = re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), expr)
            queries[f"{panel['title']} [{index}]"] = expr
    return queries


def instant(url: str, expr: str, at: float) -> dict[str, float]:
    """An instant query's result as {labels without job/instance/shard: value}."""
    status, body = http_get(url + "/api/v1/query?" + urllib.parse.urlencode(
        {"query": expr, "time": f"{at:.3f}"}), timeout=30)
    assert status == 200, body
    data = json.loads(body)["data"]
    if data["resultType"] == "scalar":
        return {"": float(data["result"][1])}
    return {
        json.dumps({k: v for k, v in r["metric"].items()
                    if k not in ("job", "instance", "shard")}, sort_keys=True):
            float(r["value"][1])
        for r in data["result"]
    }


# VictoriaMetrics stores values as decimals: a Unix timestamp may come back a few
# float64 steps (2.4e-7 s each near 1.8e9) away, so "seconds since" a timestamp can
# differ by that much (seen: 1.4e-6 s, six steps, 8e-16 of the timestamp). Allowed:
# 16 steps, 2e-15 of the timestamp; anything a person would see still has to agree.
TIMESTAMP_ROUNDING_SECONDS = 16 * 2.4e-7


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        abs(a[k] - b[k]) <= max(TIMESTAMP_ROUNDING_SECONDS, 1e-9 * abs(a[k])) for k in a)


@pytest.fixture
def sharded_fleet(tmp_path: Path) -> Iterator[dict[str, Any]]:
    require_binary("prometheus", "victoria-metrics")
    fleet = build_fleet(tmp_path / "fleet", WARDS)
    shard_inventories = split_inventory(fleet.inventory_path, SHARDS, tmp_path / "shards")
    with ExitStack() as stack:
        central = stack.enter_context(victoria_metrics(tmp_path / "victoria-metrics"))
        collectors = []
        for shard, inventory in enumerate(shard_inventories):
            codes = list(load_inventory(inventory).wards)
            collectors.append(stack.enter_context(running_collector(
                tmp_path / f"collector-{shard}", codes, inventory=inventory)))
        targets = [c.url.removeprefix("http://") for c in collectors]
        for shard, target in enumerate(targets):
            stack.enter_context(running_prometheus(
                tmp_path / f"prometheus-{shard}", [target], scrape_interval="1s",
                extra_config={
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                               "external_labels": {"shard": str(shard)}},
                    "remote_write": [{"url": central.url + "/api/v1/write",
                                      "queue_config": {"batch_send_deadline": "1s"}}],
                }))
        single = stack.enter_context(running_prometheus(tmp_path / "prometheus-single",
                                                        targets, scrape_interval="1s"))
        rng = random.Random(5)
        now = time.time()
        for ward in fleet.wards:
            owner = collectors[shard_of(ward.code, SHARDS)]
            status, answer = http_post_json(
                owner.url + "/api/v1/reports", {"reports": round_of_reports(ward, now, rng)},
                headers={"Authorization": f"Bearer {owner.tokens[ward.code]}"})
            assert status == 200, answer
        yield {"codes": fleet.codes, "central": central.url, "single": single.url,
               "collectors": collectors}


@pytest.mark.servers
def test_central_store_holds_every_ward_and_answers_the_board_like_one_prometheus(
    sharded_fleet: dict[str, Any],
) -> None:
    central, single = sharded_fleet["central"], sharded_fleet["single"]
    codes = sorted(sharded_fleet["codes"])
    owned = [sorted(c.tokens) for c in sharded_fleet["collectors"]]
    assert sorted(owned[0] + owned[1]) == codes and not set(owned[0]) & set(owned[1])

    def every_ward_everywhere() -> bool:
        at = time.time()
        expr = ("count by (ward) (sansang_ward_ready) "
                "and on(ward) sansang_agent_last_report_timestamp_seconds")
        return all(len(instant(url, expr, at)) == len(codes) for url in (central, single))

    wait_until(every_ward_everywhere, 60, interval=0.5, what="every ward in both stores")
    at = time.time()
    wards = instant(central, "group by (ward) (sansang_ward_info)", at)
    assert sorted(json.loads(k)["ward"] for k in wards) == codes

    queries = board_queries()
    assert len(queries) >= 8
    results: dict[str, tuple[dict[str, float], dict[str, float]]] = {}

    def all_agree() -> bool:
        moment = time.time() - 1
        results.update({name: (instant(central, q, moment), instant(single, q, moment))
                        for name, q in queries.items()})
        return all(same(c, s) for c, s in results.values())

    try:
        wait_until(all_agree, 30, interval=1, what="the board's queries agreeing")
    finally:
        for name, (on_central, on_single) in results.items():
            if not same(on_central, on_single):
                print(f"{name}: central {on_central} single {on_single}")
    ready = results[next(n for n in queries if n.startswith("Sẵn sàng"))]
    wards_total = results[next(n for n in queries if n.startswith("Tổng số"))]
    assert wards_total[0] == {"{}": float(WARDS)}
    assert 0 < sum(ready[0].values()) < WARDS
