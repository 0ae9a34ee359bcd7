"""Per-ward bearer tokens, stored hashed.

The tokens file maps ward code to ``sha256:<hex>`` of that ward's token. Tokens
are 256 random bits, so a fast hash is enough (no password stretching needed),
and a stolen file reveals no token. Lookup is by hash; the matched entry is then
confirmed with a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

import yaml

from inventory.yamlfile import ConfigError, read_yaml
from probes.secret import Secret

PREFIX = "sha256:"


def hash_token(token: str) -> str:
    return PREFIX + hashlib.sha256(token.encode()).hexdigest()


class TokenBook:
    """Which ward a presented token belongs to."""

    def __init__(self, hashes_by_ward: dict[str, str]):
        self._hashes_by_ward = dict(hashes_by_ward)
        self._ward_by_hash = {h: w for w, h in hashes_by_ward.items()}

    @classmethod
    def from_file(cls, path: Path) -> TokenBook:
        data, _ = read_yaml(path)
        data = data or {}
        if not isinstance(data, dict):
            raise ConfigError([f"{path}: expected a mapping of ward code to token hash"])
        problems = []
        hashes: dict[str, str] = {}
        for ward, value in data.items():
            if not isinstance(value, str) or not value.startswith(PREFIX) or len(value) != 71:
                problems.append(f"{path}: {ward}: expected 'sha256:' and 64 hex digits "
                                "(issue tokens with: python -m collector token issue)")
                continue
            hashes[str(ward)] = value
        if problems:
            raise ConfigError(problems)
        return cls(hashes)

    def ward_for(self, token: str) -> str | None:
        presented = hash_token(token)
        ward = self._ward_by_hash.get(presented)
        if ward is None:
            return None
        return ward if hmac.compare_digest(self._hashes_by_ward[ward], presented) else None

    def __len__(self) -> int:
        return len(self._hashes_by_ward)

    def __contains__(self, ward: object) -> bool:
        return ward in self._hashes_by_ward


def has_token(path: Path, ward: str) -> bool:
    """Whether the tokens file at ``path`` (if any) already holds a token for ``ward``."""
    return path.exists() and ward in TokenBook.from_file(path)


def issue_token(path: Path, ward: str) -> Secret:
    """Create (or replace) ``ward``'s token in the tokens file; return the token once."""
    data: dict[str, str] = {}
    if path.exists():
        existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        data = {str(k): v for k, v in existing.items()}
    token = secrets.token_urlsafe(32)
    data[ward] = hash_token(token)
    _write_atomically(path, yaml.safe_dump(dict(sorted(data.items())), sort_keys=False))
    return Secret(token)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
