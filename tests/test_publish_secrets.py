"""A token planted in the environment never appears in any output, log, record, cache
file, git configuration or published file, on every publish path, failures included,
with --debug (tracebacks)."""

from __future__ import annotations

import base64
import random
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .github_standin import Fault, GitHubStandIn, rate_limited, serve_standin
from .publish_helpers import Publisher, make_remote, publisher

pytestmark = pytest.mark.integration
TOKEN = "ghp_" + secrets.token_hex(18)  # new each run: it cannot be in any file by chance
BIG = "torchlet-2.0-py3-none-any.whl"


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with serve_standin(GitHubStandIn(TOKEN)) as server:
        yield server


def forms(token: str) -> list[bytes]:
    """The token, and the base64 of the Basic credentials git is handed."""
    basic = base64.b64encode(f"x-access-token:{token}".encode())
    return [token.encode(), basic, base64.b64encode(token.encode())]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def every_object(repository: Path) -> bytes:
    """Every git object's content, uncompressed (objects on disk are zlib streams)."""
    return subprocess.run(
        ["git", f"--git-dir={repository}", "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout


def test_the_token_never_leaks(standin: GitHubStandIn, tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "remote.git")
    machine = publisher(tmp_path / "a")
    machine.add("alpha", "1.0", requires=("torchlet",))
    machine.add("torchlet", "2.0", payload=random.Random(0).randbytes(120_000))
    (machine.root / "builds" / "alpha").mkdir(parents=True)
    (machine.root / "builds" / "alpha" / "1.0-0-ffffffffffff.log").write_text("a build log\n")
    env = {"GITHUB_TOKEN": TOKEN}
    release = ["--asset-threshold", "50K", "--release-repo", standin.repo]
    api = ["--github-api", standin.url]
    site = ["--site-dir", str(tmp_path / "site")]
    outputs: list[str] = []

    def publish(who: Publisher, *args: str, code: int = 0, command: str = "publish") -> None:
        argv = who.argv(command, args[0], *args[1:])
        argv.insert(argv.index(command), "--debug")
        result = subprocess.run(
            argv, cwd=who.root, env=who.env(env), capture_output=True, text=True, timeout=300
        )
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == code, result.stdout + result.stderr

    # Success, through a dropped upload and a 5xx, with the site directory.
    standin.fail("upload", Fault("drop-half"))
    standin.fail("list", Fault("status", 502))
    publish(machine, str(remote), *release, *api, *site)
    publish(machine, str(remote), *release, *api, *site)  # nothing new
    # Refused: a published name with other bytes.
    other = publisher(tmp_path / "b")
    other.add("alpha", "1.0", requires=("beta",))
    publish(other, str(remote), *release, *api, code=8)
    # The API refuses the token (and quotes it back), fails every time, rate-limits.
    newcomer = publisher(tmp_path / "c")
    newcomer.add("huge", "1.0", payload=random.Random(1).randbytes(120_000))
    with serve_standin(GitHubStandIn("another-token-entirely")) as refusing:
        publish(newcomer, str(remote), *release, "--github-api", refusing.url, code=9)
    standin.fail("find", Fault("status", 503, {"Retry-After": "0"}, times=6))
    publish(newcomer, str(remote), *release, *api, code=9)
    standin.fail("find", rate_limited(7200))
    publish(newcomer, str(remote), *release, *api, code=9)
    # git over https to a host the token is for (nothing listens), and a URL with it inside.
    port = closed_port()
    publish(machine, f"https://127.0.0.1:{port}/owner/repo.git", *release, *api, code=9)
    publish(machine, f"https://x-access-token:{TOKEN}@127.0.0.1:{port}/r.git", *api, code=9)
    # Removal: of the release asset too; then a name that is not published.
    publish(machine, str(remote), BIG, "--reason", "too big", *release, *api, command="unpublish")
    assert standin.assets() == {}
    publish(
        machine,
        str(remote),
        "nope-1.0-py3-none-any.whl",
        "--reason",
        "x",
        *api,
        code=2,
        command="unpublish",
    )

    leaks = forms(TOKEN)
    for output in outputs:
        assert not [form for form in leaks if form in output.encode()], output
    assert any("Traceback" in output for output in outputs)  # --debug did show tracebacks
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert not [form for form in leaks if form in data], path
    repositories = [remote, *tmp_path.glob("*/cache/publish/*/repo.git")]
    assert len(repositories) >= 3
    for repository in repositories:
        assert not [form for form in leaks if form in every_object(repository)], repository
        config = (repository / "config").read_text()
        assert "[remote" not in config and "extraheader" not in config.lower()
