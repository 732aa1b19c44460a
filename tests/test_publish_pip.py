"""pip installs from the published tree served on 127.0.0.1 (a plain static server, as
GitHub Pages is), one wheel from files/ and its dependency from a release asset on the
GitHub stand-in, resolving through PEP 658 metadata on both."""

from __future__ import annotations

import functools
import http.server
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .github_standin import GitHubStandIn, serve_standin
from .publish_helpers import make_remote, publisher
from .test_index_clients import clean_env

pytestmark = pytest.mark.integration
TOKEN = "ghp_pipTOKEN0123456789abcdefghijklmnopqrstu"
BIG = "torchlet-2.0-py3-none-any.whl"


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with serve_standin(GitHubStandIn(TOKEN)) as server:
        yield server


def static_server(directory: Path, seen: list[str]) -> tuple[http.server.HTTPServer, str]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            seen.append(self.path)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/simple/"


def test_pip_installs_from_the_published_site_and_the_release(
    standin: GitHubStandIn, tmp_path: Path
) -> None:
    machine = publisher(tmp_path / "a")
    machine.add("alpha", "1.0", requires=("torchlet>=2",))
    machine.add("torchlet", "2.0", payload=random.Random(0).randbytes(120_000))
    site = tmp_path / "site"
    result = machine.run(
        "publish",
        make_remote(tmp_path / "remote.git"),
        "--site-dir",
        str(site),
        "--asset-threshold",
        "50K",
        "--release-repo",
        standin.repo,
        "--github-api",
        standin.url,
        extra_env={"GITHUB_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    seen: list[str] = []
    server, index = static_server(site, seen)
    try:
        target = tmp_path / "installed"
        install = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--isolated",
                "--index-url",
                index,
                "--target",
                str(target),
                "alpha",
            ],
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert install.returncode == 0, install.stdout + install.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert (target / "alpha" / "__init__.py").is_file()
    assert (target / "torchlet" / "payload.bin").stat().st_size == 120_000
    assert "/files/alpha-1.0-py3-none-any.whl" in seen  # from Pages
    assert f"/download/wheels/{BIG}" in standin.downloads()  # from the release
    assert f"/download/wheels/{BIG}.metadata" in standin.downloads()  # PEP 658, beside it
    assert not [path for path in seen if BIG in path and not path.endswith(".build.json")]
