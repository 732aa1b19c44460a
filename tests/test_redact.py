"""Credentials in URLs never reach logs, errors or records. Pure."""

from __future__ import annotations

import pytest

from factory._run import format_command
from factory.redact import redact_url


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("https://user:s3cret@example.org/r.git", "https://***@example.org/r.git"),
        ("https://ghp_token@example.org/r.git", "https://***@example.org/r.git"),
        ("cannot clone http://a:b@127.0.0.1:8/x", "cannot clone http://***@127.0.0.1:8/x"),
        ("https://example.org/r.git", "https://example.org/r.git"),
        ("https://example.org/a@b", "https://example.org/a@b"),  # '@' in the path
        ("git@example.org:r.git", "git@example.org:r.git"),  # scp-like: no secret
        ("/srv/forks/r.git", "/srv/forks/r.git"),
    ],
)
def test_redact_url(text: str, redacted: str) -> None:
    assert redact_url(text) == redacted


def test_logged_command_line_has_no_credentials() -> None:
    line = format_command(["git", "clone", "--mirror", "https://u:tok@example.org/r.git", "dst"])
    assert line == "+ git clone --mirror https://***@example.org/r.git dst"
