"""Keep credentials in URLs out of logs, errors, build records and pages.

A private fork is often cloned as ``https://user:token@host/repo.git``; the token
must never be written anywhere the factory publishes (logs and records end up on
the index's pages).
"""

from __future__ import annotations

import re

# scheme://userinfo@ -- userinfo cannot contain '/', '@' or whitespace (RFC 3986 3.2.1),
# so a '@' later in the path ("https://host/a@b") is left alone.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def redact_url(text: str) -> str:
    """Replace the userinfo of every URL in ``text`` with ``***``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)
