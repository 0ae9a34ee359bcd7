"""The rule for tests that need the lab or a Debian binary.

In CI (``CI`` set) a missing requirement is a failure, so a broken install can
never pass as a skipped test; elsewhere, without root or the binary, the test
skips and says why.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere."""
    if in_ci():
        pytest.fail(f"required for this test in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_root() -> None:
    if os.geteuid() != 0:
        unavailable("needs root to build network namespaces")


def require_binary(*names: str) -> dict[str, str]:
    """Absolute paths of the named programs (searching sbin too)."""
    found = {}
    search = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin"
    for name in names:
        path = shutil.which(name, path=search)
        if path is None:
            unavailable(f"{name} is not installed (Debian package; ./dev installs it as root)")
            raise AssertionError("unreachable")
        found[name] = path
    return found
