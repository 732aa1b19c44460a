"""Keep credentials in URLs out of logs, errors, build records and pages.

A private fork is often cloned as ``https://user:token@host/repo.git``; the token
must never be written anywhere the factory publishes (logs and records end up on
the index's pages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# scheme://userinfo@ -- userinfo cannot contain '/', '@' or whitespace (RFC 3986 3.2.1),
# so a '@' later in the path ("https://host/a@b") is left alone.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
# Shorter values would blank out ordinary words; real tokens are 40 characters or more.
MIN_SECRET_LENGTH = 8


def redact_url(text: str) -> str:
    """Replace the userinfo of every URL in ``text`` with ``***``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """``redact_url`` that also replaces each of ``secrets`` (tokens from the environment)
    with ``***``, wherever it appears: a server's error message may quote it back."""
    values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def redact(text: str) -> str:
        for value in values:
            text = text.replace(value, "***")
        return redact_url(text)

    return redact
