"""The release client against the GitHub stand-in on 127.0.0.1: find or create, list,
upload, a connection dropped halfway (resumed, no duplicate), rate limits, 5xx."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from factory.errors import PublishedFileChanged, PublishFailed
from factory.publish.releases import ReleaseClient, RetryPolicy
from factory.redact import redactor

from .github_standin import Fault, GitHubStandIn, rate_limited, serve_standin

pytestmark = pytest.mark.integration
TOKEN = "ghp_standinTOKEN0123456789abcdefghijklmnop"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_wait=30)


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with serve_standin(GitHubStandIn(TOKEN)) as server:
        yield server


def client(
    standin: GitHubStandIn, messages: list[str], policy: RetryPolicy = FAST
) -> ReleaseClient:
    return ReleaseClient(
        standin.url,
        standin.repo,
        TOKEN,
        say=messages.append,
        redact=redactor([TOKEN]),
        policy=policy,
    )


def wheel_file(tmp_path: Path, size: int = 200_000, seed: bytes = b"a") -> tuple[Path, str]:
    path = tmp_path / "big-1.0-py3-none-any.whl"
    data = hashlib.sha256(seed).digest() * (size // 32)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_finds_or_creates_the_release_once(standin: GitHubStandIn) -> None:
    api = client(standin, [])
    first = api.find_or_create("wheels")
    again = api.find_or_create("wheels")
    assert first == again and list(standin.releases) == ["wheels"]
    creations = [r for r in standin.requests if r == ("POST", f"/repos/{standin.repo}/releases")]
    assert len(creations) == 1


def test_upload_then_list_across_pages(standin: GitHubStandIn, tmp_path: Path) -> None:
    api = client(standin, [])
    release = api.find_or_create("wheels")
    uploaded = {}
    for number in range(5):  # more than a page (the stand-in pages by 2)
        path = tmp_path / f"w{number}-1.0-py3-none-any.whl"
        path.write_bytes(f"wheel {number}".encode())
        uploaded[path.name] = api.upload(
            release, path, hashlib.sha256(path.read_bytes()).hexdigest()
        )
    listed = api.assets(release)
    assert sorted(listed) == sorted(uploaded)
    assert all(listed[name].complete and listed[name].url == uploaded[name].url for name in listed)
    assert sum("page=3" in path for _, path in standin.requests) >= 1


def test_an_upload_dropped_halfway_is_resumed_without_a_duplicate(
    standin: GitHubStandIn, tmp_path: Path
) -> None:
    messages: list[str] = []
    api = client(standin, messages)
    release = api.find_or_create("wheels")
    path, sha256 = wheel_file(tmp_path)
    standin.fail("upload", Fault("drop-half"))
    asset = api.upload(release, path, sha256)
    stored = standin.assets()
    assert list(stored) == [path.name]  # the partial one was deleted, not kept beside
    assert stored[path.name].data == path.read_bytes() and stored[path.name].state == "uploaded"
    assert asset.sha256 == sha256
    assert any("cut off" in m for m in messages) and any("incomplete upload" in m for m in messages)


def test_an_upload_whose_answer_was_lost_is_not_uploaded_again(
    standin: GitHubStandIn, tmp_path: Path
) -> None:
    api = client(standin, [])
    release = api.find_or_create("wheels")
    path, sha256 = wheel_file(tmp_path)
    standin.fail("upload", Fault("drop-after-store"))
    api.upload(release, path, sha256)
    uploads = [r for r in standin.requests if r[0] == "POST" and "/uploads/" in r[1]]
    assert len(uploads) == 1 and list(standin.assets()) == [path.name]


def test_an_upload_stored_wrongly_is_replaced(standin: GitHubStandIn, tmp_path: Path) -> None:
    messages: list[str] = []
    api = client(standin, messages)
    release = api.find_or_create("wheels")
    path, sha256 = wheel_file(tmp_path)
    standin.fail("upload", Fault("corrupt"))
    api.upload(release, path, sha256)
    assert standin.assets()[path.name].data == path.read_bytes()
    assert any("does not match its file" in m for m in messages)


def test_the_same_name_with_other_bytes_is_refused(standin: GitHubStandIn, tmp_path: Path) -> None:
    api = client(standin, [])
    release = api.find_or_create("wheels")
    path, sha256 = wheel_file(tmp_path)
    api.upload(release, path, sha256)
    (tmp_path / "other").mkdir()
    other, other_sha = wheel_file(tmp_path / "other", seed=b"b")
    with pytest.raises(PublishedFileChanged, match="other bytes"):
        api.upload(release, other, other_sha)
    assert standin.assets()[path.name].data == path.read_bytes()


def test_without_digests_the_bytes_are_compared(tmp_path: Path) -> None:
    with serve_standin(GitHubStandIn(TOKEN, digests=False)) as standin:
        api = client(standin, [])
        release = api.find_or_create("wheels")
        path, sha256 = wheel_file(tmp_path)
        api.upload(release, path, sha256)
        assert api.upload(release, path, sha256).sha256 is None  # kept, after reading it
        (tmp_path / "other").mkdir()
        other, other_sha = wheel_file(tmp_path / "other", seed=b"b")
        with pytest.raises(PublishedFileChanged):
            api.upload(release, other, other_sha)


def test_a_rate_limit_waits_until_the_reset(standin: GitHubStandIn) -> None:
    messages: list[str] = []
    api = client(standin, messages)
    standin.fail("find", rate_limited(1))
    started = time.monotonic()
    api.find_or_create("wheels")
    assert time.monotonic() - started >= 0.9  # waited for X-RateLimit-Reset
    assert any("403; trying again in" in m for m in messages)


def test_retry_after_is_honoured(standin: GitHubStandIn) -> None:
    messages: list[str] = []
    api = client(standin, messages)
    standin.fail("find", Fault("status", 429, {"Retry-After": "1"}))
    started = time.monotonic()
    api.find_or_create("wheels")
    assert time.monotonic() - started >= 0.9
    assert any("429; trying again in 1 s" in m for m in messages)


def test_a_rate_limit_that_resets_too_late_fails_with_when(standin: GitHubStandIn) -> None:
    api = client(standin, [])
    standin.fail("find", rate_limited(3600))
    with pytest.raises(PublishFailed, match=r"rate limit .* resets in"):
        api.find_or_create("wheels")


def test_5xx_then_success(standin: GitHubStandIn, tmp_path: Path) -> None:
    messages: list[str] = []
    api = client(standin, messages)
    standin.fail("find", Fault("status", 502))
    standin.fail("list", Fault("status", 503))
    standin.fail("upload", Fault("status", 500))
    release = api.find_or_create("wheels")
    path, sha256 = wheel_file(tmp_path)
    api.upload(release, path, sha256)
    assert list(standin.assets()) == [path.name]
    assert [m.split(":")[-1].split(";")[0].strip() for m in messages if "trying again" in m] == [
        "502",
        "503",
        "500",
    ]


def test_5xx_every_time_gives_up_with_one_error(standin: GitHubStandIn) -> None:
    api = client(standin, [])
    standin.fail("find", Fault("status", 503, times=10))
    with pytest.raises(PublishFailed, match="did not succeed in 4 attempts"):
        api.find_or_create("wheels")


def test_a_bad_token_is_refused_and_never_shown(standin: GitHubStandIn) -> None:
    api = ReleaseClient(
        standin.url, standin.repo, TOKEN + "x", say=lambda _: None, redact=redactor([TOKEN + "x"])
    )
    with pytest.raises(PublishFailed) as raised:
        api.find_or_create("wheels")
    assert "401" in raised.value.message and "Bad credentials" in raised.value.message
    assert TOKEN not in raised.value.message and "***" in raised.value.message
