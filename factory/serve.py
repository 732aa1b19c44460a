"""Serve a built index on 127.0.0.1, and say how to install from it.

Unlike GitHub Pages, this server negotiates PEP 691 content types: a client that asks
for ``application/vnd.pypi.simple.v1+json`` at ``simple/<name>/`` gets the
``index.json`` written beside the HTML page.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import urllib.parse
from pathlib import Path

import click

from . import _fs
from .errors import ConfigError

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def wants_json(accept: str) -> bool:
    """True when the Accept header prefers PEP 691 JSON to HTML (q-values honoured)."""
    best_json, best_html = 0.0, 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                with contextlib.suppress(ValueError):
                    quality = float(value)
        if media == JSON_TYPE:
            best_json = max(best_json, quality)
        elif media in ("application/vnd.pypi.simple.v1+html", "text/html", "*/*"):
            best_html = max(best_html, quality)
    return best_json > 0 and best_json >= best_html


def is_bookkeeping(url_path: str) -> bool:
    """The factory's own files (manifest, wheel shards, journal, lock, temporary files)
    are not part of the index: a URL naming one, or a file in one of its folders, in any
    folder, gets a 404."""
    path = urllib.parse.unquote(url_path.split("?", 1)[0].split("#", 1)[0])
    return any(name.startswith((".factory-", _fs.TEMP_PREFIX)) for name in path.split("/"))


class IndexHandler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):  # type: ignore[no-untyped-def]  # the base class is untyped
        if is_bookkeeping(self.path):
            self.send_error(404, "File not found")
            return None
        path = self.translate_path(self.path)
        json_page = os.path.join(path, "index.json")
        if (
            self.path.split("?", 1)[0].endswith("/")
            and wants_json(self.headers.get("Accept", ""))
            and os.path.isfile(json_page)
        ):
            handle = open(json_page, "rb")  # noqa: SIM115  # closed by the base class
            self.send_response(200)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(os.fstat(handle.fileno()).st_size))
            self.send_header("Vary", "Accept")
            self.end_headers()
            return handle
        return super().send_head()


def serve_directory(directory: Path, port: int) -> None:
    handler = functools.partial(IndexHandler, directory=str(directory))
    if not 0 <= port <= 65535:
        raise ConfigError(
            f"--port {port} is not a TCP port",
            hint="pass --port with a number from 1024 to 65535 (0: any free one)",
        )
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve on 127.0.0.1:{port} ({exc.strerror})",
            hint="another program uses that port: pick another with --port (0: any free one)",
        ) from None
    with server:
        url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
        click.echo(f"serving {directory} at {url} (Ctrl-C stops)")
        click.echo(f"  pip install --index-url {url} PACKAGE")
        click.echo(f"  uv pip install --index-url {url} PACKAGE")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
