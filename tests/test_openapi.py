"""The API description is generated from the validator's own types and never goes stale."""

from __future__ import annotations

import json
from pathlib import Path

from collector.openapi import OUTPUT, build, main
from probes import PROBES


def test_the_checked_in_document_is_current() -> None:
    assert main(["--check"]) == 0


def test_every_probe_kind_and_endpoint_is_described() -> None:
    document = build()
    variants = document["components"]["schemas"]["Report"]["oneOf"]
    assert sorted(v["properties"]["kind"]["enum"][0] for v in variants) == sorted(PROBES)
    assert {"/api/v1/reports", "/api/v1/wards", "/metrics", "/healthz"} <= set(
        document["paths"])


def test_the_collector_serves_the_same_document(tmp_path: Path) -> None:
    from tests.lab.servers import http_get, running_collector

    with running_collector(tmp_path, ["26968"]) as collector:
        status, body = http_get(collector.url + "/api/openapi.json")
    assert status == 200
    assert json.loads(body) == json.loads(OUTPUT.read_text(encoding="utf-8"))
