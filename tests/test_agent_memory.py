"""The agent hands freed heap memory back to the OS after a bandwidth test."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.lab.servers import ROOT

# In a fresh interpreter, so the heap is laid out the same on every run: as in a
# bandwidth test, once a large buffer has been freed glibc serves the next ones from
# its heap, here kept apart by smaller live blocks so that freeing them leaves holes.
CHURN = """
import json, os, resource
from ward_agent.runner import release_free_heap

def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / (1 << 20)

first = bytearray(1 << 20)
del first
live, buffers = [], []
for _ in range(40):
    buffers.append(bytearray(os.urandom(1 << 20)))
    live.append(bytearray(200 << 10))
del buffers
freed = resident()
release_free_heap()
print(json.dumps({"freed": freed, "released": resident()}))
"""


def glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False


@pytest.mark.skipif(not glibc(), reason="only glibc keeps freed buffers in its heap")
def test_buffers_freed_inside_the_heap_are_released() -> None:
    completed = subprocess.run([sys.executable, "-c", CHURN], cwd=ROOT, capture_output=True,
                               text=True, timeout=60, check=True)
    resident = json.loads(completed.stdout)

    assert resident["released"] < resident["freed"] - 20, resident
