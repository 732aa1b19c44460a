"""A small stand-in for GitHub's release API on 127.0.0.1 (GitHub itself is unreachable
from the test machines): only the endpoints `factory publish` uses, plus scripted faults.

    GET    /repos/O/R/releases/tags/TAG         POST /repos/O/R/releases
    GET    /repos/O/R/releases/ID/assets        (pages of PAGE_SIZE, Link: rel="next")
    POST   /uploads/repos/O/R/releases/ID/assets?name=NAME
    GET    /repos/O/R/releases/assets/ID        (Accept: application/octet-stream)
    DELETE /repos/O/R/releases/assets/ID
    GET    /download/TAG/NAME                   browser_download_url, no token needed

Every API request must carry ``Authorization: Bearer <token>``; a wrong one gets a 401
whose message quotes the header back (so a client that prints server messages is caught
leaking it). Faults are queued per operation and used up one request at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE_SIZE = 2  # small, so that listing assets has to follow the Link header


@dataclass
class StoredAsset:
    id: int
    name: str
    data: bytes
    state: str  # "uploaded", or "open" for an upload that was cut off


@dataclass
class StoredRelease:
    id: int
    tag: str
    assets: dict[int, StoredAsset] = field(default_factory=dict)


@dataclass
class Fault:
    """What the next matching request gets instead of a normal answer.

    kind: "status" (``status``, with ``headers``), "drop-half" (an upload read halfway,
    a partial asset left, the connection closed), "drop-after-store" (an upload stored
    completely, the connection closed before the answer), "hang" (an upload read
    halfway, partial asset left, then the handler waits for ``release``), "corrupt" (an
    upload stored with its first byte changed).
    """

    kind: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1  # how many requests it applies to


class GitHubStandIn:
    def __init__(self, token: str, repo: str = "owner/wheels", digests: bool = True) -> None:
        self.token = token
        self.repo = repo
        self.digests = digests
        self.releases: dict[str, StoredRelease] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path), in order
        self.hanging = threading.Event()  # set while a "hang" fault holds an upload
        self.release_hang = threading.Event()
        self._next_id = 100
        self._lock = threading.Lock()
        self.url = ""

    # --- for the tests ------------------------------------------------------------------

    def fail(self, operation: str, fault: Fault) -> None:
        """Queue ``fault`` for ``operation``: find, create, list, upload, download, delete."""
        self.faults.setdefault(operation, []).append(fault)

    def assets(self, tag: str = "wheels") -> dict[str, StoredAsset]:
        release = self.releases.get(tag)
        return {a.name: a for a in release.assets.values()} if release else {}

    def downloads(self) -> list[str]:
        return [path for method, path in self.requests if path.startswith("/download/")]

    # --- the API ------------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def release_json(self, release: StoredRelease) -> dict[str, Any]:
        return {
            "id": release.id,
            "tag_name": release.tag,
            "upload_url": f"{self.url}/uploads/repos/{self.repo}/releases/{release.id}/assets"
            "{?name,label}",
        }

    def asset_json(self, release: StoredRelease, asset: StoredAsset) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(asset.data).hexdigest() if self.digests else None
        return {
            "id": asset.id,
            "name": asset.name,
            "size": len(asset.data),
            "state": asset.state,
            "digest": digest,
            "browser_download_url": f"{self.url}/download/{release.tag}/{asset.name}",
        }

    def take_fault(self, operation: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(operation, [])
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault


class _Handler(http.server.BaseHTTPRequestHandler):
    standin: GitHubStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    # Routing ------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _route(self, method: str) -> None:
        standin = self.standin
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        standin.requests.append((method, self.path))
        segments = path.strip("/").split("/")
        if method == "GET" and segments[0] == "download" and len(segments) == 3:
            return self._download(segments[1], segments[2])
        if self.headers.get("Authorization") != f"Bearer {standin.token}":
            header = self.headers.get("Authorization")
            return self._json(401, {"message": f"Bad credentials (you sent {header})"})
        prefix = ["repos", *standin.repo.split("/"), "releases"]
        upload = segments[:1] == ["uploads"]
        rest = segments[len(prefix) + (1 if upload else 0) :]
        if segments[1 if upload else 0 : len(prefix) + (1 if upload else 0)] != prefix:
            return self._json(404, {"message": "Not Found"})
        if upload and method == "POST" and len(rest) == 2 and rest[1] == "assets":
            return self._upload(int(rest[0]), query.get("name", [""])[0])
        if method == "GET" and len(rest) == 2 and rest[0] == "tags":
            return self._find(rest[1])
        if method == "POST" and not rest:
            return self._create()
        if method == "GET" and len(rest) == 2 and rest[1] == "assets":
            return self._list(int(rest[0]), query)
        if len(rest) == 2 and rest[0] == "assets" and method in ("GET", "DELETE"):
            return self._asset(method, int(rest[1]))
        return self._json(404, {"message": "Not Found"})

    # Endpoints ----------------------------------------------------------------------

    def _find(self, tag: str) -> None:
        if self._faulted("find"):
            return
        release = self.standin.releases.get(tag)
        if release is None:
            return self._json(404, {"message": "Not Found"})
        self._json(200, self.standin.release_json(release))

    def _create(self) -> None:
        body = json.loads(self._read_body() or b"{}")
        if self._faulted("create"):
            return
        tag = body["tag_name"]
        if tag in self.standin.releases:
            return self._json(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {"resource": "Release", "code": "already_exists", "field": "tag_name"}
                    ],
                },
            )
        release = StoredRelease(self.standin._new_id(), tag)
        self.standin.releases[tag] = release
        self._json(201, self.standin.release_json(release))

    def _list(self, release_id: int, query: dict[str, list[str]]) -> None:
        if self._faulted("list"):
            return
        release = self._release(release_id)
        if release is None:
            return self._json(404, {"message": "Not Found"})
        page = int(query.get("page", ["1"])[0])
        assets = sorted(release.assets.values(), key=lambda a: a.id)
        chunk = assets[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        headers = {}
        if page * PAGE_SIZE < len(assets):
            next_url = (
                f"{self.standin.url}/repos/{self.standin.repo}/releases/{release_id}/assets"
                f"?per_page={PAGE_SIZE}&page={page + 1}"
            )
            headers["Link"] = f'<{next_url}>; rel="next"'
        self._json(200, [self.standin.asset_json(release, a) for a in chunk], headers)

    def _upload(self, release_id: int, name: str) -> None:
        release = self._release(release_id)
        length = int(self.headers.get("Content-Length", "0"))
        fault = self.standin.take_fault("upload")
        if fault is not None and fault.kind == "status":
            self._read_body()
            return self._json(fault.status, {"message": "injected"}, fault.headers)
        if release is None:
            self._read_body()
            return self._json(404, {"message": "Not Found"})
        if any(a.name == name for a in release.assets.values()):
            self._read_body()
            return self._json(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}
                    ],
                },
            )
        if fault is not None and fault.kind in ("drop-half", "hang"):
            partial = self.rfile.read(length // 2)
            asset = StoredAsset(self.standin._new_id(), name, partial, "open")
            release.assets[asset.id] = asset
            if fault.kind == "hang":
                self.standin.hanging.set()
                self.standin.release_hang.wait(timeout=120)
            return self._drop()
        data = self.rfile.read(length)
        if fault is not None and fault.kind == "corrupt":
            data = bytes([data[0] ^ 1]) + data[1:]
        asset = StoredAsset(self.standin._new_id(), name, data, "uploaded")
        release.assets[asset.id] = asset
        if fault is not None and fault.kind == "drop-after-store":
            return self._drop()
        self._json(201, self.standin.asset_json(release, asset))

    def _asset(self, method: str, asset_id: int) -> None:
        if self._faulted("delete" if method == "DELETE" else "download"):
            return
        for release in self.standin.releases.values():
            asset = release.assets.get(asset_id)
            if asset is None:
                continue
            if method == "DELETE":
                del release.assets[asset_id]
                return self._empty(204)
            return self._bytes(asset.data)
        self._json(404, {"message": "Not Found"})

    def _download(self, tag: str, name: str) -> None:
        release = self.standin.releases.get(tag)
        for asset in release.assets.values() if release else ():
            if asset.name == name and asset.state == "uploaded":
                return self._bytes(asset.data)
        self._json(404, {"message": "Not Found"})

    # Helpers ------------------------------------------------------------------------

    def _release(self, release_id: int) -> StoredRelease | None:
        return next((r for r in self.standin.releases.values() if r.id == release_id), None)

    def _faulted(self, operation: str) -> bool:
        fault = self.standin.take_fault(operation)
        if fault is None:
            return False
        self._json(fault.status, {"message": "injected fault"}, fault.headers)
        return True

    def _read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _bytes(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _drop(self) -> None:
        """Close the connection with no answer, as a network failure would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def rate_limited(seconds: int) -> Fault:
    """GitHub's primary rate limit: 403, nothing remaining, reset ``seconds`` from now."""
    reset = str(int(time.time()) + seconds)
    return Fault(
        "status",
        403,
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset, "X-RateLimit-Limit": "5000"},
    )


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection dropped on purpose (a fault) is not a test failure


@contextmanager
def serve_standin(standin: GitHubStandIn) -> Iterator[GitHubStandIn]:
    handler = type("Handler", (_Handler,), {"standin": standin})
    server = _QuietServer(("127.0.0.1", 0), handler)
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        standin.release_hang.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
