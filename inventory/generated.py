"""Files generated from the code and checked in (the API description, the alert rules,
the sample agent config): written, or with ``--check`` compared with what is on disk so
CI fails with a diff when one is stale."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO


def write_or_check(files: Mapping[Path, str], check: bool, command: str,
                   diff_to: TextIO | None = None) -> int:
    """Write ``files`` (path -> text), making their folders. With ``check``, write nothing:
    a stale or unreadable file prints its diff (to ``diff_to``, stdout by default) and one
    line naming ``command`` (stderr), and the answer is 1."""
    stale = False
    for path, text in files.items():
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            continue
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = ""
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
            stale = True
            continue
        if current != text:
            stale = True
            (diff_to or sys.stdout).writelines(difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True),
                f"{path} (checked in)", f"{path} (generated)"))
            print(f"{path} is stale: run {command}", file=sys.stderr)
    return 1 if stale else 0
