"""Serve a built index on 127.0.0.1, and say how to install from it."""

from __future__ import annotations

import contextlib
import functools
import http.server
from pathlib import Path

import click


def serve_directory(directory: Path, port: int) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
        click.echo(f"serving {directory} at {url} (Ctrl-C stops)")
        click.echo(f"  pip install --index-url {url} PACKAGE")
        click.echo(f"  uv pip install --index-url {url} PACKAGE")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
