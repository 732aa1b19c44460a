"""`factory publish` / `factory unpublish`: the published state plus this machine's wheels
(or minus wheels removed on purpose) becomes the new published state, pushed to a branch.

One attempt:

1. fetch the remote branch (none yet on a first publish) and make the work tree exactly
   that commit, whatever a killed run left there;
2. plan: the local wheels against the published ones; refusals come before any write;
3. upload the wheels above the threshold as release assets (kept when already there);
4. write the new wheels, records, logs, yanks and removals into ``files/`` and ``logs/``
   and regenerate the pages from the whole published wheelhouse (``factory.index``);
5. stage, check that no published wheel changes or disappears unless removed, and commit
   on top of the fetched commit (no commit when only bookkeeping changed);
6. push. When another publisher pushed first, the next attempt starts again at 1 on top
   of the winner's commit: the change is re-applied rather than rebased with git, since
   regenerated pages would conflict as text while the wheelhouses merge cleanly.

After the push, the assets of removed wheels are deleted and ``--site-dir`` is written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConfigError, PublishedFileChanged, PublishFailed
from ..hashing import sha256_file
from ..index import IndexOptions, IndexSettings, generate_index, layout
from ..locks import exclusive_lock
from ..redact import redact_url, redactor
from ..wheelmeta import METADATA_SUFFIX
from .git import Change, PublishRepo, git_environment, token_forms
from .merge import (
    COMPANION_SUFFIXES,
    LocalWheel,
    MergePlan,
    RemovalPlan,
    apply_merge,
    apply_removals,
    companion_paths,
    plan_merge,
    plan_removals,
    read_local,
)
from .releases import ReleaseClient, RetryPolicy
from .site import PAGES_SITE_LIMIT, check_sizes, write_site

DEFAULT_ASSET_THRESHOLD = 50 * 1024**2  # GitHub warns about files above 50 MiB in a push
LOCK_WAIT = 1800.0
GITHUB_API = "https://api.github.com"


@dataclass(frozen=True)
class PublishOptions:
    remote: str  # a git URL or path; may carry credentials (never written to disk)
    wheelhouse: Path
    logs: Path
    recipes: Path
    patches: Path
    cache: Path
    branch: str = "gh-pages"
    site_dir: Path | None = None
    asset_threshold: int = DEFAULT_ASSET_THRESHOLD
    site_limit: int = PAGES_SITE_LIMIT
    github_api: str = GITHUB_API
    release_repo: str | None = None  # OWNER/NAME whose release holds the large wheels
    release_tag: str = "wheels"
    token: str | None = None
    settings: IndexSettings = field(default_factory=IndexSettings)
    attempts: int = 5
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class PublishReport:
    remote: str  # redacted
    branch: str
    commit: str | None  # the published commit after this run
    pushed: bool  # False: the remote already held exactly this
    added: tuple[str, ...] = ()  # new wheels in files/
    assets: tuple[str, ...] = ()  # new wheels as release assets
    unchanged: tuple[str, ...] = ()  # already published with the same bytes
    not_republished: tuple[str, ...] = ()  # local wheels that were removed on purpose
    removed: tuple[str, ...] = ()
    attempts: int = 1
    site_bytes: int = 0
    site_dir: str | None = None


def publish(
    options: PublishOptions,
    say: Callable[[str], None],
    removals: Mapping[str, str] | None = None,
) -> PublishReport:
    """Publish the local wheelhouse, or with ``removals`` (wheel file name -> reason) remove
    those published wheels instead."""
    publisher = _Publisher(options, say)
    return publisher.run(removals)


@dataclass
class _Attempt:
    commit: str | None  # None: nothing to publish
    plan: MergePlan
    removals: RemovalPlan
    site_bytes: int


class _Publisher:
    def __init__(self, options: PublishOptions, say: Callable[[str], None]) -> None:
        self.options = options
        self.say = say
        secrets = token_forms(options.token) if options.token else ()
        self.redact = redactor(secrets)
        self.shown_remote = redact_url(options.remote)
        state = options.cache / "publish" / _state_key(self.shown_remote, options.branch)
        self.lock = state / "lock"
        api_host = urlsplit(options.github_api).hostname
        token_host = "github.com" if api_host == "api.github.com" else api_host
        env = git_environment(options.remote, options.token, token_host, os.environ)
        self.repo = PublishRepo(
            state,
            options.remote,
            options.branch,
            env=env,
            redact=self.redact,
            log=state / "publish.log",
        )
        self._client: ReleaseClient | None = None

    def run(self, removals: Mapping[str, str] | None) -> PublishReport:
        options = self.options
        local = read_local(options.wheelhouse) if removals is None else []
        where = f"{self.shown_remote} {options.branch}"
        with exclusive_lock(
            self.lock,
            what=f"publishing to {where}",
            wait_limit=LOCK_WAIT,
            on_wait=lambda holder: self.say(
                f"another factory publish to {where} is running here ({holder}); waiting"
            ),
        ):
            self.repo.ensure()
            for number in range(1, options.attempts + 1):
                tip = self.repo.fetch()
                self.repo.reset_tree(tip)
                attempt = self._attempt(tip, local, removals or {})
                if attempt.commit is None:
                    return self._finish(tip, False, attempt, number)
                result = self.repo.push(attempt.commit)
                if result.returncode == 0:
                    return self._finish(attempt.commit, True, attempt, number)
                now = self.repo.remote_tip()
                if now == attempt.commit:  # the push landed; only its answer was lost
                    return self._finish(attempt.commit, True, attempt, number)
                if now == tip:
                    raise PublishFailed(
                        f"git push to {where} was refused",
                        hint="check that this machine may push to the branch (branch "
                        "protection, token permission contents: write)",
                        details=tuple(result.output.splitlines()[-20:]),
                    )
                if number < options.attempts:
                    self.say(
                        f"{where} moved on while this publish ran (another publisher): "
                        f"publishing on top of it (attempt {number + 1} of {options.attempts})"
                    )
        raise PublishFailed(
            f"{where} moved on during each of {options.attempts} attempts",
            hint="other publishers keep pushing: run again (or raise --attempts)",
        )

    # --- one attempt ----------------------------------------------------------------

    def _attempt(
        self, tip: str | None, local: list[LocalWheel], reasons: Mapping[str, str]
    ) -> _Attempt:
        options, tree = self.options, self.repo.tree
        published = tree / layout.FILES_LINK
        plan = plan_merge(local, published, options.asset_threshold)
        removals = plan_removals(published, reasons, options.branch)
        if tip is None and not reasons and not (plan.files or plan.assets):
            raise ConfigError(
                f"no wheels in {options.wheelhouse} to publish, and nothing is published "
                f"on {options.branch} yet",
                hint="run `factory build` first, or pass --wheelhouse",
            )
        hosted = self._upload(plan.assets) if plan.assets else {}
        if not reasons:  # an unpublish changes nothing but the removals
            apply_merge(plan, hosted, published, options.wheelhouse, options.logs)
        apply_removals(removals, published)
        try:
            generate_index(
                IndexOptions(
                    wheelhouse=published,
                    out=tree,
                    recipes=options.recipes,
                    patches=options.patches,
                    logs=tree / layout.LOGS_LINK,
                    settings=options.settings,
                )
            )
        except ConfigError as error:
            raise self._on_branch(error) from None
        staged = self.repo.stage()
        changes = self.repo.changes(tip)
        _check_changes(changes, set(removals.remove))
        site_bytes = check_sizes(self.repo.sizes(staged), options.site_limit, self.say)
        if all(layout.is_bookkeeping(change.path) for change in changes):
            return _Attempt(None, plan, removals, site_bytes)
        commit = self.repo.commit(staged, tip, _message(plan, removals, changes))
        return _Attempt(commit, plan, removals, site_bytes)

    def _on_branch(self, error: ConfigError) -> ConfigError:
        """An index error about the work tree, told about the branch it is a copy of."""
        branch = self.options.branch
        message = error.message.replace(f"{self.repo.tree}/", f"{branch}:")
        hint = error.hint
        if "not written by the factory" in message:
            hint = (
                f"the branch holds files the factory did not write: publish to a new "
                f"branch (--branch) or remove them from {branch}"
            )
        return type(error)(message, hint=hint, details=error.details)

    def _upload(self, wheels: tuple[LocalWheel, ...]) -> dict[str, str]:
        """Upload each wheel, its .metadata and its build record as release assets; the
        wheels' URLs. The metadata must be at the wheel's URL plus .metadata (PEP 658);
        the record, at the URL plus .build.json, as it is beside every wheel in files/."""
        client = self._release_client()
        if client is None:
            options, first = self.options, wheels[0]
            missing = "--release-repo" if options.release_repo is None else "GITHUB_TOKEN"
            raise ConfigError(
                f"{first.name} is {first.entry.size:,} bytes, above --asset-threshold "
                f"({options.asset_threshold:,} bytes): it must become a release asset, which "
                f"needs {missing}; nothing was published",
                hint="pass --release-repo OWNER/REPO and set GITHUB_TOKEN (a token that may "
                "write releases), or raise --asset-threshold (at most 100M)",
            )
        release = client.find_or_create(self.options.release_tag)
        hosted = {}
        for wheel in wheels:
            asset = client.upload(release, wheel.path, wheel.entry.sha256)
            for suffix in COMPANION_SUFFIXES[1:]:
                companion = wheel.path.with_name(wheel.name + suffix)
                if not companion.is_file():
                    continue  # an adopted wheel has no build record
                sha256 = wheel.entry.metadata_sha256 if suffix == METADATA_SUFFIX else None
                uploaded = client.upload(release, companion, sha256 or sha256_file(companion))
                if uploaded.url != asset.url + suffix:
                    raise PublishFailed(
                        f"the release serves {companion.name} at {uploaded.url}, not at the "
                        f"wheel's URL plus {suffix}; nothing was published",
                        hint="GitHub renames asset names with unusual characters: rename "
                        "the wheel's project or version",
                    )
            hosted[wheel.name] = asset.url
        return hosted

    def _release_client(self) -> ReleaseClient | None:
        """The client of the configured release; None when there is none (no
        --release-repo, or no token)."""
        options = self.options
        if options.release_repo is None or not options.token:
            return None
        if self._client is None:
            self._client = ReleaseClient(
                options.github_api,
                options.release_repo,
                options.token,
                say=self.say,
                redact=self.redact,
                policy=options.retry,
            )
        return self._client

    # --- after the push ---------------------------------------------------------------

    def _finish(
        self, commit: str | None, pushed: bool, attempt: _Attempt, attempts: int
    ) -> PublishReport:
        removals = attempt.removals
        removed = (*removals.remove, *removals.already)
        if removed:
            self._delete_assets(removed)
        site_dir = self.options.site_dir
        if site_dir is not None and commit is not None:
            if not pushed:
                self.repo.reset_tree(commit)  # the bookkeeping this run rewrote, as pushed
            write_site(self.repo.tree, self.repo.sizes(commit), site_dir)
        plan = attempt.plan
        return PublishReport(
            remote=self.shown_remote,
            branch=self.options.branch,
            commit=commit,
            pushed=pushed,
            added=tuple(w.name for w in plan.files),
            assets=tuple(w.name for w in plan.assets),
            unchanged=plan.published,
            not_republished=plan.removed,
            removed=tuple(removals.remove),
            attempts=attempts,
            site_bytes=attempt.site_bytes,
            site_dir=str(site_dir) if site_dir is not None else None,
        )

    def _delete_assets(self, names: tuple[str, ...]) -> None:
        """Removed wheels leave the release too (once the pages no longer link them)."""
        client = self._release_client()
        if client is None:
            return
        release = client.find(self.options.release_tag)
        if release is None:
            return
        assets = client.assets(release)
        for name in names:
            for asset_name in (name + suffix for suffix in COMPANION_SUFFIXES):
                if asset_name in assets:
                    self.say(f"deleting the release asset {asset_name}")
                    client.delete(assets[asset_name])


def _state_key(remote: str, branch: str) -> str:
    return hashlib.sha256(f"{remote}\n{branch}".encode()).hexdigest()[:16]


def _immutable(path: str) -> bool:
    name = path.removeprefix(f"{layout.FILES_LINK}/")
    return (
        name != path
        and "/" not in name
        and any(name.endswith(".whl" + suffix) for suffix in COMPANION_SUFFIXES)
    )


def _check_changes(changes: list[Change], removing: set[str]) -> None:
    """The last guard before a commit: published wheels and what comes with them never
    change, and nothing published disappears unless it is being removed on purpose."""
    allowed = companion_paths(removing)
    for change in changes:
        if change.status == "A":
            continue
        if _immutable(change.path) and change.status != "D":
            raise PublishedFileChanged(
                f"{change.path} would change on the published branch; nothing was published",
                hint="a published file name never gets new bytes: raise the recipe's "
                "build_number (`factory bump --rebuild PROJECT`) and build again",
            )
        if (
            change.status == "D"
            and change.path not in allowed
            and not _page(change.path)
            and not layout.is_bookkeeping(change.path)
        ):
            raise PublishFailed(
                f"{change.path} would disappear from the published branch; nothing was published",
                hint="remove published wheels with `factory unpublish`; report this if it "
                "happened otherwise",
            )


def _page(path: str) -> bool:
    """A project's pages: regenerated, and gone when its last wheel is removed."""
    return path.startswith(("simple/", "projects/"))


def _message(plan: MergePlan, removals: RemovalPlan, changes: list[Change]) -> str:
    lines = [f"+ {w.name}" for w in plan.files]
    lines += [f"+ {w.name} (release asset)" for w in plan.assets]
    lines += [f"- {name}: {removal.reason}" for name, removal in removals.remove.items()]
    new = len(plan.files) + len(plan.assets)
    if removals.remove:
        title = f"Remove {len(removals.remove)} wheel{'s' if len(removals.remove) != 1 else ''}"
    elif new:
        title = f"Publish {new} wheel{'s' if new != 1 else ''}"
    else:
        title = f"Update pages and logs ({len(changes)} files)"
    return "\n".join([title, "", *lines]) if lines else title
