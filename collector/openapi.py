"""The collector's API as an OpenAPI 3 document, built from the same pydantic types it validates.

``python -m collector.openapi`` writes ``collector/openapi.json`` (kept in the
repository and served at ``/api/openapi.json``); ``--check`` fails when the file
is stale, so the document can never drift from the validator.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from collector.payload import MAX_BATCH, AgentStatus
from inventory import criteria
from inventory.generated import write_or_check
from probes import PROBES, report_bounds

OUTPUT = Path(__file__).with_name("openapi.json")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def build() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (kind.result_type, "validation") for kind in PROBES.values()
    ]
    _, schema = models_json_schema([*models, (AgentStatus, "validation")],
                                   ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = dict(schema.get("$defs", {}))
    # What any report may hold, whatever its kind (integers, text), as the ingest checks.
    report_bounds.bound_schema(components)
    report_variants = [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "ward", "measured_at", "kind", "target", "result"],
            "properties": {
                "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$",
                       "description": "unique report id; a repeated id is acknowledged, "
                                      "not stored twice"},
                "ward": {"type": "string", "pattern": "^[0-9]{5}$"},
                "measured_at": {"type": "number", "exclusiveMinimum": 0,
                                "description": "Unix time of the measurement; at most 300 s "
                                               "ahead and 30 days behind the collector's clock"},
                "kind": {"type": "string", "enum": [name]},
                "target": {"type": "string", "minLength": 1, "maxLength": 200,
                           "pattern": report_bounds.NAME_PATTERN,
                           "description": "what was probed; a label value, so no control "
                                          "characters; within the ward's series budget"},
                "result": {"$ref": f"#/components/schemas/{kind.result_type.__name__}"},
            },
        }
        for name, kind in sorted(PROBES.items())
    ]
    components.update({
        "Report": {"oneOf": report_variants},
        "ReportBatch": {
            "type": "object", "additionalProperties": False, "required": ["reports"],
            "properties": {
                "reports": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                            "items": {"$ref": "#/components/schemas/Report"}},
                "agent": {"$ref": "#/components/schemas/AgentStatus"},
            },
        },
        "Acknowledgement": {
            "type": "object", "required": ["acknowledged", "stored", "duplicates"],
            "properties": {
                "acknowledged": {"type": "array", "items": {"type": "string"}},
                "stored": {"type": "integer", "minimum": 0},
                "duplicates": {"type": "integer", "minimum": 0},
            },
        },
        "Problem": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "string"},
                           "details": {"type": "array", "items": {"type": "string"}}},
        },
        "WardSummary": {
            "type": "object",
            "required": ["code", "name", "kind", "province", "cluster", "simulated", "status",
                         "ready", "last_report_at", "checks", "states", "silent_for_seconds",
                         "failing"],
            "properties": {
                "code": {"type": "string"}, "name": {"type": "string"},
                "kind": {"type": "string"}, "province": {"type": "string"},
                "cluster": {"type": "string"}, "simulated": {"type": "boolean"},
                "status": {"type": "string",
                           "enum": ["ready", "not_ready", "silent", "not_installed"],
                           "description": "not_installed: the ward's agent never reported"},
                "ready": {"type": "boolean"},
                "last_report_at": {"type": ["number", "null"]},
                "checks": {"type": "object", "description": "check name -> what readiness "
                           "counts: true (passes, or nothing declared to answer for), false "
                           "(fails) or null (no verdict)",
                           "additionalProperties": {"type": ["boolean", "null"]}},
                "states": {"type": "object", "description": "check name -> its state, as "
                           "every page shows it",
                           "additionalProperties": {"type": "string",
                                                    "enum": list(criteria.STATES)}},
                "silent_for_seconds": {"type": ["number", "null"],
                                       "description": "how long a silent ward's agent has "
                                                      "been silent, counted when asked"},
                "failing": {"type": "array", "items": {
                    "type": "object", "required": ["check", "title", "severity", "since",
                                                   "problems"],
                    "properties": {
                        "check": {"type": "string"}, "title": {"type": "string"},
                        "severity": {"type": "string"},
                        "since": {"type": ["number", "null"],
                                  "description": "Unix time the check started failing; "
                                                 "null for a ward that never reported"},
                        "problems": {"type": "array", "items": {"type": "string"},
                                     "description": "measured value beside the threshold, "
                                                    "in words"},
                    }}},
                "notices": {"type": "array", "items": {"type": "string"},
                            "description": "what is worth attention though no verdict "
                                           "counts it (a printer's errors, its supplies "
                                           "below the limit), in words"},
                "address": {"type": ["string", "null"]},
                "former_units": {"type": "array", "items": {"type": "string"},
                                 "description": "the pre-2025 units it was formed from"},
                "contact": {"type": ["object", "null"]},
            },
        },
        "WardList": {
            "type": "object", "required": ["wards", "counts"],
            "properties": {
                "wards": {"type": "array", "items": {"$ref": "#/components/schemas/WardSummary"}},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
        },
        "Health": {
            "type": "object", "required": ["status"],
            "properties": {"status": {"type": "string"}, "wards": {"type": "integer"},
                           "wards_reporting": {"type": "integer"},
                           "wards_ready": {"type": "integer"}},
        },
    })
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sansang collector",
            "version": "1",
            "description": "Ward agents push probe reports here; Prometheus scrapes /metrics.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "wardToken": {"type": "http", "scheme": "bearer",
                              "description": "the ward's own token; it may report only for "
                                             "that ward"},
                "nocLogin": {"type": "http", "scheme": "basic"},
            },
        },
        "paths": {
            "/api/v1/reports": {
                "post": {
                    "summary": "Push a batch of reports from one ward's agent",
                    "operationId": "pushReports",
                    "security": [{"wardToken": []}],
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ReportBatch"}}}},
                    "responses": {
                        "200": {"description": "stored (or already stored) and acknowledged",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/Acknowledgement"}}}},
                        "400": _problem("the body is not JSON, or cannot be decoded"),
                        "401": _problem("missing or unknown token"),
                        "403": _problem("a report for another ward than the token's"),
                        "413": _problem("body over the size limit"),
                        "415": _problem("a Content-Encoding other than gzip or deflate"),
                        "422": _problem("a report failed validation, or the push would take "
                                        "the ward past its series budget; nothing was stored"),
                        "429": _problem("this ward pushes too often; see Retry-After"),
                        "503": _problem("the store cannot commit; retry later"),
                    },
                },
            },
            "/api/v1/wards": {
                "get": {
                    "summary": "Every ward with its verdict and failing checks",
                    "operationId": "listWards",
                    "security": [{}, {"nocLogin": []}],
                    "parameters": [{"name": "lang", "in": "query", "required": False,
                                    "schema": {"type": "string", "enum": ["vi", "en"]},
                                    "description": "language of titles and problems"}],
                    "responses": {
                        "200": {"description": "the city's wards",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/WardList"}}}},
                        "401": _problem("NOC login required (when configured)"),
                    },
                },
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness and a short summary",
                    "operationId": "health",
                    "responses": {"200": {"description": "alive", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}},
                },
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics of every ward",
                    "operationId": "metrics",
                    "security": [{}, {"nocLogin": []}],
                    "responses": {
                        "200": {"description": "text exposition format",
                                "content": {"text/plain": {"schema": {"type": "string"}}}},
                        "401": _problem("NOC login required (when configured)"),
                    },
                },
            },
        },
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collector.openapi",
                                     description="Write or check collector/openapi.json.")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 with a diff when the checked-in file is stale")
    args = parser.parse_args(argv)
    return write_or_check({OUTPUT: render()}, args.check, "python -m collector.openapi")


if __name__ == "__main__":
    sys.exit(main())
