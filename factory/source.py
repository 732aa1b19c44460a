"""Fetch a recipe's source once into a cache, verify it, and lay out a patched tree.

Sources are cached by content (sha256) or by repository (git mirror), so a rebuild
never downloads twice, and a cached file is re-verified before every use.

Everything that waits on the network has a deadline: a download is bounded in size
(``FACTORY_DOWNLOAD_MAX_BYTES``) and time (``FACTORY_DOWNLOAD_DEADLINE``), and the
whole fetch counts against the recipe's ``build.timeout`` like every other step.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import Version

from . import gitsource
from .errors import ConfigError, SourceError, SourceUnreachable
from .hashing import sha256_file
from .patches import apply_patches
from .recipe import ArchiveSource, GitSource, LoadedRecipe, PypiSource
from .redact import redact_url

DEFAULT_PYPI_URL = "https://pypi.org"
PEP691_JSON = "application/vnd.pypi.simple.v1+json"
CHUNK = 1 << 20
DEFAULT_DOWNLOAD_MAX_BYTES = 4 << 30  # the largest sdists (torch & co.) are a few hundred MB
DEFAULT_DOWNLOAD_DEADLINE_SECONDS = 3600
CONNECT_TIMEOUT_SECONDS = 30.0
READ_TIMEOUT_SECONDS = 60.0  # no byte at all for this long: the server is gone


def source_id(loaded: LoadedRecipe) -> str:
    """What pins the source's content, known without fetching (goes into the fingerprint)."""
    source = loaded.recipe.source
    if isinstance(source, GitSource):
        return f"git:{source.commit}"
    return f"sha256:{source.sha256}"


@dataclass(frozen=True)
class FetchBudget:
    """What fetching may cost: bytes per download, time per download and for the step."""

    max_bytes: int
    download_seconds: float
    step_seconds: float
    step_ends: float  # time.monotonic() at which the recipe's build.timeout runs out

    @classmethod
    def for_step(cls, step_seconds: float) -> FetchBudget:
        return cls(
            max_bytes=_positive_env("FACTORY_DOWNLOAD_MAX_BYTES", DEFAULT_DOWNLOAD_MAX_BYTES),
            download_seconds=_positive_env(
                "FACTORY_DOWNLOAD_DEADLINE", DEFAULT_DOWNLOAD_DEADLINE_SECONDS
            ),
            step_seconds=step_seconds,
            step_ends=time.monotonic() + step_seconds,
        )

    def step_remaining(self) -> float:
        return max(0.0, self.step_ends - time.monotonic())

    def download_deadline(self) -> tuple[float, str]:
        """When a download starting now must be done, and which limit that is."""
        own = time.monotonic() + self.download_seconds
        if own < self.step_ends:
            return own, f"FACTORY_DOWNLOAD_DEADLINE ({self.download_seconds:g} s)"
        return self.step_ends, f"the recipe's build.timeout ({self.step_seconds:g} s)"


def _positive_env(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) == 0:
        raise ConfigError(
            f"{name} must be a positive whole number, got {text!r}",
            hint=f"unset it for the default ({default}) or set it to e.g. {default}",
        )
    return int(text)


def prepare_tree(loaded: LoadedRecipe, sources_cache: Path, dest: Path, log: Path) -> Path:
    """Fetch (or reuse), verify, unpack and patch the source into ``dest``; return the tree.

    The returned path is the project root the build runs in (the recipe's
    subdirectory already applied). Every SourceError names the recipe it is about.
    """
    budget = FetchBudget.for_step(float(loaded.recipe.build.timeout))
    try:
        tree = _fetch_and_patch(loaded, sources_cache, dest, log, budget)
        subdirectory = loaded.recipe.build.subdirectory
        return _inside_tree(tree, subdirectory, loaded) if subdirectory else tree
    except SourceError as error:
        raise type(error)(  # SourceUnreachable stays what it is: `factory check` warns
            f"{loaded.path}: {error.message}",
            hint=error.hint or f"check the source in {loaded.path}",
            details=tuple(redact_url(line) for line in error.details),
        ) from None


def _fetch_and_patch(
    loaded: LoadedRecipe, cache: Path, dest: Path, log: Path, budget: FetchBudget
) -> Path:
    source = loaded.recipe.source
    if isinstance(source, GitSource):
        location = _resolve_location(source.url, loaded.path.parent)
        mirror = gitsource.mirror(location, source.commit, cache, log, budget)
        tree = dest / "src"
        gitsource.checkout(mirror, source.commit, tree, log, budget)
        if source.submodules:
            gitsource.check_out_submodules(tree, location, cache, log, budget)
    else:
        archive = (
            _fetch_pypi_sdist(loaded, source, cache, budget)
            if isinstance(source, PypiSource)
            else _fetch_archive(source, loaded.path.parent, cache, budget)
        )
        tree = _unpack(archive, dest / "src")
    apply_patches(tree, list(loaded.patch_files), log)
    return tree


def _inside_tree(tree: Path, subdirectory: str, loaded: LoadedRecipe) -> Path:
    """``tree/subdirectory`` with links resolved, refused if it leaves the pinned tree.

    The schema already refuses '..' and absolute paths; a committed symbolic link
    could still point anywhere on the build machine.
    """
    root = tree.resolve()
    target = (tree / subdirectory).resolve()
    if not target.is_relative_to(root):
        raise SourceError(
            f"build.subdirectory {subdirectory!r} leads outside the source tree "
            f"(a symbolic link to {target})",
            hint=f"point build.subdirectory in {loaded.path} at a real directory in the source",
        )
    if not target.is_dir():
        raise SourceError(
            f"build.subdirectory {subdirectory!r} does not exist in the source",
            hint=f"fix build.subdirectory in {loaded.path}",
        )
    return target


# --- files by hash ----------------------------------------------------------------


def _fetch_pypi_sdist(
    loaded: LoadedRecipe, pypi: PypiSource, cache: Path, budget: FetchBudget
) -> Path:
    cached = _cached_by_hash(cache, pypi.sha256)
    if cached is not None:
        return cached
    name = pypi.name or loaded.recipe.name
    version = Version(loaded.recipe.version)
    index = os.environ.get("FACTORY_PYPI_URL", DEFAULT_PYPI_URL).rstrip("/")
    url = f"{index}/simple/{canonicalize_name(name)}/"
    # PEP 691 JSON: the simple API is what every index (and mirror) serves.
    with _open_http(url, budget, accept=PEP691_JSON) as response:
        if response.status == 404:
            raise SourceError(
                f"{name} does not exist on the package index ({redact_url(url)})",
                hint=f"check the name in {loaded.path}",
            )
        if response.status != 200:
            raise SourceError(
                f"the package index answered HTTP {response.status} for {redact_url(url)}",
                hint="try again later, or check FACTORY_PYPI_URL",
            )
        body = b"".join(response.chunks)
    for filename, file_url in _index_files(url, response.content_type, body):
        try:
            _, file_version = parse_sdist_filename(filename)
        except InvalidSdistFilename:
            continue  # wheels and legacy formats
        if file_version == version:
            location = urllib.parse.urljoin(url, file_url)
            return _download_verified(location, pypi.sha256, cache, filename, budget)
    raise SourceError(
        f"{name} {version} has no sdist on the package index ({redact_url(url)})",
        hint=f"check the version in {loaded.path}, or use a git or archive source",
    )


def _index_files(url: str, content_type: str, body: bytes) -> list[tuple[str, str]]:
    """(filename, url) of every file on a PEP 691 project page; SourceError if it is not one."""
    shown = redact_url(url)
    hint = (
        "FACTORY_PYPI_URL must name an index that serves the PEP 691 JSON simple API "
        f"(such as {DEFAULT_PYPI_URL})"
    )
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in (PEP691_JSON, "application/json"):
        raise SourceError(
            f"the package index answered {shown} with {media_type or 'no content type'}, "
            "not PEP 691 JSON",
            hint=hint,
        )
    try:
        page: Any = json.loads(body)
    except ValueError as exc:
        raise SourceError(
            f"the package index's page {shown} is not JSON: {exc}", hint=hint
        ) from None
    files = page.get("files") if isinstance(page, dict) else None
    if not isinstance(files, list):
        raise SourceError(f"the package index's page {shown} has no 'files' list", hint=hint)
    found = []
    for number, file in enumerate(files):
        if not (
            isinstance(file, dict)
            and isinstance(file.get("filename"), str)
            and isinstance(file.get("url"), str)
        ):
            raise SourceError(
                f"the package index's page {shown}: file {number} has no 'filename' and 'url'",
                hint=hint,
            )
        found.append((file["filename"], file["url"]))
    return found


def _fetch_archive(archive: ArchiveSource, base: Path, cache: Path, budget: FetchBudget) -> Path:
    cached = _cached_by_hash(cache, archive.sha256)
    if cached is not None:
        return cached
    filename = Path(urllib.parse.urlparse(archive.url).path).name or "source.tar.gz"
    location = _resolve_location(archive.url, base)
    return _download_verified(location, archive.sha256, cache, filename, budget)


def _cached_by_hash(cache: Path, sha256: str) -> Path | None:
    directory = cache / "sha256" / sha256
    for candidate in directory.glob("*") if directory.is_dir() else ():
        if candidate.name.startswith(".part-"):
            continue  # another process's download in progress (or a killed one's)
        if sha256_file(candidate) == sha256:
            return candidate
        candidate.unlink()  # corrupted cache entry: fetch again
    return None


def _download_verified(
    location: str, sha256: str, cache: Path, filename: str, budget: FetchBudget
) -> Path:
    """Download to a temp file, check the hash, then rename into the cache."""
    directory = cache / "sha256" / sha256
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".part-", delete=False) as part:
        try:
            for chunk in _read_chunks(location, budget):
                digest.update(chunk)
                part.write(chunk)
        except BaseException:
            os.unlink(part.name)
            raise
    if digest.hexdigest() != sha256:
        os.unlink(part.name)
        raise SourceError(
            f"sha256 mismatch for {redact_url(location)}: expected {sha256}, "
            f"got {digest.hexdigest()}",
            hint="the file is not what the recipe pinned; check the URL, "
            "or update sha256 only if you trust the new file",
        )
    final = directory / filename
    os.replace(part.name, final)
    return final


def _read_chunks(location: str, budget: FetchBudget) -> Iterator[bytes]:
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme in ("http", "https"):
        with _open_http(location, budget) as response:
            if response.status != 200:
                raise SourceError(
                    f"download of {redact_url(location)} failed: HTTP {response.status}",
                    hint="check the URL in the recipe",
                )
            yield from response.chunks
        return
    path = Path(urllib.parse.unquote(parsed.path)) if parsed.scheme == "file" else Path(location)
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    except OSError as exc:
        raise SourceError(
            f"cannot read {location}: {exc.strerror}", hint="check the path in the recipe"
        ) from None


@dataclass(frozen=True)
class _HttpResponse:
    status: int
    content_type: str
    chunks: Iterator[bytes]  # the body, bounded by the budget


@contextmanager
def _open_http(url: str, budget: FetchBudget, accept: str | None = None) -> Iterator[_HttpResponse]:
    """GET ``url``; its body can only be read within the size limit and the deadline."""
    import requests  # only when something is downloaded: keeps no-op builds fast

    deadline, deadline_name = budget.download_deadline()
    # The bytes as served are what sha256 pins: no transparent decompression.
    headers = {"Accept-Encoding": "identity", **({"Accept": accept} if accept else {})}
    left = max(0.001, deadline - time.monotonic())
    try:
        with requests.get(
            url,
            headers=headers,
            stream=True,
            timeout=(min(CONNECT_TIMEOUT_SECONDS, left), min(READ_TIMEOUT_SECONDS, left)),
        ) as response:
            body = _bounded_body(response, url, budget.max_bytes, deadline, deadline_name)
            yield _HttpResponse(
                response.status_code, response.headers.get("Content-Type", ""), body
            )
    except (requests.ConnectionError, requests.ConnectTimeout) as exc:
        if isinstance(exc, requests.exceptions.SSLError):
            raise _network_error(url, exc, deadline, deadline_name) from None
        # No connection at all (no name, no route, refused): nothing says the URL is wrong.
        raise SourceUnreachable(
            f"download of {redact_url(url)} failed: not reachable from this machine "
            f"({redact_url(str(exc))})",
            hint="check the network, or fetch it where the server can be reached",
        ) from None
    except requests.RequestException as exc:
        raise _network_error(url, exc, deadline, deadline_name) from None


def _bounded_body(
    response: Any, url: str, max_bytes: int, deadline: float, deadline_name: str
) -> Iterator[bytes]:
    import urllib3

    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes, f"it says it has {int(declared)} bytes")
    received = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _too_slow(url, deadline_name, received)
            _limit_wait(response, min(READ_TIMEOUT_SECONDS, left))
            # read1: whatever has arrived, so a trickle is seen between bytes, not at 1 MiB.
            chunk = response.raw.read1(CHUNK)
            if not chunk:
                return
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(url, max_bytes, "it sent more")
            yield chunk
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _network_error(url, exc, deadline, deadline_name) from None


def _limit_wait(response: Any, seconds: float) -> None:
    """Make the next socket read give up at the deadline, not a whole read timeout later."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(0.001, seconds))


def _network_error(
    url: str, exc: BaseException, deadline: float, deadline_name: str
) -> SourceError:
    if time.monotonic() >= deadline:
        return _too_slow(url, deadline_name, None)
    return SourceError(
        f"download of {redact_url(url)} failed: {redact_url(str(exc))}",
        hint="check the URL and the network; run again to retry",
    )


def _too_slow(url: str, deadline_name: str, received: int | None) -> SourceError:
    so_far = f" after {received} bytes" if received is not None else ""
    return SourceError(
        f"download of {redact_url(url)} did not finish within {deadline_name}{so_far}",
        hint="the server is too slow or never ends; raise FACTORY_DOWNLOAD_DEADLINE "
        "(or build.timeout) if the file is just large",
    )


def _too_large(url: str, max_bytes: int, why: str) -> SourceError:
    return SourceError(
        f"download of {redact_url(url)} is larger than FACTORY_DOWNLOAD_MAX_BYTES "
        f"({max_bytes} bytes): {why}",
        hint="check the URL; raise FACTORY_DOWNLOAD_MAX_BYTES if the file really is this large",
    )


def _resolve_location(location: str, base: Path) -> str:
    """Relative local paths in a recipe are relative to the recipe's directory."""
    if urllib.parse.urlparse(location).scheme or os.path.isabs(location):
        return location
    return str((base / location).resolve())


def _unpack(archive: Path, dest: Path) -> Path:
    """Unpack an sdist or archive; return its single top-level directory (or dest)."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise SourceError(
                            f"{archive.name} contains an unsafe path {member!r}",
                            hint="the archive tries to write outside its directory; do not use it",
                        )
                zipped.extractall(dest)
        else:
            with tarfile.open(archive) as tarred:
                # The 'data' filter refuses absolute paths, links out of the tree and devices.
                tarred.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise SourceError(
            f"cannot unpack {archive.name}: {exc}",
            hint="the archive is damaged or tries to write outside its directory",
        ) from None
    entries = list(dest.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest
