"""The environment build commands start with: the host's shell does not leak in."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory.builders.environment import native_environment
from factory.builders.userland import userland_environment

HOST = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/builder",
    "LANG": "en_GB.UTF-8",
    "PIP_FIND_LINKS": "/opt/wheels",
    "PIP_CONSTRAINT": "/etc/xdg/pip/constraints.txt",
    "PIP_INDEX_URL": "file:///opt/pypi/simple",
    "PIP_EXTRA_INDEX_URL": "file:///opt/pypi-more/simple",
    "PIP_DEFAULT_TIMEOUT": "180",
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
    "HTTPS_PROXY": "http://proxy.internal:3128",
    "https_proxy": "http://proxy.internal:3128",
    "NO_PROXY": "localhost,127.0.0.1",
    "CFLAGS": "-O0 -g",
    "PYTHONPATH": "/work/checkout",
    "VIRTUAL_ENV": "/work/checkout/.venv",
    "TMPDIR": "/var/tmp",
}
PYTHON = Path("/opt/factory/venv/bin/python")


def test_native_environment_drops_the_hosts_pip_paths_and_build_flags() -> None:
    env = native_environment({}, PYTHON, HOST)
    dropped = {"PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"}
    assert not dropped & env.keys()
    assert not {"CFLAGS", "PYTHONPATH", "VIRTUAL_ENV"} & env.keys()


def test_native_environment_keeps_what_reaching_the_index_needs() -> None:
    env = native_environment({}, PYTHON, HOST)
    for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "https_proxy"):
        assert env[name] == HOST[name]
    assert env["NO_PROXY"] == "localhost,127.0.0.1"
    assert env["PIP_DEFAULT_TIMEOUT"] == "180"
    assert env["PATH"] == "/opt/factory/venv/bin:/usr/bin:/bin"
    assert (env["HOME"], env["LANG"], env["TMPDIR"]) == ("/home/builder", "en_GB.UTF-8", "/var/tmp")
    assert env["PIP_DISABLE_PIP_VERSION_CHECK"] == "1"


def test_native_environment_takes_the_steps_own_variables_last() -> None:
    env = native_environment({"PIP_FIND_LINKS": "/work/wheelhouse", "CFLAGS": "-O2"}, PYTHON, HOST)
    assert env["PIP_FIND_LINKS"] == "/work/wheelhouse"
    assert env["CFLAGS"] == "-O2"


def test_native_environment_of_a_bare_host() -> None:
    env = native_environment({}, PYTHON, {})
    assert env["PATH"].startswith("/opt/factory/venv/bin:")
    assert "/usr/bin" in env["PATH"].split(":")
    assert env["LANG"] == "C.UTF-8" and env["HOME"]


def test_userland_keeps_the_hosts_proxy_but_its_own_ca_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in HOST.items():
        monkeypatch.setenv(name, value)
    env = userland_environment({})
    assert env["HTTPS_PROXY"] == HOST["HTTPS_PROXY"]
    assert env["PIP_CERT"] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["HOME"] == "/root" and env["LANG"] == "C.UTF-8"
    assert not {"PIP_FIND_LINKS", "PIP_INDEX_URL", "CFLAGS", "TMPDIR"} & env.keys()
