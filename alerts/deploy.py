"""``python -m alerts.deploy``: the generated Alertmanager configuration with its Telegram bot
token written in, in a file only its owner can read (mode 0600).

Alertmanager 0.25 (Debian 12, and the compose stack's pinned image) reads the SMTP password
from ``smtp_auth_password_file`` but has no ``bot_token_file`` (it came in 0.26), so the
token must be in the configuration itself. The committed file carries a placeholder; this
step swaps it for the token read from a file, at deploy time, and never prints it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alerts.routing import BOT_TOKEN_PLACEHOLDER


class DeployError(Exception):
    """The configuration or the token cannot make a deployable file."""


def with_bot_token(config_text: str, token: str) -> str:
    token = token.strip()
    if not token or any(c.isspace() or c in "'\"\\" for c in token):
        raise DeployError("the bot token file must hold one token (no spaces or quotes)")
    if BOT_TOKEN_PLACEHOLDER not in config_text:
        raise DeployError("the configuration has no bot token placeholder; is it the "
                          "generated alerts/alertmanager.yml?")
    return config_text.replace(BOT_TOKEN_PLACEHOLDER, token)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte (no window in which
    another user could read it), replacing any older file atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m alerts.deploy",
        description="Write Alertmanager's configuration with the Telegram bot token in it "
                    "(mode 0600).")
    parser.add_argument("--config", type=Path,
                        default=Path(__file__).resolve().parent / "alertmanager.yml")
    parser.add_argument("--bot-token-file", type=Path, required=True,
                        help="a file holding the Telegram bot token (deploy/secrets)")
    parser.add_argument("--output", type=Path, required=True,
                        help="where Alertmanager reads its configuration")
    args = parser.parse_args(argv)
    texts = []
    for option, path in (("--config", args.config), ("--bot-token-file", args.bot_token_file)):
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "not UTF-8 text"
            print(f"alerts.deploy: {option} {path}: cannot read: {why}", file=sys.stderr)
            return 1
    try:
        write_private(args.output, with_bot_token(*texts))
    except DeployError as exc:
        print(f"alerts.deploy: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"alerts.deploy: --output {args.output}: cannot write: {exc.strerror}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
