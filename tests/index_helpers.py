"""Small real wheels and wheelhouses for the index tests (no builds: zip files made here)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from factory.records import BuildRecord, FingerprintInputs, Target, WheelFile
from factory.wheelhouse import add_to_wheelhouse
from factory.wheelmeta import read_wheel_metadata

STARTED = "2026-01-02T03:04:05+00:00"


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] = (),
    requires_python: str | None = None,
    build_tag: str | None = None,
    tag: str = "py3-none-any",
    metadata_name: str | None = None,
    metadata_version: str | None = None,
    payload: bytes = b"",
) -> Path:
    """A minimal valid pure-Python wheel: a module ``<name>`` with ``VERSION`` (and
    ``payload`` as a data file, to make it as large as a test needs)."""
    module = name.lower().replace("-", "_")
    dist = f"{module}-{version}"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {metadata_name or name}",
        f"Version: {metadata_version or version}",
    ]
    if requires_python:
        metadata.append(f"Requires-Python: {requires_python}")
    metadata += [f"Requires-Dist: {r}" for r in requires]
    files = {
        f"{module}/__init__.py": f'VERSION = "{version}"\n'.encode(),
        **({f"{module}/payload.bin": payload} if payload else {}),
        f"{dist}.dist-info/METADATA": ("\n".join(metadata) + "\n\n").encode(),
        f"{dist}.dist-info/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
            + (f"Build: {build_tag}\n" if build_tag else "")
        ).encode(),
    }
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    record += f"{dist}.dist-info/RECORD,,\n"
    files[f"{dist}.dist-info/RECORD"] = record.encode()
    parts = [module, version, *([build_tag] if build_tag else []), tag]
    wheel = directory / ("-".join(parts) + ".whl")
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as zipped:
        for path, data in files.items():
            zipped.writestr(zipfile.ZipInfo(path, (2026, 1, 1, 0, 0, 0)), data)
    return wheel


def record_for(wheel: Path, project: str, version: str, started: str = STARTED) -> BuildRecord:
    metadata = read_wheel_metadata(wheel)
    return BuildRecord(
        project=project,
        version=version,
        build_number=0,
        fingerprint="f" * 64,
        inputs=FingerprintInputs(
            recipe={"name": project},
            patches={},
            source=f"pypi:{project}=={version}",
            target=Target("riscv64", "3.13", "auto"),
            toolchain={"python": "3.13.5"},
        ),
        builder="test",
        started=started,
        outcome="success",
        wheel=WheelFile(
            wheel.name,
            hashlib.sha256(wheel.read_bytes()).hexdigest(),
            wheel.stat().st_size,
            metadata.requires_python,
            metadata.sha256,
        ),
        log=f"/nonexistent/builds/{project}/{version}-0-ffffffffffff.log",
    )


def add_wheel(
    wheelhouse: Path,
    scratch: Path,
    name: str,
    version: str,
    *,
    started: str = STARTED,
    project: str | None = None,
    requires: tuple[str, ...] = (),
    requires_python: str | None = None,
    build_tag: str | None = None,
    tag: str = "py3-none-any",
    payload: bytes = b"",
    isa: str = "",
) -> Path:
    """Make a wheel and add it to the wheelhouse with its metadata and build record
    (``isa``: what the record says its compiled code needs)."""
    wheel = make_wheel(
        scratch,
        name,
        version,
        requires=requires,
        requires_python=requires_python,
        build_tag=build_tag,
        tag=tag,
        payload=payload,
    )
    metadata = read_wheel_metadata(wheel)
    record = record_for(wheel, project or name, version, started)
    record.isa = isa
    add_to_wheelhouse(wheelhouse, wheel, metadata.content, record)
    return wheelhouse / wheel.name
