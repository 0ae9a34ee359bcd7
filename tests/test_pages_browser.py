"""The pages in a real browser: Debian's Chromium, driven by Playwright, against a collector.

A collector with the demo inventory takes one round of the simulated fleet for every ward
but a few, which never report and so are silent; nothing reports after that, so what the
pages show and what ``/api/v1/wards`` says can be compared exactly. The board, a failing
ward's page, the dispatch list and its CSV are read at a desktop and a phone size, in both
languages, with no console error and no sideways scrolling on the phone. A second collector
with a NOC login proves the login guards the board and the dispatch list, while a ward's
signed link opens that ward's page and nothing else. Screenshots go to
test-artifacts/screens/.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import csv
import io
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from collector.i18n import MESSAGES, Language
from collector.pages import DISPATCH_COLUMNS
from collector.security import hash_password
from demo.fleet import SimulatedWard, run_fleet, simulated_ward
from demo.history import seed_history
from demo.inventory import write_simulated_city
from inventory import criteria
from inventory.load import DEFAULT_INVENTORY, load_inventory
from inventory.model import Inventory
from tests.lab.require import require_binary
from tests.lab.servers import ROOT, Collector, http_get, running_collector
from tests.test_words_for_people import QUOTED_CAUSE

pytestmark = pytest.mark.servers

SCREENS = ROOT / "test-artifacts" / "screens"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage"]
SCREEN_SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
TAN_SON_NHAT = "26968"
NOC_USER, NOC_PASSWORD = "noc", "mật-khẩu-thử"
# Checks whose problems print a measured value against a limit (not a state such as "down").
NUMERIC_CHECKS = {"latency", "jitter", "loss", "dns", "bandwidth"}
# Verdicts must not drift while the pages are read: no ward falls silent within this.
REPORT_INTERVAL_SECONDS = 300


# --- the running system


@dataclass
class Fleet:
    """A collector fed once by the simulated fleet; ``unreported`` wards never reported."""

    collector: Collector
    inventory: Inventory
    unreported: list[str]

    @property
    def url(self) -> str:
        return self.collector.url

    def wards(self, language: Language = "vi") -> dict[str, dict[str, Any]]:
        status, body = http_get(f"{self.url}/api/v1/wards?lang={language}")
        assert status == 200, body
        return {w["code"]: w for w in json.loads(body)["wards"]}

    def counts(self) -> dict[str, int]:
        return dict(json.loads(http_get(f"{self.url}/api/v1/wards")[1])["counts"])


def feed_once(url: str, wards: list[SimulatedWard]) -> None:
    """One round of the fleet, on a loop of its own thread (the test's thread runs Playwright)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(run_fleet(url, wards, interval_seconds=0, rounds=1))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="fleet", daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the fleet did not finish its round within 60 s"
    assert not failure, failure


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    directory = tmp_path_factory.mktemp("fleet")
    # Every ward is simulated here, so every ward gets the demo's router and UPS.
    inventory_path = directory / "inventory.yaml"
    inventory = write_simulated_city(inventory_path)
    codes = list(inventory.wards)
    simulated = directory / "simulated-wards.txt"
    simulated.write_text("\n".join(codes) + "\n")
    # Silent wards are ones that never reported: a ward that fell silent would say for how
    # long, a text that changes every second and so cannot be compared with the API's.
    unreported = [c for c in codes[5::24] if c != TAN_SON_NHAT]
    with running_collector(directory, codes, inventory=inventory_path, extra_args=[
        "--simulated-wards", str(simulated),
        "--report-interval", str(REPORT_INTERVAL_SECONDS),
    ]) as collector:
        feed_once(collector.url, [
            simulated_ward(inventory, code, collector.tokens[code])
            for code in codes if code not in unreported
        ])
        fed = Fleet(collector, inventory, unreported)
        reported = {c for c, w in fed.wards().items() if w["last_report_at"] is not None}
        assert reported == set(codes) - set(unreported), collector.log_path.read_text()
        yield fed


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    chromium = require_binary("chromium")["chromium"]
    home = tmp_path_factory.mktemp("chromium-home")  # Chromium writes .cache and .config
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": str(home)}, timeout=30_000)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """A page at one screen size that remembers every console error and uncaught exception."""

    page: Page
    screen: str
    errors: list[str] = field(default_factory=list)

    def watch(self) -> Tab:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"console: {message.text} at {message.location}")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        return self

    def open(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, (url, response)

    def screenshot(self, name: str) -> None:
        SCREENS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENS / f"{name}-{self.screen}.png", full_page=True)

    def assert_fits_the_screen(self) -> None:
        """No sideways scrolling: nothing reaches past the right edge of the viewport."""
        overflow = self.page.evaluate("""() => {
            const width = document.documentElement.clientWidth;
            const wide = [];
            for (const el of document.body.querySelectorAll("*")) {
                const box = el.getBoundingClientRect();
                if (box.width && box.right > width + 0.5) {
                    wide.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ` +
                              `right=${Math.round(box.right)}`);
                }
            }
            return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
        }""")
        assert overflow["scroll"] <= overflow["width"], overflow


@contextlib.contextmanager
def new_context(browser: Browser, screen: str = "desktop", **options: Any
                ) -> Iterator[BrowserContext]:
    context = browser.new_context(**SCREEN_SIZES[screen], **options)
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(params=list(SCREEN_SIZES))
def tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tab]:
    screen = str(request.param)
    with new_context(browser, screen) as context:
        watched = Tab(context.new_page(), screen).watch()
        yield watched
        assert watched.errors == [], f"console errors at {screen} size"


# --- what the page shows


def visible_text(page: Page) -> str:
    """What a reader sees: rendered text, the tab title, placeholders, labels and options."""
    return str(page.evaluate("""() => {
        const parts = [document.title, document.body.innerText];
        for (const el of document.querySelectorAll("[placeholder], [aria-label], [title]")) {
            if (!el.getClientRects().length) continue;
            for (const name of ["placeholder", "aria-label", "title"]) {
                if (el.hasAttribute(name)) parts.push(el.getAttribute(name));
            }
        }
        for (const option of document.querySelectorAll("option")) parts.push(option.text);
        for (const el of document.querySelectorAll("[data-label]")) {
            if (el.getClientRects().length) parts.push(el.dataset.label);  // shown by CSS
        }
        return parts.join("\\n");
    }"""))


def catalogue(language: Language) -> list[str]:
    """Every text the pages take from a catalogue, in one language, placeholders left in."""
    index = 0 if language == "vi" else 1
    texts = [pair[index] for pair in MESSAGES.values()]
    for check in criteria.CHECKS:
        texts.append(check.title_vi if language == "vi" else check.title_en)
        for condition in check.conditions:
            texts.append(condition.problem_vi if language == "vi" else condition.problem_en)
        if check.missing is not None:
            texts.append(check.missing.problem_vi if language == "vi"
                         else check.missing.problem_en)
    return texts


def _words_of(text: str) -> list[str]:
    """The fixed pieces of a catalogue text, without its placeholders and too-short pieces."""
    pieces = (p.strip(" ;:,.—()") for p in re.split(r"\{\w+\}", text))
    return [p for p in pieces if len(re.findall(r"[^\W\d_]", p)) >= 2]


def _found(piece: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text) is not None


def strings_of_the_other_language(page: Page, language: Language,
                                  inventory: Inventory) -> list[str]:
    """Catalogue pieces of the other language that the page shows (data such as names excluded).

    A piece that also belongs to the page's own language (say "UPS") is not counted.
    """
    # A failure's cause is the probe's own words, quoted verbatim (docs/glossary.md).
    text = QUOTED_CAUSE.sub("", visible_text(page))
    data = {inventory.city}
    for ward in inventory.wards.values():
        data |= {ward.name, ward.province, ward.cluster, ward.address or ""}
        if ward.contact:
            data |= {v for v in ward.contact.model_dump().values() if isinstance(v, str)}
    for value in sorted(data - {""}, key=len, reverse=True):
        text = text.replace(value, " | ")
    own = "\n".join(catalogue(language))
    other: Language = "en" if language == "vi" else "vi"
    pieces = {p for t in catalogue(other) for p in _words_of(t) if not _found(p, own)}
    return sorted(p for p in pieces if _found(p, text))


def assert_in_language(page: Page, language: Language, inventory: Inventory) -> None:
    assert page.locator("html").get_attribute("lang") == language
    toggle = MESSAGES["nav.language"][0 if language == "vi" else 1]
    assert page.locator("#language-toggle").inner_text() == toggle
    assert strings_of_the_other_language(page, language, inventory) == []


def tiles_on_the_board(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("""() => Array.from(document.querySelectorAll(".tile"), (t) => ({
        code: t.dataset.code, status: t.dataset.status, classes: Array.from(t.classList),
        colour: getComputedStyle(t).backgroundColor, shown: t.getClientRects().length > 0,
        name: t.dataset.name,
    }))"""))


def legend_colours(page: Page) -> dict[str, str]:
    return dict(page.evaluate("""() => Object.fromEntries(
        ["ready", "not_ready", "silent", "not_installed"].map((s) => [s,
            getComputedStyle(document.querySelector(".legend .swatch." + s)).backgroundColor]))"""))


def failing_ward_per_check(wards: dict[str, dict[str, Any]]) -> dict[str, str]:
    """For each check that fails anywhere, one reporting ward where it fails."""
    chosen: dict[str, str] = {}
    for code, ward in wards.items():
        if ward["status"] != "not_ready":
            continue
        for failing in ward["failing"]:
            chosen.setdefault(failing["check"], code)
    return chosen


# --- the board


def test_board_shows_every_ward_in_the_colour_of_its_status(tab: Tab, fleet: Fleet) -> None:
    tab.open(f"{fleet.url}/?lang=vi")
    api = fleet.wards()
    tiles = tiles_on_the_board(tab.page)
    colours = legend_colours(tab.page)

    assert {s["status"] for s in api.values()} == {"ready", "not_ready", "not_installed"}, \
        "the fleet should give a mix of ready, not ready and never-reporting wards"
    # A ward that never reported has no agent yet: its own state, never "lost contact".
    assert {w["status"] for c, w in api.items() if c in fleet.unreported} == {"not_installed"}
    assert len(set(colours.values())) == 4, colours
    assert sorted(t["code"] for t in tiles) == sorted(api) and len(tiles) == 168
    for tile in tiles:
        status = api[tile["code"]]["status"]
        assert tile["status"] == status and status in tile["classes"], tile
        assert tile["colour"] == colours[status], tile
        assert tile["shown"], tile
    counts = fleet.counts()
    for status in ("ready", "not_ready", "silent", "not_installed"):
        assert tab.page.locator(f"#count-{status}").inner_text() == str(counts[status])
    if tab.screen == "phone":
        tab.assert_fits_the_screen()
    tab.screenshot("board-vi")


@pytest.mark.parametrize("typed", ["tan son nhat", "TAN SON NHAT", "Tân Sơn Nhất", "tÂn sƠn"])
def test_search_finds_a_ward_typed_without_diacritics_in_any_case(
        tab: Tab, fleet: Fleet, typed: str) -> None:
    tab.open(f"{fleet.url}/")
    tab.page.locator("#search").press_sequentially(typed)
    shown = [t for t in tiles_on_the_board(tab.page) if t["shown"]]

    assert TAN_SON_NHAT in {t["code"] for t in shown}
    assert next(t["name"] for t in shown if t["code"] == TAN_SON_NHAT) == "Phường Tân Sơn Nhất"
    assert all("Tân Sơn" in t["name"] for t in shown), shown
    assert tab.page.locator("#no-match").is_hidden()


def test_search_for_nothing_known_says_no_ward_matches(tab: Tab, fleet: Fleet) -> None:
    tab.open(f"{fleet.url}/?lang=en")
    tab.page.locator("#search").press_sequentially("khong co phuong nay")

    assert [t for t in tiles_on_the_board(tab.page) if t["shown"]] == []
    assert tab.page.locator("#no-match").inner_text() == MESSAGES["board.no_match"][1]


# --- a ward's page


@pytest.mark.parametrize("language", ["vi", "en"])
def test_ward_page_shows_each_failing_check_with_its_value_and_limit(
        tab: Tab, fleet: Fleet, language: Language) -> None:
    api = fleet.wards(language)
    chosen = failing_ward_per_check(api)
    assert NUMERIC_CHECKS | {"platforms", "devices", "power"} <= set(chosen), chosen

    for check_name, code in sorted(chosen.items()):
        ward = api[code]
        tab.open(f"{fleet.url}/ward/{code}?lang={language}")
        page = tab.page
        assert page.locator("h1").inner_text() == ward["name"]
        assert page.locator("#verdict").inner_text() == \
            MESSAGES["ward.not_ready"][0 if language == "vi" else 1]
        for name, ok in ward["checks"].items():
            expected = {True: "pass", False: "fail", None: "unknown"}[ok]
            assert expected in (page.locator(f"#check-{name}").get_attribute("class") or ""), \
                (code, name)
        for failing in ward["failing"]:
            item = page.locator(f"#check-{failing['check']}")
            assert item.locator(".check-title").inner_text() == \
                MESSAGES[f"check.{failing['check']}"][0 if language == "vi" else 1]
            assert item.locator(".problems li").all_inner_texts() == failing["problems"]
            if failing["check"] in NUMERIC_CHECKS:
                for problem in failing["problems"]:
                    assert len(re.findall(r"\d+(?:\.\d+)?", problem)) >= 2, problem
        if tab.screen == "phone":
            tab.assert_fits_the_screen()
        if check_name == "power":
            tab.screenshot(f"ward-{language}")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_printer_low_on_toner_is_worth_attention_not_a_failure(
        tab: Tab, fleet: Fleet, language: Language) -> None:
    api = fleet.wards(language)
    # The demo's printers are not supplies_required: one in six is nearly out of toner.
    noticed = [code for code, ward in api.items() if ward["notices"]]
    assert noticed and len(noticed) < len(api)
    code = next(c for c in noticed if api[c]["ready"]) if any(
        api[c]["ready"] for c in noticed) else noticed[0]
    ward = api[code]
    assert all("printer" not in " ".join(f["problems"]).lower()
               and "máy in" not in " ".join(f["problems"]) for f in ward["failing"])
    tab.open(f"{fleet.url}/ward/{code}?lang={language}")
    section = tab.page.locator("#notices")
    assert section.locator("h2").inner_text() == \
        MESSAGES["ward.notices"][0 if language == "vi" else 1]
    assert section.locator("li").all_inner_texts() == ward["notices"]
    if tab.screen == "phone":
        tab.assert_fits_the_screen()
    tab.screenshot(f"ward-notices-{language}")
    section.screenshot(path=SCREENS / f"ward-notices-section-{language}-{tab.screen}.png")


def test_ward_page_of_a_ward_that_never_reported_says_it_has_no_agent_yet(
        tab: Tab, fleet: Fleet) -> None:
    code = fleet.unreported[0]
    tab.open(f"{fleet.url}/ward/{code}?lang=vi")
    agent = fleet.wards()[code]["failing"]

    assert tab.page.locator("#verdict").inner_text() == MESSAGES["ward.not_installed"][0]
    # Nothing measured is a pass: not the devices or UPS it never declared either.
    marks = tab.page.locator(".check .mark").all_inner_texts()
    assert MESSAGES["state.pass"][0] not in marks
    assert [f["check"] for f in agent] == ["agent"]
    assert tab.page.locator("#check-agent .problems li").all_inner_texts() == agent[0]["problems"]
    if tab.screen == "phone":
        tab.assert_fits_the_screen()
    tab.screenshot("ward-silent-vi")


# --- both languages


def test_language_toggle_switches_every_visible_string(tab: Tab, fleet: Fleet) -> None:
    failing = failing_ward_per_check(fleet.wards())
    pages = {"board": "/", "ward": f"/ward/{failing['power']}", "dispatch": "/dispatch"}
    for name, path in pages.items():
        tab.open(f"{fleet.url}{path}?lang=vi")
        assert_in_language(tab.page, "vi", fleet.inventory)
        with tab.page.expect_navigation():
            tab.page.locator("#language-toggle").click()
        assert_in_language(tab.page, "en", fleet.inventory)
        tab.screenshot(f"{name}-en")
        with tab.page.expect_navigation():
            tab.page.locator("#language-toggle").click()
        assert_in_language(tab.page, "vi", fleet.inventory)


def test_the_chosen_language_follows_the_reader_to_other_pages(tab: Tab, fleet: Fleet) -> None:
    tab.open(f"{fleet.url}/?lang=en")
    with tab.page.expect_navigation():
        tab.page.locator(f"#tile-{TAN_SON_NHAT}").click()
    assert_in_language(tab.page, "en", fleet.inventory)
    tab.open(f"{fleet.url}/dispatch")  # no ?lang: the cookie remembers
    assert_in_language(tab.page, "en", fleet.inventory)


# --- the dispatch list


def test_dispatch_list_and_csv_have_one_row_per_failing_ward(tab: Tab, fleet: Fleet) -> None:
    api = fleet.wards()
    failing = {code: w for code, w in api.items() if w["failing"]}
    assert any(w["status"] == "not_installed" for w in failing.values())

    tab.open(f"{fleet.url}/dispatch?lang=vi")
    rows = tab.page.locator("#dispatch tbody tr").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.code)")
    assert sorted(rows) == sorted(failing)
    if tab.screen == "phone":
        tab.assert_fits_the_screen()
    tab.screenshot("dispatch-vi")

    with tab.page.expect_download() as download:
        tab.page.locator("#dispatch-csv").click()
    path = download.value.path()
    text = Path(path).read_text(encoding="utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(text)))
    assert header == [MESSAGES[f"dispatch.column.{key}"][0] for key in DISPATCH_COLUMNS]
    table = [dict(zip(DISPATCH_COLUMNS, line, strict=True)) for line in lines]
    assert sorted(r["ward"] for r in table) == sorted(failing)
    for row in table:
        ward = failing[row["ward"]]
        assert row["name"] == ward["name"]
        assert row["failing_checks"].split("; ") == [
            MESSAGES[f"check.{f['check']}"][0] for f in ward["failing"]]
        assert row["problems"] == "; ".join(p for f in ward["failing"] for p in f["problems"])


# --- the NOC login and a ward's own link


@pytest.fixture(scope="module")
def noc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    directory = tmp_path_factory.mktemp("noc")
    users = directory / "noc-users.yaml"
    users.write_text(f"users:\n  {NOC_USER}: '{hash_password(NOC_PASSWORD)}'\n")
    with running_collector(directory, [TAN_SON_NHAT],
                           extra_args=["--basic-auth-file", str(users)]) as collector:
        yield collector


NOC_ONLY = ["/", "/dispatch", "/dispatch.csv", "/api/v1/wards", "/metrics"]


@contextlib.contextmanager
def logged_in_context(browser: Browser, noc: Collector) -> Iterator[BrowserContext]:
    """A browser whose NOC session came from the login page's form."""
    with new_context(browser) as context:
        answer = context.request.post(noc.url + "/login", form={
            "user": NOC_USER, "password": NOC_PASSWORD, "next": "/"}, max_redirects=0)
        assert answer.status == 303, answer.text()
        yield context


def test_board_and_dispatch_list_require_the_noc_login(browser: Browser, noc: Collector) -> None:
    with new_context(browser) as anonymous:
        for path in NOC_ONLY:
            assert anonymous.request.get(noc.url + path).status == 401, path
        # A person gets the login page in Vietnamese, not the browser's Basic-auth dialog.
        tab = Tab(anonymous.new_page(), "desktop").watch()
        tab.open(noc.url + "/dispatch")
        assert "/login" in tab.page.url
        assert tab.page.locator("h1").inner_text() == MESSAGES["login.title"][0]
        tab.screenshot("login-vi")
        tab.page.locator("#login-user").fill(NOC_USER)
        tab.page.locator("#login-password").fill("wrong")
        with tab.page.expect_navigation():
            tab.page.locator("#login-submit").click()
        assert tab.page.locator("#login-problem").inner_text() == MESSAGES[
            "login.error.wrong"][0]
        tab.page.locator("#login-password").fill(NOC_PASSWORD)
        with tab.page.expect_navigation():
            tab.page.locator("#login-submit").click()
        assert tab.page.url.startswith(noc.url + "/dispatch")
        assert tab.page.locator(f"#dispatch tr[data-code='{TAN_SON_NHAT}']").count() == 1
        # The failed attempt's 401 is the only console error the login should cause.
        assert all("401" in e for e in tab.errors), tab.errors
    with new_context(browser, http_credentials={"username": NOC_USER,
                                                "password": "wrong"}) as wrong:
        assert wrong.request.get(noc.url + "/").status == 401
    with logged_in_context(browser, noc) as logged_in:
        tab = Tab(logged_in.new_page(), "desktop").watch()
        tab.open(noc.url + "/")
        assert tab.page.locator(".tile").count() == 168
        tab.open(noc.url + "/dispatch")
        assert tab.page.locator(f"#dispatch tr[data-code='{TAN_SON_NHAT}']").count() == 1
        assert logged_in.request.get(noc.url + "/dispatch.csv").status == 200
        assert tab.errors == []


def test_a_ward_link_opens_that_ward_page_and_nothing_else(
        browser: Browser, noc: Collector) -> None:
    with logged_in_context(browser, noc) as logged_in:
        page = logged_in.new_page()
        assert (response := page.goto(f"{noc.url}/ward/{TAN_SON_NHAT}")) and response.ok
        share_url = page.locator("#share-url").input_value()
    key = re.search(r"[?&]key=([^&]+)", share_url)
    assert share_url.startswith(f"{noc.url}/ward/{TAN_SON_NHAT}?") and key, share_url

    with new_context(browser, "phone") as anonymous:
        tab = Tab(anonymous.new_page(), "phone").watch()
        tab.open(share_url)
        assert tab.page.locator("h1").inner_text() == "Phường Tân Sơn Nhất"
        assert tab.page.locator("#share-url").count() == 0  # the ward cannot mint links
        assert tab.page.get_by_text(MESSAGES["ward.back"][0]).count() == 0
        tab.assert_fits_the_screen()
        tab.screenshot("ward-shared-vi")
        with tab.page.expect_navigation():
            tab.page.locator("#language-toggle").click()
        assert tab.page.locator("html").get_attribute("lang") == "en"
        assert tab.errors == []

        other = next(c for c in load_inventory(DEFAULT_INVENTORY).wards if c != TAN_SON_NHAT)
        for path in [f"/ward/{other}", *NOC_ONLY]:
            refused = anonymous.request.get(f"{noc.url}{path}?key={key[1]}")
            assert refused.status == 401, path
        forged = ("A" if key[1][0] != "A" else "B") + key[1][1:]
        tampered = anonymous.request.get(f"{noc.url}/ward/{TAN_SON_NHAT}?key={forged}")
        assert tampered.status == 401


# --- a ward whose agent fell silent


def test_a_silent_wards_old_data_is_stale_never_a_pass_and_its_silence_grows(
        tab: Tab, tmp_path: Path) -> None:
    import random
    import time
    import urllib.request

    from demo.fleet import simulated_reports

    inventory_path = tmp_path / "inventory.yaml"
    inventory = write_simulated_city(inventory_path)
    code = TAN_SON_NHAT
    # Probed every 2 s, so silent (and its data stale) 6 s after its last report.
    with running_collector(tmp_path / "collector", [code], inventory=inventory_path,
                           extra_args=["--report-interval", "2"]) as collector:
        ward = simulated_ward(inventory, code, collector.tokens[code], "healthy")
        reports = simulated_reports(ward, time.time() - 20, random.Random(1))
        request = urllib.request.Request(
            collector.url + "/api/v1/reports", data=json.dumps({"reports": reports}).encode(),
            headers={"Authorization": f"Bearer {ward.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200

        def api() -> dict[str, Any]:
            body = json.loads(http_get(f"{collector.url}/api/v1/wards?lang=vi")[1])
            return next(w for w in body["wards"] if w["code"] == code)

        first = api()
        assert first["status"] == "silent"
        tab.open(f"{collector.url}/ward/{code}?lang=vi")
        states = dict(tab.page.locator(".check").evaluate_all(
            "(items) => items.map((i) => [i.id.slice(6), i.dataset.state])"))
        marks = dict(tab.page.locator(".check").evaluate_all(
            "(items) => items.map((i) => [i.id.slice(6), i.querySelector('.mark').innerText])"))
        silence = tab.page.locator("#check-agent .problems li").inner_text()
        tab.screenshot("ward-silent-stale-vi")
        # Every check probed each round is stale, with its age, never "Đạt"; the speed
        # test is judged on its own day-long freshness (a nightly test is still today's).
        for check in ("latency", "jitter", "loss", "platforms", "dns", "devices", "power"):
            assert states[check] == "stale", (check, states)
            assert marks[check] == MESSAGES["state.stale"][0]
            note = tab.page.locator(f"#check-{check} .note").inner_text()
            assert "giây" in note, note
        assert states["agent"] == "fail" and states["bandwidth"] == "pass"
        assert states == first["states"]

        time.sleep(1.5)
        later = api()
        assert later["silent_for_seconds"] > first["silent_for_seconds"]
        tab.open(f"{collector.url}/ward/{code}?lang=vi")
        assert tab.page.locator("#check-agent .problems li").inner_text() != silence


# --- finding and filtering the wards to act on


def visible_codes(page: Page) -> list[str]:
    return sorted(page.locator(".tile:not([hidden])").evaluate_all(
        "(tiles) => tiles.map((t) => t.dataset.code)"))


def test_tiles_name_their_failing_checks_and_the_reason_strip_filters_by_check(
        tab: Tab, fleet: Fleet) -> None:
    api = fleet.wards()
    tab.open(f"{fleet.url}/?lang=vi")
    failing_loss = sorted(c for c, w in api.items() if any(f["check"] == "loss"
                                                             for f in w["failing"]))
    assert failing_loss
    tile = tab.page.locator(f"#tile-{failing_loss[0]} .failing").inner_text()
    assert MESSAGES["check.loss"][0] in tile
    tab.page.locator('.reason[data-check="loss"]').click()
    assert visible_codes(tab.page) == failing_loss
    # The view is in the address: opening it again shows the same wards.
    assert "check=loss" in tab.page.url
    tab.open(tab.page.url)
    assert visible_codes(tab.page) == failing_loss
    tab.screenshot("board-filtered-vi")


@pytest.mark.parametrize("typed,expected", [
    ("ben nghe", {"26740"}),            # a former ward's name
    ("P. Tan Son Nhat", {TAN_SON_NHAT}),  # the "P." people write
    ("tansonnhat", {TAN_SON_NHAT}),       # spaces left out
    ("26968", {TAN_SON_NHAT}),            # a code, whole
])
def test_search_finds_a_ward_the_way_people_name_it(
        tab: Tab, fleet: Fleet, typed: str, expected: set[str]) -> None:
    tab.open(f"{fleet.url}/")
    tab.page.locator("#search").fill(typed)
    assert set(visible_codes(tab.page)) == expected


def test_a_district_number_is_never_part_of_a_longer_one_nor_of_a_code(
        tab: Tab, fleet: Fleet) -> None:
    def folded(text: str) -> str:
        import unicodedata
        text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
        return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9]+", " ",
                                          "".join(c for c in text if not unicodedata.combining(c))
                                          .lower())).strip()

    expected = {code for code, ward in fleet.inventory.wards.items()
                if any(re.search(r"(^| )quan 1(?![0-9])", folded(name))
                       for name in (*ward.former_units, ward.cluster))}
    tab.open(f"{fleet.url}/")
    tab.page.locator("#search").fill("quận 1")
    assert expected and set(visible_codes(tab.page)) == expected


def test_the_board_says_since_when_its_data_is_old_when_the_collector_stops(
        tab: Tab, tmp_path: Path) -> None:
    inventory_path = tmp_path / "inventory.yaml"
    write_simulated_city(inventory_path)
    with running_collector(tmp_path / "collector", [TAN_SON_NHAT],
                           inventory=inventory_path) as collector:
        tab.open(f"{collector.url}/?lang=vi&refresh=2")
        assert tab.page.locator("#stale-banner").is_hidden()
        collector.process.terminate()
        collector.process.wait(10)
        # Within one refresh interval (2 s here) the board says its data is old.
        tab.page.locator("#stale-banner").wait_for(state="visible", timeout=6000)
        text = tab.page.locator("#stale-banner").inner_text()
        assert text.startswith("Không cập nhật được bảng từ")
        assert "board-stale" in (tab.page.locator("body").get_attribute("class") or "")
        tab.screenshot("board-stale-vi")
    # The refused fetches were the point: the browser logs them, nothing else may fail.
    assert all("ERR_CONNECTION_REFUSED" in error for error in tab.errors), tab.errors
    tab.errors.clear()


# --- the NOC's hands on a ward: acknowledge, assign, note


def test_acknowledge_assign_and_note_on_the_dispatch_page_survive_a_restart(
        tab: Tab, tmp_path: Path) -> None:
    directory = tmp_path / "casework"
    with running_collector(directory, [TAN_SON_NHAT]) as collector:
        tokens = collector.tokens
        tab.open(f"{collector.url}/dispatch?lang=vi")
        row = tab.page.locator(f"#case-{TAN_SON_NHAT}")
        row.locator("summary").click()
        acknowledge = row.locator("form.acknowledge")
        acknowledge.locator("input[name=by]").fill("An")
        acknowledge.locator("input[name=text]").fill("Đã gọi nhà mạng")
        with tab.page.expect_navigation():
            acknowledge.locator("button").click()
        row = tab.page.locator(f"#case-{TAN_SON_NHAT}")
        assert "Đã nhận xử lý: An" in row.inner_text()
        for action, field_, text in (("assign", "input[name=text]", "Bình"),
                                     ("note", "textarea[name=text]", "Thay dây mạng tầng 2")):
            row.locator("summary").click()
            form = row.locator(f"form.{action}")
            assert form.locator("input[name=by]").input_value() == "An"  # remembered
            form.locator(field_).fill(text)
            with tab.page.expect_navigation():
                form.locator("button").click()
            row = tab.page.locator(f"#case-{TAN_SON_NHAT}")
        assert "Đã giao cho Bình" in row.inner_text()
        assert "Thay dây mạng tầng 2" in row.inner_text()
        if tab.screen == "phone":
            tab.assert_fits_the_screen()
        tab.screenshot("dispatch-case-vi")
        row.locator("summary").click()  # the forms open, as the operator sees them
        row.screenshot(path=SCREENS / f"dispatch-case-row-vi-{tab.screen}.png")

    with running_collector(directory, [TAN_SON_NHAT], tokens=tokens) as collector:
        tab.open(f"{collector.url}/?lang=vi")
        tile = tab.page.locator(f"#tile-{TAN_SON_NHAT}")
        assert tile.get_attribute("data-acknowledged") == "yes"
        assert "An đã nhận · giao Bình" in tile.inner_text()
        tab.open(f"{collector.url}/ward/{TAN_SON_NHAT}?lang=en")
        case = tab.page.locator("#case").inner_text()
        assert "Acknowledged by An" in case and "Assigned to Bình" in case
        assert "Thay dây mạng tầng 2" in case
        tab.screenshot("ward-case-en")


# --- a ward's history


def _reports_in_window(database: Path, ward: str, kind: str, seconds: float, now: float) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute(
            "SELECT count(*) FROM reports WHERE ward = ? AND kind = ? AND measured_at >= ? "
            "AND measured_at < ?", (ward, kind, now - seconds, now)).fetchone()[0])


def test_a_ward_page_draws_its_history_from_exactly_the_stored_reports(
        tab: Tab, tmp_path: Path) -> None:
    inventory_path = tmp_path / "inventory.yaml"
    inventory = write_simulated_city(inventory_path)
    directory = tmp_path / "collector"
    directory.mkdir()
    database = directory / "collector.sqlite3"
    ward = simulated_ward(inventory, TAN_SON_NHAT, "", "healthy")
    # On a thread of its own: the test's thread runs Playwright's loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed_history(database, inventory, [ward], time.time())).result()
    with running_collector(directory, [TAN_SON_NHAT], inventory=inventory_path) as collector:
        for language in ("vi", "en"):
            before = time.time()
            tab.open(f"{collector.url}/ward/{TAN_SON_NHAT}?lang={language}")
            after = time.time()
            history = tab.page.locator("#history")
            for window, seconds in (("day", 86400.0), ("week", 7 * 86400.0)):
                figure = history.locator(f"#latency-{window}-1")
                stored = {_reports_in_window(database, TAN_SON_NHAT, "icmp", seconds, at)
                          for at in (before, after)}
                assert stored == {int(figure.get_attribute("data-reports") or -1)}, window
                drawn = figure.locator("line.median, rect.lost").count()
                assert 0 < drawn == int(figure.get_attribute("data-points") or -1) <= 288
            bandwidth = history.locator("#bandwidth-main")
            assert int(bandwidth.get_attribute("data-reports") or -1) == _reports_in_window(
                database, TAN_SON_NHAT, "bandwidth", 7 * 86400.0, after)
            assert bandwidth.locator("line.contract").count() == 2
            assert history.locator("#ready-since").is_visible()
            assert history.locator("#availability-7 .figure").inner_text().endswith("%")
            assert history.locator("#changes tbody tr").count() == 10
            assert history.locator("#changes-older").is_hidden()  # older ones a click away
            assert_in_language(tab.page, language, inventory)
            if tab.screen == "phone":
                tab.assert_fits_the_screen()
            tab.screenshot(f"ward-history-{language}")
            history.locator(".chart").first.screenshot(
                path=SCREENS / f"ward-history-chart-{language}-{tab.screen}.png")
