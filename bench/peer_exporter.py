"""The ``/metrics`` peer: prometheus_client exposing the very series the collector serves.

``PeerCollector`` is a custom collector in client_python's recommended style: on
every scrape ``collect()`` builds fresh metric families from the current data
(here, the samples parsed once from the collector's own output, so both expose
exactly the same series). Run as ``python -m bench.peer_exporter SAMPLES PORT``
it serves them with prometheus_client's aiohttp handler (gzip through aiohttp,
as the collector's), and ``/healthz``.
"""

from __future__ import annotations

import asyncio
import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.lab.aioserve import serve_until_signalled


@dataclass(frozen=True)
class FamilyData:
    name: str
    documentation: str
    type: str
    samples: list[tuple[str, dict[str, str], float]]


def parse_exposition(text: str) -> list[FamilyData]:
    return [FamilyData(f.name, f.documentation, f.type,
                       [(s.name, dict(s.labels), s.value) for s in f.samples])
            for f in text_string_to_metric_families(text)]


class PeerCollector:
    def __init__(self, families: list[FamilyData]):
        self.families = families

    def collect(self) -> Iterator[Metric]:
        for data in self.families:
            family: Metric
            if data.type == "counter":
                family = CounterMetricFamily(data.name, data.documentation)
            else:
                family = GaugeMetricFamily(data.name, data.documentation)
            for name, labels, value in data.samples:
                family.add_sample(name, labels, value)
            yield family


def registry_for(families: list[FamilyData]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PeerCollector(families))
    return registry


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def serve(families: list[FamilyData], port: int) -> None:
    app = web.Application()
    app.router.add_get("/metrics", make_aiohttp_handler(registry_for(families)))
    app.router.add_get("/healthz", _healthz)
    await serve_until_signalled(app, "127.0.0.1", port)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    families = pickle.loads(Path(args[0]).read_bytes())
    asyncio.run(serve(families, int(args[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
