"""Test tiers.

Unmarked tests are unit tests: they never start a process (a guard refuses
``subprocess.Popen``). The slower tiers are marked and opt out of the guard:

- ``integration``: real tools on this host (git, build, auditwheel, pip, uv, a server);
- ``userland``: inside the emulated riscv64 userland (root, qemu, minutes);
- ``network``: reaches the real PyPI.

``make test`` runs every tier; the fast tier is
``pytest -m "not integration and not userland and not network"``.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from factory.builders.userland import Userland

SLOW_TIERS = ("integration", "userland", "network")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: runs real tools (git, build, auditwheel, pip, uv) on this host"
    )
    config.addinivalue_line("markers", "userland: runs inside the emulated riscv64 userland")
    config.addinivalue_line("markers", "network: needs the real PyPI")


@pytest.fixture(autouse=True)
def no_subprocess_in_unit_tests(request: pytest.FixtureRequest) -> None:
    if any(request.node.get_closest_marker(tier) for tier in SLOW_TIERS):
        return

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"unit tests must not start processes: {args!r}")

    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.fixture(scope="module")
def userland(tmp_path_factory: pytest.TempPathFactory) -> Userland:
    """The riscv64 userland, from the cache when a previous run left it (one per module:
    its log goes with the module's temporary files)."""
    from factory.builders.userland import ensure_userland
    from factory.workspace import default_cache_dir

    log = tmp_path_factory.mktemp("userland-log") / "userland.log"
    return ensure_userland(default_cache_dir(), log)
