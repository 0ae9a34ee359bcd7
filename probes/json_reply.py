"""A collector's JSON reply, read with a bound: no answer can grow an agent without limit.

The agent talks to one collector, but a wrong URL, a captive portal or a hostile
server can answer anything: an endless body, deep nesting, a list where an object
belongs. These read at most ``limit`` bytes and give back a JSON object, or raise
``ValueError`` saying what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

# The collector's answers to an agent are a few kilobytes (an acknowledgement lists at
# most a batch of report ids: 1,000 × 66 bytes).
MAX_REPLY_BYTES = 256 << 10


async def read_bounded(response: aiohttp.ClientResponse, limit: int = MAX_REPLY_BYTES) -> bytes:
    """The body, or ``ValueError`` as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await response.content.readany()
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise ValueError(f"reply larger than {limit} bytes")
        chunks.append(chunk)


async def json_object(response: aiohttp.ClientResponse,
                      limit: int = MAX_REPLY_BYTES) -> dict[str, Any]:
    """The body as a JSON object, or ``ValueError`` naming what it is instead."""
    body = await read_bounded(response, limit)
    try:
        data = json.loads(body)
    except RecursionError:
        raise ValueError("reply nested too deeply to be an answer") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"reply is not UTF-8 text: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"reply is a JSON {type(data).__name__}, not an object")
    return data


async def reason_text(response: aiohttp.ClientResponse, limit: int = 500) -> str:
    """The start of a refusal's body, for an error message: never more than ``limit``."""
    try:
        body = await response.content.read(limit)
    except (aiohttp.ClientError, TimeoutError):
        return ""
    return body.decode("utf-8", "replace")
