"""sha256 of files, streamed (sources, wheels and userland tarballs can be large), and of
a few bytes without loading OpenSSL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import sha256 as small_sha256
else:
    # CPython's own SHA-256, for a few bytes: hashlib loads OpenSSL first (6 ms), more
    # than a run of `factory index` with nothing new (0.1 s in all) hashes with it.
    # For megabytes, OpenSSL's is the faster one.
    try:
        from _sha2 import sha256 as small_sha256  # Python 3.12 and later
    except ImportError:
        try:
            from _sha256 import sha256 as small_sha256
        except ImportError:
            from hashlib import sha256 as small_sha256

__all__ = ["sha256_file", "small_sha256"]

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    import hashlib  # see small_sha256

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
