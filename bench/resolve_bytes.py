"""Bytes pip downloads to resolve a project with dependencies: our index vs a plain PEP 503 one.

Three small real pure-Python wheels form a chain, app -> lib1 -> lib2, each carrying an
incompressible payload (2 MB by default) so that wheel downloads dominate. The same wheels
are published three ways, each tree served by a real http.server on 127.0.0.1 that counts
every byte it sends (status line, headers and body):
  factory:  a wheelhouse with build records and `<wheel>.metadata` (as `factory build`
            leaves it), indexed by `factory index`: PEP 658/714 `.metadata` files and
            `data-core-metadata` on the links, so pip can resolve without wheels;
  plain:    a hand-written PEP 503 index of the same wheels (`#sha256=` and
            `data-requires-python` on the links, no `.metadata` files), so pip must
            download each wheel to read its dependencies.
  reference: the plain index plus `.metadata` files and `data-core-metadata`, written by
            hand here: what a PEP 658 index should cost, checking the measurement itself.
pip runs `install --dry-run --report` with no cache (`--no-cache-dir`), no configuration
(`PIP_CONFIG_FILE=/dev/null`, no other PIP_* variables) and only the served index. Only
pip >= 25.3 resolves from `.metadata` files without also downloading the wheels in a dry
run (23.2.1 to 25.2 fetch both); `--pip-python` picks the Python whose pip is used.

Goal (issue #4): resolving against our index downloads metadata, not wheels; the printed
ratio (plain bytes / factory bytes) is how many times fewer bytes that costs.

Run: .venv/bin/python bench/resolve_bytes.py [--payload-mb 2] [--keep]
"""

from __future__ import annotations

import argparse
import datetime
import functools
import hashlib
import html
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version
from wheelzip import wheel_zip  # bench/ is the script's own directory

from factory.hashing import sha256_file
from factory.records import BuildRecord, FingerprintInputs, Target, WheelFile
from factory.wheelhouse import add_to_wheelhouse
from factory.wheelmeta import read_wheel_metadata

PYTHON = sys.executable
# name -> its Requires-Dist
CHAIN: dict[str, list[str]] = {"app": ["lib1>=1.0"], "lib1": ["lib2>=1.0"], "lib2": []}
VERSION = "1.0"
# The first pip whose `install --dry-run` resolves from PEP 658 metadata without fetching
# wheels (measured with this script: 23.2.1 to 25.2 still download every wheel).
METADATA_ONLY_PIP = Version("25.3")


# ---------------------------------------------------------------- wheels


def make_wheel(directory: Path, name: str, requires: list[str], payload: bytes) -> Path:
    """A real, installable pure-Python wheel with a data payload."""
    dist_info = f"{name}-{VERSION}.dist-info"
    metadata = "".join(
        [
            "Metadata-Version: 2.1\n",
            f"Name: {name}\n",
            f"Version: {VERSION}\n",
            f"Summary: resolve_bytes benchmark project {name}\n",
            "Requires-Python: >=3.8\n",
            *(f"Requires-Dist: {requirement}\n" for requirement in requires),
            "\n",
        ]
    ).encode()
    members = {
        f"{name}/__init__.py": f'__version__ = "{VERSION}"\n'.encode(),
        f"{name}/payload.bin": payload,
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: bench/resolve_bytes.py\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    wheel = directory / f"{name}-{VERSION}-py3-none-any.whl"
    wheel.write_bytes(wheel_zip(dist_info, members, zipfile.ZIP_DEFLATED))
    return wheel


# ---------------------------------------------------------------- the two indexes


def factory_index(wheels: list[Path], work: Path) -> Path:
    """A wheelhouse as `factory build` leaves it, then `factory index`; return the site root."""
    wheelhouse = work / "wheelhouse"
    for wheel in wheels:
        metadata = read_wheel_metadata(wheel)
        record = BuildRecord(
            project=metadata.name,
            version=metadata.version,
            build_number=0,
            fingerprint=hashlib.sha256(wheel.name.encode()).hexdigest(),
            inputs=FingerprintInputs(
                recipe={"name": metadata.name, "version": metadata.version},
                patches={},
                source=f"bench:{wheel.name}",
                target=Target(arch="riscv64", python="3.13", policy="auto"),
                toolchain={},
            ),
            builder="bench",
            started=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC).isoformat(),
            outcome="success",
            wheel=WheelFile(
                wheel.name,
                sha256_file(wheel),
                wheel.stat().st_size,
                metadata.requires_python,
                metadata.sha256,
            ),
        )
        add_to_wheelhouse(wheelhouse, wheel, metadata.content, record)
    site = work / "factory-index"
    result = subprocess.run(
        [PYTHON, "-m", "factory", "index", "--wheelhouse", str(wheelhouse), "--out", str(site)],
        cwd=work,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"factory index failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return site


def plain_index(wheels: list[Path], work: Path, *, pep658: bool = False) -> Path:
    """A minimal hand-written PEP 503 index: hashes and requires-python, no .metadata.

    With pep658, also `<wheel>.metadata` files and `data-core-metadata` on the links:
    the reference that checks this measurement independently of the factory.
    """
    site = work / ("reference-index" if pep658 else "plain-index")
    (site / "files").mkdir(parents=True)
    names = []
    for wheel in wheels:
        shutil.copyfile(wheel, site / "files" / wheel.name)
        metadata = read_wheel_metadata(wheel)
        project = canonicalize_name(metadata.name)
        names.append(project)
        requires = html.escape(metadata.requires_python or "", quote=True)
        core = ""
        if pep658:
            (site / "files" / f"{wheel.name}.metadata").write_bytes(metadata.content)
            core = f' data-core-metadata="sha256={metadata.sha256}"'
        page = site / "simple" / project / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(
            "<!DOCTYPE html>\n<html><body>\n"
            f'<a href="../../files/{wheel.name}#sha256={sha256_file(wheel)}"'
            f' data-requires-python="{requires}"{core}>{wheel.name}</a><br>\n'
            "</body></html>\n",
            encoding="utf-8",
        )
    links = "".join(f'<a href="{name}/">{name}</a><br>\n' for name in sorted(names))
    (site / "simple" / "index.html").write_text(
        f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n", encoding="utf-8"
    )
    return site


# ---------------------------------------------------------------- a byte-counting server


@dataclass
class Served:
    """Every request answered: (path, status, bytes sent including headers)."""

    requests: list[tuple[str, int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return sum(sent for _, _, sent in self.requests)

    def sent_for(self, suffix: str) -> tuple[int, int]:
        """(count, bytes) of successful requests whose path ends with suffix."""
        hits = [s for p, status, s in self.requests if p.endswith(suffix) and status == 200]
        return len(hits), sum(hits)


class CountingWriter(io.BufferedIOBase):
    """Passes writes through to the socket and counts them."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        super().__init__()
        self.raw_writer = raw
        self.count = 0

    def write(self, data: Any) -> int:
        written = self.raw_writer.write(data)
        self.count += len(memoryview(data).cast("B"))
        return written

    def flush(self) -> None:
        self.raw_writer.flush()


class CountingHandler(SimpleHTTPRequestHandler):
    served: Served  # set on the subclass made per server

    def setup(self) -> None:
        super().setup()
        self.counter = CountingWriter(self.wfile)
        self.wfile = self.counter

    def handle_one_request(self) -> None:
        self.counter.count = 0
        self.status = 0
        super().handle_one_request()
        if getattr(self, "path", None) and self.counter.count:
            with self.served.lock:
                self.served.requests.append((self.path, self.status, self.counter.count))

    def send_response(self, code: int, message: str | None = None) -> None:
        self.status = code
        super().send_response(code, message)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, Served]]:
    """Serve directory on 127.0.0.1 (a free port); yield its base URL and the tally."""
    served = Served()
    handler = type("Handler", (CountingHandler,), {"served": served})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---------------------------------------------------------------- pip


@dataclass(frozen=True)
class Resolve:
    index: str
    served: Served
    resolved: list[str]  # name==version pip would install


def pip_resolve(label: str, site: Path, work: Path, python: str) -> Resolve:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    report = work / f"report-{label}.json"
    with serve(site) as (url, served):
        argv = [
            python, "-m", "pip", "install", "app", "--dry-run", "--ignore-installed",
            "--report", str(report), "--no-cache-dir", "--disable-pip-version-check",
            "--only-binary", ":all:", "--index-url", f"{url}/simple/", "--quiet",
        ]  # fmt: skip
        result = subprocess.run(
            argv,
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        sys.exit(f"pip against the {label} index failed:\n{result.stdout}{result.stderr}")
    installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    resolved = sorted(
        f"{item['metadata']['name']}=={item['metadata']['version']}" for item in installs
    )
    return Resolve(label, served, resolved)


def pip_version(python: str) -> str:
    result = subprocess.run(
        [python, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    )
    return result.stdout.split(" from ")[0]


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payload-mb", type=float, default=2.0, help="payload per wheel")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pip-python",
        default=PYTHON,
        help="the Python whose pip resolves [default: this one]; pip >= 25.3 is needed "
        "for --dry-run to resolve from .metadata files without downloading wheels",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="resolve-bytes-"))
    try:
        rng = random.Random(args.seed)
        (work / "dist").mkdir()
        wheels = [
            make_wheel(work / "dist", name, requires, rng.randbytes(int(args.payload_mb * 2**20)))
            for name, requires in CHAIN.items()
        ]
        sites = {
            "factory": factory_index(wheels, work),
            "plain": plain_index(wheels, work),
            "reference": plain_index(wheels, work, pep658=True),
        }
        results = [pip_resolve(label, site, work, args.pip_python) for label, site in sites.items()]
        pip = pip_version(args.pip_python)
        report(wheels, results, pip)
        if Version(pip.split()[1]) < METADATA_ONLY_PIP:
            print(
                f"\nNOTE: {pip} downloads every wheel in --dry-run even when .metadata files "
                f"are served (pip >= {METADATA_ONLY_PIP} does not): pass --pip-python with a "
                "newer pip to see the difference."
            )
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(wheels: list[Path], results: list[Resolve], pip: str) -> None:
    sizes = ", ".join(f"{w.name} {w.stat().st_size:,} B" for w in wheels)
    print(f"{pip}; wheels: {sizes}")
    header = (
        f"{'index':<9} {'requests':>8} {'bytes sent':>12} {'wheels':>15} "
        f"{'.metadata files':>16}  resolved"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        wheel_count, wheel_bytes = result.served.sent_for(".whl")
        meta_count, meta_bytes = result.served.sent_for(".metadata")
        print(
            f"{result.index:<9} {len(result.served.requests):>8} {result.served.total:>12,} "
            f"{wheel_count:>3} ({wheel_bytes:>9,}) {meta_count:>3} ({meta_bytes:>9,})  "
            f"{' '.join(result.resolved)}"
        )
    sent = {r.index: r.served.total for r in results}
    print(
        f"\nplain / factory bytes: {sent['plain'] / sent['factory']:.1f}x "
        f"({sent['plain']:,} vs {sent['factory']:,} bytes)"
    )
    print(
        f"plain / reference bytes: {sent['plain'] / sent['reference']:.1f}x "
        "(reference: the same hand-written index plus PEP 658 .metadata files)"
    )
    if len({tuple(r.resolved) for r in results}) != 1:
        print("NOTE: the indexes resolved differently")


if __name__ == "__main__":
    main()
