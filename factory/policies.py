"""repair.policy checked against auditwheel's own policy table, not a name's shape.

auditwheel builds its policies per libc and architecture from ``policy/*.json``
(``WheelPolicies``); a name it does not list for that architecture would only fail
at the repair step, after the whole build. Imported only for a recipe that names a
policy: the table costs ~0.1 s to load and most recipes say ``auto``.
"""

from __future__ import annotations

import functools


def check_policy(name: str) -> None:
    """Raise ValueError naming the valid policies when auditwheel has no ``name``."""
    from auditwheel.architecture import Architecture  # type: ignore[import-untyped]

    if name.startswith("musllinux_"):
        # The builders are Debian (glibc): auditwheel refuses to tag a glibc wheel musllinux.
        raise ValueError(
            f"{name!r}: musllinux needs a musl builder; the factory builds on glibc "
            "(use a manylinux policy or 'auto')"
        )
    if not name.startswith("manylinux"):
        raise ValueError(f"must be 'auto' or a manylinux policy, got {name!r}")
    arches = [arch for arch in Architecture if name.endswith(f"_{arch.value}")]
    if not arches:
        known = ", ".join(sorted(arch.value for arch in Architecture))
        raise ValueError(f"{name!r} does not end in an architecture auditwheel knows ({known})")
    arch = max(arches, key=lambda a: len(a.value))  # x86_64_v2 rather than its suffix
    names, aliases = _manylinux_policies(arch.value)
    if name not in names and name not in aliases:
        raise ValueError(
            f"auditwheel has no policy {name!r}; for {arch.value} it has {', '.join(names)}"
        )


@functools.cache
def _manylinux_policies(arch: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """(names lowest first, aliases) of auditwheel's glibc policies for ``arch``."""
    from auditwheel.architecture import Architecture
    from auditwheel.libc import Libc  # type: ignore[import-untyped]
    from auditwheel.policy import WheelPolicies  # type: ignore[import-untyped]

    policies = WheelPolicies(libc=Libc.GLIBC, arch=Architecture(arch))
    # The first is plain 'linux_<arch>': the unrepaired tag, not something to repair to.
    # auditwheel sorts by priority, newest glibc first.
    manylinux = [policy for policy in reversed(list(policies)) if policy != policies.linux]
    names = tuple(policy.name for policy in manylinux)
    return names, frozenset(alias for policy in manylinux for alias in policy.aliases)
