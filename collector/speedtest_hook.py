"""Mounts the speed-test endpoints when that module is present."""

from __future__ import annotations

import importlib

from aiohttp import web


def add_optional_speedtest(app: web.Application, slots: int) -> None:
    try:
        module = importlib.import_module("collector.speedtest")
    except ModuleNotFoundError:
        return
    module.add_speedtest_routes(app, slots=slots)
