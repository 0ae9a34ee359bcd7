"""A secret value that never prints itself.

Tokens, SNMP communities and v3 keys are held as ``Secret``: ``str()``,
``repr()``, f-strings, logging and pydantic dumps all show ``<secret>``; only
``reveal()`` gives the value, at the one place that must send it.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

MASK = "<secret>"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    @classmethod
    def from_file(cls, path: str | Path) -> Secret:
        """The first line of ``path`` (trailing newline and spaces dropped)."""
        text = Path(path).read_text(encoding="utf-8")
        return cls(text.splitlines()[0].strip() if text else "")

    @classmethod
    def from_env(cls, name: str) -> Secret:
        try:
            return cls(os.environ[name])
        except KeyError:
            raise KeyError(f"environment variable {name} is not set") from None

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return cls(value)
            raise ValueError("expected text")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _v: MASK),
        )
