"""Everything people read, in both languages, for the demo fleet: the pages, the exports,
the field check's lines and the alert texts say things in people's words and forms —
no internal key, no decimal point in a Vietnamese number, a space before every unit, no
"7m 0s" or "9d 23h" durations, no ISO dates and no UTC times."""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from collector.app import CollectorSettings, create_app
from collector.export import headers, rows
from collector.tokens import issue_token
from demo.fleet import run_fleet, simulated_ward
from demo.inventory import write_simulated_city
from inventory import DEFAULT_INVENTORY, load_inventory
from inventory.model import PLATFORM_IDS

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("vi", "en")

# What people must never read: ids and keys of the program.
UNDERSCORED_KEY = re.compile(r"\b(?:not_configured|no_data|not_ready|not_installed|"
                             r"ups_on_battery|platform_down|rtt_avg|on_battery)\b")
DEVICE_OR_PLATFORM_ID = re.compile(r"\b(?:core-router|ups-1|feedback1022)\b")
VIETNAMESE_ONLY_KEYS = re.compile(
    r"(?<![\w/.-])(?:" + "|".join([*PLATFORM_IDS, "latency", "bandwidth", "devices",
                                    "platforms", "main", "backup"]) + r")(?![\w/.-])")
IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
DECIMAL_POINT = re.compile(r"\d\.(?:\d{1,2}|\d{4,})(?!\d)")
UNIT_WITHOUT_SPACE = re.compile(r"\d(?:ms|µs|us|[kMGT]?bit/s|s)\b")
PROMETHEUS_DURATION = re.compile(r"\b\d+[dhm] \d+[hms]\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
UTC_TIME = re.compile(r"\bUTC\b|\d{2}:\d{2}(?::\d{2})?Z\b")


# A failure's cause is the probe's own words, quoted as it said them (an HTTP status, a
# timeout, an OS error) for the technician to search and report: not our sentence.
QUOTED_CAUSE = re.compile(r"\((?:nguyên nhân|cause): [^()]*(?:\([^()]*\)[^()]*)*\)")


URL = re.compile(r"https?://\S+")


def problems_in(text: str, language: str) -> list[str]:
    # Addresses (a signed link's key) and a probe's quoted words are not our sentences.
    text = QUOTED_CAUSE.sub("", URL.sub("", text))
    found = []
    for pattern in (UNDERSCORED_KEY, DEVICE_OR_PLATFORM_ID, UNIT_WITHOUT_SPACE,
                    PROMETHEUS_DURATION, ISO_DATE, UTC_TIME):
        found += [m.group(0) for m in pattern.finditer(text)]
    if language == "vi":
        plain = IPV4.sub("", text)
        found += [m.group(0) for m in DECIMAL_POINT.finditer(plain)]
        found += [m.group(0) for m in VIETNAMESE_ONLY_KEYS.finditer(plain)]
    return found


class _Visible(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:  # what a reader sees of an attribute
            if name in ("placeholder", "title", "aria-label", "alt") and value:
                self.parts.append(value)
        if tag == "input" and ("type", "hidden") not in attrs:
            self.parts.extend(v for n, v in attrs if n == "value" and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[tuple[TestClient, CollectorSettings]]:
    inventory_path = tmp_path / "inventory.yaml"
    inventory = write_simulated_city(inventory_path)
    tokens_path = tmp_path / "tokens.yaml"
    codes = list(inventory.wards)
    tokens = {code: issue_token(tokens_path, code).reveal() for code in codes}
    settings = CollectorSettings(inventory=inventory, tokens_path=tokens_path,
                                 database_path=tmp_path / "collector.sqlite3",
                                 simulated_wards=frozenset(codes), rate_burst=1000)
    async with TestClient(TestServer(create_app(settings))) as client:
        never = set(codes[5::24])
        await run_fleet(str(client.make_url("")), [
            simulated_ward(inventory, code, tokens[code])
            for code in codes if code not in never], interval_seconds=0, rounds=1)
        yield client, settings


async def test_every_page_and_export_speaks_in_peoples_words(
        fleet: tuple[TestClient, CollectorSettings]) -> None:
    client, settings = fleet
    found: dict[str, list[str]] = {}
    for language in LANGUAGES:
        api = await (await client.get(f"/api/v1/wards?lang={language}")).json()
        failing = [w["code"] for w in api["wards"] if w["failing"]]
        assert failing, "the fleet's mix has failing wards"
        # Every failing ward's page, and one ward in seven of the rest.
        paths = ["/", "/dispatch", "/no-such-page", *(f"/ward/{code}" for code in failing),
                 *(f"/ward/{w['code']}" for w in api["wards"][0::7])]
        for path in paths:
            response = await client.get(f"{path}?lang={language}")
            text = visible(await response.text())
            if problems := problems_in(text, language):
                found[f"{language} {path}"] = sorted(set(problems))
        dispatch = await (await client.get(f"/dispatch.csv?lang={language}")).text()
        if problems := problems_in(dispatch, language):
            found[f"{language} /dispatch.csv"] = sorted(set(problems))
        table = rows(api["wards"], language, zoneinfo.ZoneInfo(settings.inventory.timezone))
        report = "\n".join(" | ".join(map(str, row)) for row in [headers(language), *table])
        if problems := problems_in(report, language):
            found[f"{language} export"] = sorted(set(problems))
    assert found == {}


def test_the_alert_texts_speak_in_peoples_words() -> None:
    """What the rules' templates say, as promtool checked it (alerts/tests)."""
    document = yaml.safe_load((ROOT / "alerts" / "tests" / "sansang-alerts.test.yml")
                              .read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    texts = 0
    for test in document["tests"]:
        for case in test.get("alert_rule_test", []):
            for alert in case.get("exp_alerts") or []:
                annotations: dict[str, Any] = alert.get("exp_annotations", {})
                for key, language in (("summary", "vi"), ("description", "en")):
                    if key not in annotations:
                        continue
                    texts += 1
                    # The fixture's ward ids (10.77.0.x targets) are addresses, not keys.
                    if problems := problems_in(annotations[key], language):
                        found[annotations[key][:80]] = problems
    assert texts > 40
    assert found == {}


def test_the_dispatch_csv_reads_in_the_readers_language() -> None:
    from collector.pages import dispatch_csv_text

    ward = {"code": "26968", "name": "Phường Tân Sơn Nhất", "cluster": "Quận Tân Bình",
            "worst": "critical", "failing_since": 1.796e9, "address": None, "contact": None,
            "failing": [{"check": "loss", "problems": ["Tỷ lệ mất gói đến core.city là 35%"]}]}
    text = dispatch_csv_text([ward], "vi", zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))
    header, line = list(csv.reader(io.StringIO(text)))
    assert header[0] == "Mã đơn vị" and line[3] == "Nghiêm trọng"
    assert line[4] == "Tỷ lệ mất gói tin" and re.fullmatch(r"\d\d:\d\d \d\d/\d\d/\d{4}",
                                                            line[6])


def test_the_field_checks_lines_speak_in_peoples_words(tmp_path: Path) -> None:
    """``agent.py check``'s lines and verdict for a healthy and a failing ward, in both
    languages, with the readiness section provisioning writes."""
    from tests.test_check_agrees import EQUIPPED, INVENTORY_YAML, NOW, agent_config, healthy
    from ward_agent.check import checklist_lines, evaluate, silent_after_seconds, verdict_line

    path = tmp_path / "lab.yaml"
    named = INVENTORY_YAML  # the shipped platforms' names, as a real inventory has them
    for platform in load_inventory(DEFAULT_INVENTORY).platforms.items():
        named = re.sub(rf'({platform[0]}: {{url: "[^"]*")}}',
                       rf'\1, name: "{platform[1].name}"}}', named)
    path.write_text(named, encoding="utf-8")
    inventory = load_inventory(path)
    config = agent_config(inventory, EQUIPPED)
    found: dict[str, list[str]] = {}
    for name, reports in (("healthy", healthy()),
                          ("failing", healthy(loss=0.35, down="procedures",
                                              router_up=False))):
        checklist = evaluate(config, reports, NOW, silent_after_seconds(config))
        for language in LANGUAGES:
            lines = checklist_lines(checklist, language)  # type: ignore[arg-type]
            text = "\n".join([*(f"{line.mark} {line.title} {line.figures} "
                                + " ".join(line.details) for line in lines),
                              verdict_line(checklist, language)])  # type: ignore[arg-type]
            if problems := problems_in(text, language):
                found[f"{name} {language}"] = problems
    assert found == {}
