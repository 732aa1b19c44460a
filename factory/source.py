"""Fetch a recipe's source once into a cache, verify it, and lay out a patched tree.

Sources are cached by content (sha256) or by repository (git mirror), so a rebuild
never downloads twice, and a cached file is re-verified before every use.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import Version

from ._run import CommandFailed, run
from .errors import SourceError
from .hashing import sha256_file
from .patches import apply_patches
from .recipe import ArchiveSource, GitSource, LoadedRecipe, PypiSource

PYPI_URL = os.environ.get("FACTORY_PYPI_URL", "https://pypi.org")
PEP691_JSON = "application/vnd.pypi.simple.v1+json"
CHUNK = 1 << 20


def source_id(loaded: LoadedRecipe) -> str:
    """What pins the source's content, known without fetching (goes into the fingerprint)."""
    source = loaded.recipe.source
    if source.git is not None:
        return f"git:{source.git.commit}"
    if source.pypi is not None:
        return f"sha256:{source.pypi.sha256}"
    assert source.archive is not None
    return f"sha256:{source.archive.sha256}"


def prepare_tree(loaded: LoadedRecipe, sources_cache: Path, dest: Path, log: Path) -> Path:
    """Fetch (or reuse), verify, unpack and patch the source into ``dest``; return the tree.

    The returned path is the project root the build runs in (the recipe's
    subdirectory already applied).
    """
    source = loaded.recipe.source
    if source.git is not None:
        mirror = _git_mirror(source.git, loaded.path.parent, sources_cache, log)
        tree = dest / "src"
        _git_checkout(mirror, source.git.commit, tree, log)
    else:
        archive = (
            _fetch_pypi_sdist(loaded, source.pypi, sources_cache)
            if source.pypi is not None
            else _fetch_archive(source.archive, loaded.path.parent, sources_cache)
        )
        tree = _unpack(archive, dest / "src")
    apply_patches(tree, list(loaded.patch_files), log)
    subdirectory = loaded.recipe.build.subdirectory
    if subdirectory:
        tree = tree / subdirectory
        if not tree.is_dir():
            raise SourceError(
                f"{loaded.name}: build.subdirectory {subdirectory!r} does not exist in the source",
                hint=f"fix build.subdirectory in {loaded.path}",
            )
    return tree


# --- files by hash ----------------------------------------------------------------


def _fetch_pypi_sdist(loaded: LoadedRecipe, pypi: PypiSource, cache: Path) -> Path:
    cached = _cached_by_hash(cache, pypi.sha256)
    if cached is not None:
        return cached
    name = pypi.name or loaded.recipe.name
    version = Version(loaded.recipe.version)
    url = f"{PYPI_URL}/simple/{canonicalize_name(name)}/"
    import requests  # only when something is downloaded: keeps no-op builds fast

    try:
        # PEP 691 JSON: the simple API is what every index (and mirror) serves.
        response = requests.get(url, headers={"Accept": PEP691_JSON}, timeout=60)
    except requests.RequestException as exc:
        raise SourceError(f"cannot reach the package index for {name}: {exc}") from None
    if response.status_code == 404:
        raise SourceError(f"{name} does not exist on PyPI", hint=f"check the name in {loaded.path}")
    if response.status_code != 200:
        raise SourceError(f"the package index answered HTTP {response.status_code} for {url}")
    for file in response.json()["files"]:
        try:
            _, file_version = parse_sdist_filename(file["filename"])
        except InvalidSdistFilename:
            continue  # wheels and legacy formats
        if file_version == version:
            return _download_verified(
                urllib.parse.urljoin(url, file["url"]), pypi.sha256, cache, file["filename"]
            )
    raise SourceError(
        f"{name} {version} has no sdist on PyPI",
        hint=f"check the version in {loaded.path}, or use a git or archive source",
    )


def _fetch_archive(archive: ArchiveSource | None, base: Path, cache: Path) -> Path:
    assert archive is not None
    cached = _cached_by_hash(cache, archive.sha256)
    if cached is not None:
        return cached
    filename = Path(urllib.parse.urlparse(archive.url).path).name or "source.tar.gz"
    return _download_verified(_resolve_location(archive.url, base), archive.sha256, cache, filename)


def _cached_by_hash(cache: Path, sha256: str) -> Path | None:
    directory = cache / "sha256" / sha256
    for candidate in directory.glob("*") if directory.is_dir() else ():
        if sha256_file(candidate) == sha256:
            return candidate
        candidate.unlink()  # corrupted cache entry: fetch again
    return None


def _download_verified(location: str, sha256: str, cache: Path, filename: str) -> Path:
    """Download to a temp file, check the hash, then rename into the cache."""
    directory = cache / "sha256" / sha256
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".part-", delete=False) as part:
        try:
            for chunk in _read_chunks(location):
                digest.update(chunk)
                part.write(chunk)
        except BaseException:
            os.unlink(part.name)
            raise
    if digest.hexdigest() != sha256:
        os.unlink(part.name)
        raise SourceError(
            f"sha256 mismatch for {location}: expected {sha256}, got {digest.hexdigest()}",
            hint="the file is not what the recipe pinned; check the URL, "
            "or update sha256 only if you trust the new file",
        )
    final = directory / filename
    os.replace(part.name, final)
    return final


def _read_chunks(location: str) -> Iterator[bytes]:
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme in ("http", "https"):
        import requests  # only when something is downloaded: keeps no-op builds fast

        try:
            with requests.get(location, stream=True, timeout=60) as response:
                if response.status_code != 200:
                    raise SourceError(f"download of {location} failed: HTTP {response.status_code}")
                yield from response.iter_content(CHUNK)
        except requests.RequestException as exc:
            raise SourceError(f"download of {location} failed: {exc}") from None
        return
    path = Path(urllib.parse.unquote(parsed.path)) if parsed.scheme == "file" else Path(location)
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    except OSError as exc:
        raise SourceError(f"cannot read {location}: {exc.strerror}") from None


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
                        raise SourceError(f"{archive.name} contains an unsafe path {member!r}")
                zipped.extractall(dest)
        else:
            with tarfile.open(archive) as tarred:
                # The 'data' filter refuses absolute paths, links out of the tree and devices.
                tarred.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"cannot unpack {archive.name}: {exc}") from None
    entries = list(dest.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


# --- git --------------------------------------------------------------------------


def _git_mirror(git: GitSource, base: Path, cache: Path, log: Path) -> Path:
    """A bare mirror per repository URL; fetched again only when the commit is missing."""
    location = _resolve_location(git.url, base)
    mirror = cache / "git" / (hashlib.sha256(location.encode()).hexdigest()[:24] + ".git")
    if not mirror.is_dir():
        partial = mirror.with_name(mirror.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            run(["git", "clone", "--quiet", "--mirror", location, str(partial)], log=log)
        except CommandFailed as failed:
            raise SourceError(
                f"cannot clone {git.url}",
                hint="check the git URL in the recipe",
                details=failed.details,
            ) from None
        os.replace(partial, mirror)
    if not _has_commit(mirror, git.commit, log):
        try:
            run(["git", "-C", str(mirror), "remote", "update", "--prune"], log=log)
        except CommandFailed as failed:
            raise SourceError(f"cannot fetch {git.url}", details=failed.details) from None
        if not _has_commit(mirror, git.commit, log):
            raise SourceError(
                f"commit {git.commit} does not exist in {git.url}",
                hint="pin a commit that is in the repository (`git log` in the fork shows them)",
            )
    return mirror


def _has_commit(mirror: Path, commit: str, log: Path) -> bool:
    result = run(
        ["git", "-C", str(mirror), "cat-file", "-e", f"{commit}^{{commit}}"], log=log, check=False
    )
    return result.returncode == 0


def _git_checkout(mirror: Path, commit: str, tree: Path, log: Path) -> None:
    """A full clone (tags included, so setuptools_scm sees a version) at exactly ``commit``."""
    run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(mirror), str(tree)], log=log)
    run(["git", "-C", str(tree), "checkout", "--quiet", "--detach", commit], log=log)
