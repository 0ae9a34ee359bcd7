"""What guards the collector beyond ward tokens: per-ward rate limits, NOC basic auth, TLS.

Basic auth follows exporter-toolkit: a file of users with bcrypt hashes, checked
in constant time off the event loop, failures throttled per client and per user,
verified credentials cached briefly so a scrape every few seconds does not pay for
bcrypt each time. TLS is 1.2 at least; client
certificates are required when a client CA is given.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import hmac
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, RequestKey, StreamResponse

from inventory.yamlfile import ConfigError, read_yaml


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


# The NOC user a request logged in as ("" when the collector has no login).
NOC_USER = RequestKey("noc_user", str)

# bcrypt reads at most 72 bytes of a password; a longer one is refused rather than
# silently cut (two passwords sharing their first 72 bytes would both pass).
MAX_PASSWORD_BYTES = 72


class PasswordTooLong(ValueError):
    def __init__(self) -> None:
        super().__init__(f"a password may be at most {MAX_PASSWORD_BYTES} bytes (UTF-8)")


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt gets: allowed, or a status (400, 401, 429) with the reason."""

    allowed: bool
    status: int = 200
    reason: str = ""
    retry_after: float = 0.0
    # Who logged in, when allowed: the author of what the NOC writes on the pages.
    user: str = ""


class LoginThrottle:
    """Failed logins slow their source down: after ``free_failures`` failures, each further
    attempt from the same client, or for the same user, waits twice as long as the one
    before (up to ``max_delay``). A success clears both. At most ``max_tracked`` sources
    are remembered, the least recently failed forgotten first."""

    def __init__(self, free_failures: int = 5, max_delay: float = 60.0,
                 max_tracked: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.free_failures = free_failures
        self.max_delay = max_delay
        self.max_tracked = max_tracked
        self._clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def wait(self, sources: Iterable[str]) -> float:
        """Seconds before any of ``sources`` may try again (0: now)."""
        now = self._clock()
        longest = 0.0
        for source in sources:
            count, last = self._failures.get(source, (0, 0.0))
            if count >= self.free_failures:
                delay = min(self.max_delay, 2.0 ** (count - self.free_failures))
                longest = max(longest, last + delay - now)
        return longest

    def failed(self, sources: Iterable[str]) -> None:
        now = self._clock()
        for source in sources:
            count, _ = self._failures.pop(source, (0, 0.0))
            self._failures[source] = (count + 1, now)
        while len(self._failures) > self.max_tracked:
            self._failures.popitem(last=False)

    def succeeded(self, sources: Iterable[str]) -> None:
        for source in sources:
            self._failures.pop(source, None)


class BasicAuth:
    """Users and bcrypt hashes from a YAML file: ``users: {name: $2b$...}``.

    bcrypt runs in a thread of its own, one check at a time, never on the event loop,
    so guesses cannot hold up the wards' pushes; a few checks may queue, more are told
    to come back (429). An unknown user costs a check at the same bcrypt cost as a
    known one, so a user name cannot be told apart by timing."""

    CACHE_SECONDS = 60.0
    MAX_QUEUED_CHECKS = 8

    def __init__(self, users: dict[str, bytes], throttle: LoginThrottle | None = None):
        self._users = users
        self._verified: dict[bytes, tuple[float, str]] = {}
        self.throttle = throttle or LoginThrottle()
        self._checker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sansang-login")
        self._queued = 0
        rounds = max((_bcrypt_rounds(hashed) or 12 for hashed in users.values()), default=12)
        self._dummy_hash = bcrypt.hashpw(b"unknown-user", bcrypt.gensalt(rounds=rounds))

    @classmethod
    def from_file(cls, path: Path) -> BasicAuth:
        data, _ = read_yaml(path)
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, dict) or not users:
            raise ConfigError([f"{path}: users: expected a mapping of user name to bcrypt hash"])
        problems, parsed = [], {}
        for name, hashed in users.items():
            if (not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$"))
                    or _bcrypt_rounds(hashed.encode()) is None):
                problems.append(f"{path}: users.{name}: expected a bcrypt hash ($2b$...); "
                                "make one with: python -m collector hash-password")
                continue
            parsed[str(name)] = hashed.encode()
        if problems:
            raise ConfigError(problems)
        return cls(parsed)

    def close(self) -> None:
        self._checker.shutdown(wait=False, cancel_futures=True)

    async def check(self, header: str | None, client: str) -> LoginOutcome:
        """Whether ``header`` (an Authorization header) logs in, for a request from
        ``client`` (its address): never raises on what a stranger sends."""
        if not header or not header.lower().startswith("basic "):
            return LoginOutcome(False, 401, "NOC login required")
        # aiohttp keeps undecodable header bytes as surrogates; they must not raise here.
        key = hashlib.sha256(header.encode("utf-8", "surrogateescape")).digest()
        now = time.monotonic()
        cached = self._verified.get(key)
        if cached is not None and now - cached[0] < self.CACHE_SECONDS:
            return LoginOutcome(True, user=cached[1])
        try:
            pair = base64.b64decode(header[6:].strip(), validate=True)
            user_bytes, _, password = pair.partition(b":")
            user = user_bytes.decode()
        except (ValueError, UnicodeError):
            return LoginOutcome(False, 401, "the Basic credentials cannot be read")
        outcome = await self.verify(user, password, client)
        if outcome.allowed:
            if len(self._verified) >= 10_000:
                self._verified.clear()
            self._verified[key] = (time.monotonic(), user)
        return outcome

    async def verify(self, user: str, password: bytes, client: str) -> LoginOutcome:
        """Whether ``user`` logs in with ``password`` from ``client``: the Basic header's
        check and the login page's, throttled alike."""
        sources = (f"client {client}", f"user {user[:200]}")
        wait = self.throttle.wait(sources)
        if wait > 0:
            return LoginOutcome(False, 429, "too many failed logins; wait before trying again",
                                retry_after=wait)
        if len(password) > MAX_PASSWORD_BYTES:
            self.throttle.failed(sources)
            return LoginOutcome(False, 400, str(PasswordTooLong()))
        if self._queued >= self.MAX_QUEUED_CHECKS:
            return LoginOutcome(False, 429, "too many logins at once; try again shortly",
                                retry_after=1.0)
        hashed = self._users.get(user)
        self._queued += 1
        try:
            matches = await asyncio.get_running_loop().run_in_executor(
                self._checker, bcrypt.checkpw, password, hashed or self._dummy_hash)
        finally:
            self._queued -= 1
        if matches and hashed is not None:
            self.throttle.succeeded(sources)
            return LoginOutcome(True, user=user)
        self.throttle.failed(sources)
        return LoginOutcome(False, 401, "NOC login required")


def _bcrypt_rounds(hashed: bytes) -> int | None:
    """The cost of a ``$2b$12$...`` hash, or None when it is not one."""
    parts = hashed.split(b"$")
    if len(parts) != 4 or not parts[2].isdigit() or len(parts[3]) != 53:
        return None
    rounds = int(parts[2])
    return rounds if 4 <= rounds <= 31 else None


def hash_password(password: str) -> str:
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise PasswordTooLong()
    return bcrypt.hashpw(encoded, bcrypt.gensalt()).decode()


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
