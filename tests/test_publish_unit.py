"""The pure parts of publishing: retry delays, size limits, the last guard before a
commit, git's environment, redaction, sizes on the command line, the merge plan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest

from factory.commands.publishing import parse_size, publish
from factory.errors import ConfigError, PublishedFileChanged, PublishFailed
from factory.index.hosting import HOSTING_FILE
from factory.publish.git import Change, git_environment, token_forms
from factory.publish.merge import plan_merge, read_local
from factory.publish.publisher import _check_changes
from factory.publish.releases import RetryPolicy, retry_delay
from factory.publish.site import GITHUB_FILE_LIMIT, check_sizes
from factory.redact import redactor

from .index_helpers import add_wheel

POLICY = RetryPolicy(base_delay=2.0, max_delay=60.0)
NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (503, {"Retry-After": "7"}, 7.0),
        (429, {"Retry-After": "5"}, 5.0),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 30)}, 31.0),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) - 5)}, 1.0),
        (403, {}, None),  # no rate limit: the token may not do this
        (404, {}, None),
        (422, {"Retry-After": "3"}, None),
    ],
)
def test_retry_delay_follows_the_server(
    status: int, headers: dict[str, str], expected: float | None
) -> None:
    assert retry_delay(status, headers, 0, POLICY, NOW) == expected


@pytest.mark.parametrize("status", [None, 500, 502])
def test_retry_delay_backs_off_exponentially_with_some_jitter(status: int | None) -> None:
    for attempt, base in ((0, 2.0), (1, 4.0), (3, 16.0), (10, 60.0)):
        delay = retry_delay(status, {}, attempt, POLICY, NOW)
        assert delay is not None and base <= delay <= base * 1.1


def test_a_file_github_would_refuse_is_refused_by_name() -> None:
    sizes = {"files/ok.whl": 10, "logs/x/huge.log": GITHUB_FILE_LIMIT + 1}
    with pytest.raises(ConfigError, match=r"^logs/x/huge\.log is 104,857,601 bytes"):
        check_sizes(sizes, 10**12, print)


@pytest.mark.parametrize(
    ("total", "warning"),
    [(500, None), (850, "85% of the 1.0 kB"), (1200, "above the 1.0 kB GitHub Pages serves")],
)
def test_the_site_size_warns_near_and_above_the_limit(total: int, warning: str | None) -> None:
    said: list[str] = []
    assert check_sizes({"a": total // 2, "b": total - total // 2}, 1000, said.append) == total
    if warning is None:
        assert said == []
    else:
        assert len(said) == 1 and said[0].startswith("WARNING: the site is") and warning in said[0]


def test_the_last_guard_refuses_a_changed_or_lost_published_file() -> None:
    fine = [Change("A", "files/new-1.0-py3-none-any.whl"), Change("M", "simple/new/index.html")]
    _check_changes(fine, set())
    for path in ("files/a-1.0-py3-none-any.whl", "files/a-1.0-py3-none-any.whl.metadata"):
        with pytest.raises(PublishedFileChanged, match="would change on the published branch"):
            _check_changes([Change("M", path)], set())
    with pytest.raises(PublishFailed, match="would disappear"):
        _check_changes([Change("D", "files/a-1.0-py3-none-any.whl.build.json")], set())
    with pytest.raises(PublishFailed, match="would disappear"):
        _check_changes([Change("D", "logs/a/1.0.log")], set())
    removing = {"a-1.0-py3-none-any.whl"}
    _check_changes([Change("D", "files/a-1.0-py3-none-any.whl.build.json")], removing)
    _check_changes([Change("M", "files/catalog.tsv"), Change("M", "files/hosting.json")], set())


def test_the_token_reaches_git_only_for_its_host_and_only_by_environment() -> None:
    def headers(env: dict[str, str]) -> dict[str, str]:
        count = int(env["GIT_CONFIG_COUNT"])
        pairs = {env[f"GIT_CONFIG_KEY_{n}"]: env[f"GIT_CONFIG_VALUE_{n}"] for n in range(count)}
        return {k: v for k, v in pairs.items() if "extraheader" in k.lower()}

    env = git_environment("https://github.com/o/r.git", "tok-123456789", "github.com", {})
    assert list(headers(env)) == ["http.https://github.com/.extraHeader"]
    assert token_forms("tok-123456789")[1] in headers(env)["http.https://github.com/.extraHeader"]
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    for remote in ("https://elsewhere.example/o/r.git", "http://github.com/o/r.git", "/srv/r.git"):
        assert headers(git_environment(remote, "tok-123456789", "github.com", {})) == {}
    assert headers(git_environment("https://github.com/o/r.git", None, "github.com", {})) == {}
    # Entries the caller already had in the environment are kept, ours come after them.
    given = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_VALUE_0": "c"}
    env = git_environment("/srv/r.git", None, None, given)
    assert env["GIT_CONFIG_KEY_0"] == "a.b" and int(env["GIT_CONFIG_COUNT"]) > 1
    assert env["GIT_CONFIG_KEY_1"] == "core.autocrlf"


def test_redactor_hides_tokens_and_url_credentials() -> None:
    redact = redactor(["ghp_secret123456", "short"])
    text = "Bearer ghp_secret123456 at https://user:pw@host/r.git (short)"
    assert redact(text) == "Bearer *** at https://***@host/r.git (short)"


@pytest.mark.parametrize(
    ("text", "size"),
    [("50M", 50 * 1024**2), ("1G", 1024**3), ("20k", 20 * 1024), ("1.5MiB", 1572864), ("900", 900)],
)
def test_sizes_on_the_command_line(text: str, size: int) -> None:
    context = click.Context(publish)
    assert parse_size(context, publish.params[0], text) == size


@pytest.mark.parametrize("text", ["lots", "", "-5M", "0"])
def test_a_size_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_size(click.Context(publish), publish.params[0], text)


def test_the_merge_plan_sorts_every_local_wheel(tmp_path: Path) -> None:
    local, published, scratch = tmp_path / "local", tmp_path / "published", tmp_path / "s"
    shared = add_wheel(local, scratch / "1", "shared", "1.0")
    add_wheel(local, scratch / "2", "fresh", "1.0")
    add_wheel(local, scratch / "3", "large", "1.0", payload=b"x" * 5000)
    add_wheel(local, scratch / "4", "gone", "1.0")
    add_wheel(local, scratch / "5", "clash", "1.0")
    published.mkdir()
    for suffix in ("", ".metadata", ".build.json"):
        name = shared.name + suffix
        shutil.copy(local / name, published / name)
    (published / "catalog.tsv").write_text((local / "catalog.tsv").read_text())
    add_wheel(published, scratch / "6", "clash", "1.0", requires=("other",))  # other bytes
    (published / HOSTING_FILE).write_text(
        json.dumps({"removed": {"gone-1.0-py3-none-any.whl": {"reason": "x", "sha256": ""}}})
    )
    wheels = read_local(local)
    with pytest.raises(PublishedFileChanged) as refused:
        plan_merge(wheels, published, threshold=2000)
    assert refused.value.details == ("published with other bytes: clash-1.0-py3-none-any.whl",)
    plan = plan_merge(
        [w for w in wheels if w.name.startswith(("shared", "fresh", "large", "gone"))],
        published,
        2000,
    )
    assert [w.name for w in plan.files] == ["fresh-1.0-py3-none-any.whl"]
    assert [w.name for w in plan.assets] == ["large-1.0-py3-none-any.whl"]
    assert plan.published == ("shared-1.0-py3-none-any.whl",)
    assert plan.removed == ("gone-1.0-py3-none-any.whl",)


def test_a_local_wheel_without_its_metadata_file_is_refused(tmp_path: Path) -> None:
    wheel = add_wheel(tmp_path / "local", tmp_path / "s", "alpha", "1.0")
    wheel.with_name(wheel.name + ".metadata").unlink()
    with pytest.raises(ConfigError, match=r"catalog line or its \.metadata file"):
        read_local(tmp_path / "local")
