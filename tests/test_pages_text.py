"""Every word the pages show comes from the catalogue, in Vietnamese and in English."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from collector.i18n import MESSAGES
from inventory import criteria
from inventory.model import Ward

TEMPLATES = sorted((Path(__file__).resolve().parent.parent / "collector" / "templates")
                   .glob("*.html"))
VISIBLE_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt", "value"}


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        hidden = tag == "input" and ("type", "hidden") in attrs  # a key sent, never shown
        for name, value in attrs:
            if hidden and name == "value":
                continue
            if name in VISIBLE_ATTRIBUTES and value and re.search(r"[^\W\d_]", value):
                self.found.append(f"{tag}[{name}]={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and re.search(r"[^\W\d_]", data):
            self.found.append(data.strip())


def _without_jinja(source: str) -> str:
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    source = re.sub(r"\{\{.*?\}\}", "", source, flags=re.S)
    return re.sub(r"\{%.*?%\}", "", source, flags=re.S)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_templates_hold_no_words_of_their_own(template: Path) -> None:
    parser = _VisibleText()
    parser.feed(_without_jinja(template.read_text(encoding="utf-8")))
    assert parser.found == []


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_every_key_a_template_asks_for_exists(template: Path) -> None:
    used = set(re.findall(r"""\bt\(\s*["']([^"']+)["']\s*[,)]""", template.read_text()))
    # Keys built from data ("kind." ~ ward.kind) are checked against the data below.
    prefixes = set(re.findall(r"""\bt\(\s*["']([^"']+\.)["']\s*~""", template.read_text()))
    assert used, "a template without any text key is suspicious"
    assert used - set(MESSAGES) == set()
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in MESSAGES), prefix


def test_every_message_has_both_languages_and_they_differ_where_words_are() -> None:
    for key, (vi, en) in MESSAGES.items():
        assert vi.strip() and en.strip(), key
        # Same placeholders in both languages, so no value is lost in translation.
        assert set(re.findall(r"\{(\w+)\}", vi)) == set(re.findall(r"\{(\w+)\}", en)), key


def test_keys_built_from_data_exist_for_every_value() -> None:
    kinds = Ward.model_fields["kind"].annotation.__args__  # type: ignore[union-attr]
    for kind in kinds:
        assert f"kind.{kind}" in MESSAGES
    for check in criteria.CHECKS:
        assert f"hint.{check.name}" in MESSAGES
        assert check.severity and f"severity.{check.severity}" in MESSAGES
        assert check.title_vi and check.title_en
        for condition in check.conditions:
            assert condition.problem_vi and condition.problem_en
