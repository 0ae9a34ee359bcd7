"""Fixtures shared by the whole suite; servers and lab hosts live in tests/lab/."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = [
    "tests.lab.fixtures_servers",
    "tests.lab.fixtures_net",
    "tests.lab.fixtures_snmp",
]
