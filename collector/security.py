"""What guards the collector beyond ward tokens: per-ward rate limits, NOC basic auth, TLS.

Basic auth follows exporter-toolkit: a file of users with bcrypt hashes, checked
in constant time, with verified credentials cached briefly so a scrape every
few seconds does not pay for bcrypt each time. TLS is 1.2 at least; client
certificates are required when a client CA is given.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from inventory.yamlfile import ConfigError, read_yaml

# A fixed hash to compare against for unknown users, so their answer takes as long.
_DUMMY_HASH = bcrypt.hashpw(b"unknown-user", bcrypt.gensalt(rounds=10))


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """0 when a request may pass now, else the seconds to wait for the next token."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class RateLimiter:
    """A token bucket per ward: one ward's flood never slows another ward."""

    rate_per_second: float = 2.0
    burst: int = 20
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def check(self, ward: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(ward)
        if bucket is None:
            bucket = self._buckets[ward] = TokenBucket(self.rate_per_second, self.burst,
                                                       self.burst, now)
        return bucket.take(now)


class BasicAuth:
    """Users and bcrypt hashes from a YAML file: ``users: {name: $2b$...}``."""

    CACHE_SECONDS = 60.0

    def __init__(self, users: dict[str, bytes]):
        self._users = users
        self._verified: dict[bytes, float] = {}

    @classmethod
    def from_file(cls, path: Path) -> BasicAuth:
        data, _ = read_yaml(path)
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, dict) or not users:
            raise ConfigError([f"{path}: users: expected a mapping of user name to bcrypt hash"])
        problems, parsed = [], {}
        for name, hashed in users.items():
            if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
                problems.append(f"{path}: users.{name}: expected a bcrypt hash ($2b$...); "
                                "make one with: python -m collector hash-password")
                continue
            parsed[str(name)] = hashed.encode()
        if problems:
            raise ConfigError(problems)
        return cls(parsed)

    def allows(self, header: str | None) -> bool:
        if not header or not header.lower().startswith("basic "):
            return False
        key = hashlib.sha256(header.encode()).digest()
        now = time.monotonic()
        cached = self._verified.get(key)
        if cached is not None and now - cached < self.CACHE_SECONDS:
            return True
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        hashed = self._users.get(user)
        ok = bcrypt.checkpw(password.encode(), hashed or _DUMMY_HASH) and hashed is not None
        if ok:
            self._verified[key] = now
        return ok


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def server_tls_context(cert_file: Path, key_file: Path,
                       client_ca_file: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    if client_ca_file is not None:
        context.load_verify_locations(client_ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class AccessLogWithoutQuery(AbstractAccessLogger):
    """The access log, minus query strings: a ward's shared link carries its key there."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %d %s %.3fs', request.remote, request.method, request.path,
                         response.status, response.body_length, time)
