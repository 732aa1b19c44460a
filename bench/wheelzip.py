"""Small valid wheels made in memory for the benchmarks (no builds): members plus RECORD."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile

ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # fixed: the same members give the same bytes


def wheel_zip(dist_info: str, members: dict[str, bytes], compression: int) -> bytes:
    """A wheel of ``members`` with the RECORD (sha256 and size of each) that PEP 427 wants."""
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in members.items())
    files = {**members, f"{dist_info}/RECORD": (record + f"{dist_info}/RECORD,,\n").encode()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zipped:
        for path, data in files.items():
            zipped.writestr(zipfile.ZipInfo(path, ZIP_DATE), data, compression)
    return buffer.getvalue()


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
