"""Release assets through GitHub's REST API: where wheels too large for Pages live.

Only these endpoints are used (https://docs.github.com/en/rest/releases):

    GET    /repos/{repo}/releases/tags/{tag}     find the release
    POST   /repos/{repo}/releases                create it
    GET    /repos/{repo}/releases/{id}/assets     list its assets (paginated, Link header)
    POST   {upload_url}?name={name}               upload an asset
    GET    /repos/{repo}/releases/assets/{id}     an asset's bytes (checked when it has no digest)
    DELETE /repos/{repo}/releases/assets/{id}     a cut-off upload, an unpublished wheel

Every request is retried on connection errors and 5xx with exponential backoff, and on
rate limits (403/429) after the wait the server asks for (``Retry-After``, else until
``X-RateLimit-Reset``). urllib3's ``Retry`` knows ``Retry-After`` but not GitHub's reset
header, and cannot resend a streamed upload, which needs a look at the assets first:
an upload cut off halfway may have left a partial asset (deleted, then uploaded again)
or a complete one (kept), and never a second asset of one name.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ..errors import PublishedFileChanged, PublishFailed

API_VERSION = "2022-11-28"
CONNECT_TIMEOUT = 30.0
READ_TIMEOUT = 300.0  # per wait on the socket: a large upload takes longer in total
USER_AGENT = "riscv64-wheel-factory"
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 1.0  # doubled after each failure, with up to 10% jitter
    max_delay: float = 60.0
    max_wait: float = 900.0  # a rate limit that resets later than this is a failure


@dataclass(frozen=True)
class Release:
    id: int
    tag: str
    upload_url: str  # without the "{?name,label}" template


@dataclass(frozen=True)
class Asset:
    id: int
    name: str
    size: int
    state: str  # "uploaded" once complete
    url: str  # browser_download_url: what the index links
    sha256: str | None  # GitHub's "digest" ("sha256:..."), when it gives one

    @property
    def complete(self) -> bool:
        return self.state == "uploaded"


def retry_delay(
    status: int | None, headers: Mapping[str, str], attempt: int, policy: RetryPolicy, now: float
) -> float | None:
    """Seconds to wait before trying again, or None when the answer is final.

    ``status`` None: the connection failed. ``attempt`` counts from 0.
    """
    backoff = min(policy.base_delay * 2.0**attempt, policy.max_delay)
    backoff *= 1 + random.uniform(0, 0.1)
    retry_after = headers.get("Retry-After", "")
    if status is None:
        return backoff
    if status >= 500:
        return float(retry_after) if retry_after.isdigit() else backoff
    if status in (403, 429):
        # GitHub: a secondary rate limit sends Retry-After; the primary one, a reset time.
        if retry_after.isdigit():
            return float(retry_after)
        reset = headers.get("X-RateLimit-Reset", "")
        if headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
            return max(float(reset) - now, 0.0) + 1.0
    return None


class ReleaseClient:
    """The release ``tag`` of ``repo`` (OWNER/NAME) at ``api_url``, with ``token``."""

    def __init__(
        self,
        api_url: str,
        repo: str,
        token: str,
        *,
        say: Callable[[str], None],
        redact: Callable[[str], str],
        policy: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.api = api_url.rstrip("/")
        self.repo = repo
        self.say = say
        self.redact = redact
        self.policy = policy
        self._listings: dict[int, dict[str, Asset]] = {}  # release id -> its assets by name
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": USER_AGENT,
            }
        )

    # --- the operations --------------------------------------------------------------

    def find(self, tag: str) -> Release | None:
        url = f"{self.api}/repos/{self.repo}/releases/tags/{tag}"
        response = self._request("GET", url, ok=(200, 404))
        return _release(_json(response), tag) if response.status_code == 200 else None

    def find_or_create(self, tag: str) -> Release:
        release = self.find(tag)
        if release is not None:
            return release
        response = self._request(
            "POST",
            f"{self.api}/repos/{self.repo}/releases",
            ok=(201, 422),
            json={
                "tag_name": tag,
                "name": tag,
                "body": "Wheels too large for GitHub Pages, linked from the index "
                "(riscv64 wheel factory). Assets are never replaced.",
                "make_latest": "false",
            },
        )
        if response.status_code == 201:
            return _release(_json(response), tag)
        release = self.find(tag)  # 422: another publisher created it a moment ago
        if release is None:
            raise self._failure("POST", response.url, 422, _body(response))
        return release

    def assets(self, release: Release) -> dict[str, Asset]:
        found: dict[str, Asset] = {}
        url: str | None = f"{self.api}/repos/{self.repo}/releases/{release.id}/assets?per_page=100"
        while url is not None:
            response = self._request("GET", url)
            items = _json(response)
            if not isinstance(items, list):
                raise _unexpected("the assets")
            for item in items:
                asset = _asset(item)
                found[asset.name] = asset
            url = response.links.get("next", {}).get("url")
        return found

    def delete(self, asset: Asset) -> None:
        url = f"{self.api}/repos/{self.repo}/releases/assets/{asset.id}"
        self._request("DELETE", url, ok=(204, 404))

    def upload(self, release: Release, path: Path, sha256: str) -> Asset:
        """``path`` as the asset of its name; an asset of that name already complete with
        the same bytes is kept, with other bytes refused (a published name never changes)."""
        name, size = path.name, path.stat().st_size
        for attempt in range(self.policy.attempts):
            # The listing is read once per release, and again after a failed attempt.
            if attempt > 0 or release.id not in self._listings:
                self._listings[release.id] = self.assets(release)
            listing = self._listings[release.id]
            existing = listing.get(name)
            if existing is not None and existing.complete:
                if self._same_bytes(existing, size, sha256):
                    return existing
                raise PublishedFileChanged(
                    f"{name} is already a release asset of {self.repo} {release.tag} with "
                    "other bytes; nothing was published",
                    hint="a published file name never gets new bytes: raise the recipe's "
                    "build_number (`factory bump --rebuild PROJECT`) and build again",
                )
            if existing is not None:  # left by an upload that was cut off
                self.say(f"removing the incomplete upload of {name} ({existing.size} bytes)")
                self.delete(existing)
            self.say(f"uploading {name} ({size:,} bytes) to release {release.tag}")
            status, headers, body = self._upload_once(release, path)
            if status == 201:
                asset = _asset(body)
                if self._same_bytes(asset, size, sha256):
                    listing[name] = asset
                    return asset
                self.say(f"the uploaded {name} does not match its file: uploading it again")
                self.delete(asset)
                continue
            if status == 422:
                continue  # the name exists after all (our cut-off upload completed): look
            delay = retry_delay(status, headers, attempt, self.policy, time.time())
            if delay is None:
                raise self._failure("POST", release.upload_url, status, body)
            if attempt + 1 < self.policy.attempts:
                self._wait(delay, f"upload of {name}", status or "cut off", attempt)
        raise PublishFailed(
            f"the upload of {name} to {self.repo} did not succeed in "
            f"{self.policy.attempts} attempts",
            hint="run `factory publish` again: what was uploaded completely is kept",
        )

    # --- requests --------------------------------------------------------------------

    def _upload_once(
        self, release: Release, path: Path
    ) -> tuple[int | None, Mapping[str, str], Any]:
        try:
            with path.open("rb") as data:
                response = self.session.post(
                    release.upload_url,
                    params={"name": path.name},
                    data=data,
                    headers={"Content-Type": "application/octet-stream"},
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                )
        except NETWORK_ERRORS as exc:
            self.say(f"the upload of {path.name} was cut off ({self._reason(exc)})")
            return None, {}, None
        return response.status_code, response.headers, _body(response)

    def _same_bytes(self, asset: Asset, size: int, sha256: str) -> bool:
        if asset.size != size:
            return False
        if asset.sha256 is not None:
            return asset.sha256 == sha256
        # An asset uploaded before GitHub recorded digests: hash its bytes.
        url = f"{self.api}/repos/{self.repo}/releases/assets/{asset.id}"
        digest = hashlib.sha256()
        response = self._request(
            "GET", url, headers={"Accept": "application/octet-stream"}, stream=True
        )
        with response:
            try:
                for chunk in response.iter_content(1 << 20):
                    digest.update(chunk)
            except NETWORK_ERRORS as exc:
                raise PublishFailed(
                    f"could not read the release asset {asset.name} ({self._reason(exc)})",
                    hint="run `factory publish` again",
                ) from None
        return digest.hexdigest() == sha256

    def _request(
        self, method: str, url: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response:
        headers: Mapping[str, str]
        for attempt in range(self.policy.attempts):
            try:
                response = self.session.request(
                    method, url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs
                )
            except NETWORK_ERRORS as exc:
                status, headers, reason, body = None, {}, self._reason(exc), None
            else:
                if response.status_code in ok:
                    return response
                status, headers, reason = response.status_code, response.headers, ""
                body = _body(response)
                response.close()
            delay = retry_delay(status, headers, attempt, self.policy, time.time())
            if delay is None:
                raise self._failure(method, url, status, body)
            if attempt + 1 < self.policy.attempts:
                self._wait(delay, f"{method} {url}", status or reason, attempt)
        raise PublishFailed(
            f"{method} {self.redact(url)} did not succeed in {self.policy.attempts} attempts "
            f"(last: {status or reason})",
            hint="check that the API is reachable (--github-api), then run again",
        )

    def _wait(self, delay: float, what: str, why: int | str | None, attempt: int) -> None:
        if delay > self.policy.max_wait:
            until = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
            raise PublishFailed(
                f"GitHub's rate limit for {self.repo} resets in {delay:.0f} s (at {until}), "
                f"later than the {self.policy.max_wait:.0f} s the factory waits",
                hint="run `factory publish` again after the reset: nothing is lost",
            )
        self.say(
            f"{self.redact(what)}: {why}; trying again in {delay:.0f} s "
            f"(attempt {attempt + 2} of {self.policy.attempts})"
        )
        time.sleep(delay)

    def _failure(self, method: str, url: str, status: int | None, body: Any) -> PublishFailed:
        message = body.get("message") if isinstance(body, dict) else None
        detail = f": {self.redact(str(message))}" if message else ""
        hint = "check the token's permissions (contents: write on the repository)"
        if status == 401:
            hint = "the token in GITHUB_TOKEN was not accepted: check that it is current"
        elif status == 404:
            hint = f"check that the repository {self.repo} exists and the token can see it"
        return PublishFailed(
            f"GitHub API {method} {self.redact(url)} answered {status}{detail}", hint=hint
        )

    def _reason(self, exc: Exception) -> str:
        return self.redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PublishFailed(
            f"GitHub API {response.request.method} answered {response.status_code} "
            "with something that is not JSON",
            hint="check --github-api: it must be the REST API's root URL",
        ) from None


def _asset(item: Any) -> Asset:
    try:
        digest = item.get("digest")
        sha256 = None
        if isinstance(digest, str) and digest.startswith("sha256:"):
            sha256 = digest.removeprefix("sha256:")
        return Asset(
            int(item["id"]),
            str(item["name"]),
            int(item["size"]),
            str(item.get("state", "")),
            str(item["browser_download_url"]),
            sha256,
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        raise _unexpected("an asset") from None


def _release(item: Any, tag: str) -> Release:
    try:
        return Release(int(item["id"]), tag, str(item["upload_url"]).split("{", 1)[0])
    except (KeyError, TypeError, ValueError):
        raise _unexpected("a release") from None


def _unexpected(what: str) -> PublishFailed:
    return PublishFailed(
        f"the GitHub API described {what} in an unexpected shape",
        hint="check --github-api: it must be the REST API's root URL",
    )
