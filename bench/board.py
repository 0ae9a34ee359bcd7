"""The NOC board at national scale in Chromium, against HCMC's 168-ward board in the same run.

Each side is a real collector (subprocess, loopback only) whose wards were fed one
round of simulated reports, every 24th ward left without any so that it shows as
"no agent yet". Debian's Chromium, driven by Playwright, loads ``/`` in a fresh
context (nothing cached) several times after one untimed warm-up; the figures are
the medians of the navigation timings the browser itself records: the load event
(the page's script has run by then) and the first contentful paint, each context's
tab having opened the collector's ``/healthz`` first (as a NOC's open browser has
its renderer running already); nothing the board needs is cached by that. The weight is
what the board costs on the wire: its HTML, stylesheet and script, each gzipped as
the collector sends it (or at gzip's default level when it sends it plain).
"""

from __future__ import annotations

import gzip
import http.client
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from bench.fleet import Fleet, round_of_reports, write_tokens
from bench.ingest import FILL_CONCURRENCY, ingest_request
from bench.loadclient import run_loadgen
from bench.results import Row, at_most
from bench.scale import Scale
from bench.servers import Unavailable, binary, collector
from demo.fleet import simulated_ward
from demo.inventory import write_simulated_city

TARGET_LOAD_MS = 1000.0
TARGET_WEIGHT_KB = 300.0
# As tests/test_pages_browser.py launches it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 800}
# Between opening the tab and loading the board: Chromium and Playwright finish their own
# work first, instead of competing with the collector for the machine's two cores.
SETTLE_SECONDS = 1.0
# Wards that never report, to show as "no agent yet" beside the ready and failing ones.
UNREPORTED_EVERY = 24
ROW_KEYS = [
    ("board_load", "board of the national inventory in Chromium: load event", "ms"),
    ("board_paint", "board of the national inventory: first contentful paint", "ms"),
    ("board_weight", "board of the national inventory: HTML + CSS + JS, gzip", "KB"),
]
PEER = "HCMC's board, 168 wards"

# What the browser recorded for the page it has just loaded (times from navigation start).
NAVIGATION_FIGURES = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const resources = performance.getEntriesByType("resource");
    return {
        response_start: nav.responseStart, response_end: nav.responseEnd,
        dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
        first_contentful_paint: paint ? paint.startTime : null,
        transfer_bytes: nav.transferSize + resources.reduce((s, r) => s + r.transferSize, 0),
        html_bytes: nav.decodedBodySize, tiles: document.querySelectorAll(".tile").length,
    };
}"""


def hcmc_fleet(directory: Path) -> Fleet:
    """The demo's inventory of HCMC's 168 wards, every ward simulated, with its tokens."""
    directory.mkdir(parents=True, exist_ok=True)
    inventory_path = directory / "inventory.yaml"
    inventory = write_simulated_city(inventory_path)
    tokens = write_tokens(directory / "tokens.yaml", inventory.wards)
    wards = [simulated_ward(inventory, code, tokens[code]) for code in inventory.wards]
    return Fleet(inventory_path, directory / "tokens.yaml", wards, inventory)


def feed(work: Path, name: str, port: int, fleet: Fleet) -> int:
    """One round of reports from every ward but every ``UNREPORTED_EVERY``-th; wards fed."""
    rng = random.Random(17)
    now = time.time()
    requests = [ingest_request(port, ward.token, round_of_reports(ward, now, rng))
                for index, ward in enumerate(fleet.wards) if index % UNREPORTED_EVERY != 5]
    filled = run_loadgen(work, name, port, requests, concurrency=FILL_CONCURRENCY,
                         duration_seconds=3600)
    if filled["failed"]:
        raise RuntimeError(f"feeding the {name} collector failed: {filled}")
    time.sleep(1.5)  # verdicts are refreshed every second
    return len(requests)


def gzip_weight(port: int, paths: list[str]) -> dict[str, int]:
    """Bytes of each path gzipped: as the collector sends it, or gzip -6 when it sends it plain."""
    weights = {}
    for path in paths:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}")
            compressed = response.getheader("Content-Encoding") == "gzip"
            weights[path] = len(body) if compressed else len(gzip.compress(body, 6, mtime=0))
        finally:
            connection.close()
    return weights


def measure_loads(url: str, loads: int, home: Path) -> list[dict[str, Any]]:
    """The browser's own timings of ``loads`` loads of ``url``, each in a fresh context."""
    from playwright.sync_api import sync_playwright

    chromium = binary("chromium")
    home.mkdir(parents=True, exist_ok=True)  # Chromium writes .cache and .config there
    figures = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": str(home)}, timeout=60_000)
        try:
            for index in range(loads + 1):  # the first is a warm-up, not counted
                context = browser.new_context(viewport=VIEWPORT)
                try:
                    page = context.new_page()
                    # The tab already shows the collector (its tiny /healthz), as a NOC's
                    # browser would: what is timed is the board, not Chromium starting the
                    # tab's renderer process, which on two cores slows the server too.
                    page.goto(urljoin(url, "/healthz"), wait_until="load", timeout=60_000)
                    time.sleep(SETTLE_SECONDS)
                    response = page.goto(url, wait_until="load", timeout=60_000)
                    if response is None or response.status != 200:
                        raise RuntimeError(f"{url} answered {response and response.status}")
                    # The first paint is recorded a frame after it happens.
                    # (A function, not an expression: the page's policy forbids eval.)
                    page.wait_for_function(
                        "() => performance.getEntriesByName('first-contentful-paint').length",
                        timeout=10_000)
                    if index:
                        figures.append(page.evaluate(NAVIGATION_FIGURES))
                finally:
                    context.close()
        finally:
            browser.close()
    return figures


def board_figures(work: Path, name: str, fleet: Fleet, loads: int) -> dict[str, Any]:
    """Start a collector for ``fleet``, feed it, and measure its board."""
    with collector(work / name, fleet.inventory_path, fleet.tokens_path,
                   extra_args=["--rate", "10000", "--rate-burst", "100000",
                               # no ward falls silent while its board is measured
                               "--report-interval", "3600"]) as server:
        fed = feed(work, name, server.port, fleet)
        timings = measure_loads(f"{server.url}/?lang=vi", loads, work / "chromium-home")
        weights = gzip_weight(server.port, ["/?lang=vi", "/static/sansang.css",
                                            "/static/board.js"])
    tiles = {t["tiles"] for t in timings}
    if tiles != {len(fleet.wards)}:
        raise RuntimeError(f"the {name} board showed {tiles} tiles, not {len(fleet.wards)}")
    return {
        "wards": len(fleet.wards), "fed": fed, "loads": timings, "gzip_bytes": weights,
        "load_ms": statistics.median(t["load"] for t in timings),
        "paint_ms": statistics.median(t["first_contentful_paint"] for t in timings),
        "server_ms": statistics.median(t["response_start"] for t in timings),
        "weight_kb": sum(weights.values()) / 1000,
        "html_kb": timings[-1]["html_bytes"] / 1000,
        "transfer_kb": statistics.median(t["transfer_bytes"] for t in timings) / 1000,
    }


def run(work: Path, fleet: Fleet, scale: Scale) -> list[Row]:
    binary("chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"Playwright is not installed: {exc}") from exc
    ours = board_figures(work, "national", fleet, scale.board_loads)
    peer = board_figures(work, "hcmc", hcmc_fleet(work / "hcmc-fleet"), scale.board_loads)
    note = (f"{ours['wards']:,} wards ({ours['fed']:,} fed), median of {scale.board_loads} "
            f"loads in fresh contexts; the collector answers in {ours['server_ms']:.0f} ms "
            f"(HCMC {peer['server_ms']:.0f} ms); HTML {ours['html_kb']:,.0f} KB plain, "
            f"{ours['transfer_kb']:,.0f} KB on the wire")
    return [
        Row("board_load", ROW_KEYS[0][1], "ms", ours["load_ms"], peer["load_ms"], PEER,
            target=f"≤ {TARGET_LOAD_MS:,.0f} ms", met=at_most(ours["load_ms"], TARGET_LOAD_MS),
            note=note, details={"ours": ours, "peer": peer}),
        Row("board_paint", ROW_KEYS[1][1], "ms", ours["paint_ms"], peer["paint_ms"], PEER),
        Row("board_weight", ROW_KEYS[2][1], "KB", ours["weight_kb"], peer["weight_kb"], PEER,
            target=f"≤ {TARGET_WEIGHT_KB:,.0f} KB",
            met=at_most(ours["weight_kb"], TARGET_WEIGHT_KB)),
    ]
