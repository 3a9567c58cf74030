"""Masking of credentials: API keys and tokens reduced to a recognisable stub.

People paste keys into chats and tools echo them; the stores keep what was said, but what a
surface shows (the web API's replies, and so screens, screenshots and exports) carries only
the stub. The rules are the core's, so everything that must not repeat a secret uses the same.
"""

from __future__ import annotations

import re
from typing import Any

_SECRET = re.compile(
    r"""
    \b(?:
        sk-(?:ant-|proj-|or-)?[A-Za-z0-9_\-]{16,}      # OpenAI, Anthropic, OpenRouter
      | gh[pousr]_[A-Za-z0-9]{20,}                      # GitHub tokens
      | github_pat_[A-Za-z0-9_]{20,}
      | AKIA[0-9A-Z]{16}                                # AWS access key ids
      | AIza[0-9A-Za-z_\-]{35}                          # Google API keys
      | xox[abprs]-[A-Za-z0-9\-]{10,}                   # Slack tokens
      | hf_[A-Za-z0-9]{30,}                             # Hugging Face
      | \d{8,10}:AA[A-Za-z0-9_\-]{33}                   # Telegram bot tokens
    )
    | (?<=Bearer\ )[A-Za-z0-9._\-]{20,}                 # bearer tokens in pasted headers
    """,
    re.VERBOSE,
)
KEEP = 4


def redact_text(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(0)[:KEEP] + "…[redacted]", text)


def redact(value: Any) -> Any:
    """A copy of `value` with every string redacted; containers are copied only if changed."""
    if isinstance(value, str):
        return redact_text(value) if _SECRET.search(value) else value
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    return value
