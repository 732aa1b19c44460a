"""An emulated riscv64 Debian userland: created once, cached as a tarball, entered by chroot.

Creating the root filesystem takes about five minutes under qemu; re-extracting a
zstd tarball of it takes seconds (measured; see the README), so the tarball is
the cache and the extracted tree beside it is the working copy. Layout, under the
cache directory::

    userland/<key>.tar.zst          the finished rootfs, tools venv included
    userland/<key>.tar.zst.sha256   written last: no checksum, no valid tarball
    userland/<key>/                 the extracted rootfs; usable only with READY
    userland/<key>/READY            JSON: key, spec, versions; written last
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._fs import write_atomically
from .._run import RunResult, run
from ..errors import ConfigError, EnvironmentProblem
from ..hashing import sha256_file
from ..scratch import first_mount_inside
from .debian import available_packages, missing_packages, package_name
from .environment import DEFAULT_PATH, NETWORK_VARIABLES, clean_environment

if TYPE_CHECKING:
    from .companion import Acceleration

OnLine = Callable[[str], None] | None

# Bump when the creation steps change what ends up in the rootfs, so old caches are
# not mistaken for new ones (the key covers the spec, this covers the code).
RECIPE_VERSION = 1
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = (
    "python3",
    "python3-venv",
    "python3-dev",
    "build-essential",
    "patchelf",
    "git",
    "ca-certificates",
    "pkgconf",  # most C extensions find their libraries through pkg-config
)
TOOL_REQUIREMENTS = ("pip", "build", "auditwheel>=6.1", "wheel")  # 6.1: first riscv64 policies
# Docs, man pages and locales are dead weight in a build box (~100 MB, a minute of
# unpacking under emulation); copyright files stay because bundled libraries' licences
# must be traceable. Written into the rootfs's dpkg config, so later installs obey too.
DPKG_PATH_FILTERS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/lintian/*",
)
VENV = "/opt/factory/venv"
# Pins for the tools above (and what they pull in), shared with the host's venv.
TOOL_CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints" / "tools.txt"
INFO_FILE = "opt/factory/userland.json"  # inside the rootfs, so the tarball carries it
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # same path on Debian hosts and inside
SYSTEM_BINDS = (Path("/proc"), Path("/sys"), Path("/dev"))
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
APT_LISTS_MAX_AGE = 24 * 3600  # older lists risk 404s on packages the mirror has replaced
# Our own stamp: apt may give list files the mirror's Last-Modified time, and a stable
# suite's lists change only at point releases, so their mtime says nothing about us.
APT_STAMP = "opt/factory/apt-lists-updated"
CREATE_TIMEOUT = 45 * 60
STEP_TIMEOUT = 20 * 60

_UNSHARE = ("unshare", "--mount", "--fork", "--")
# Runs on the host inside the private mount namespace made by `unshare --mount`: every
# mount disappears with the namespace, even when the command is killed, so nothing is
# left to unmount and nothing leaks onto the host. Arguments: ROOT, then pairs of
# (host path, path inside) in mount order, --, argv.
_ENTER_SCRIPT = (
    'root=$1; shift; while [ "$1" != -- ]; do mount --rbind "$1" "$root$2" || exit 125;'
    ' shift 2; done; shift; exec chroot "$root" "$@"'
)
# One interpreter start instead of four: each costs seconds under emulation.
_PROBE = (
    "import json, os, platform, subprocess, importlib.metadata as m; print(json.dumps({"
    "'machine': platform.machine(), 'python': platform.python_version(),"
    " 'glibc': os.confstr('CS_GNU_LIBC_VERSION').split()[-1],"
    " 'gcc': subprocess.check_output(['gcc', '-dumpfullversion'], text=True).strip(),"
    " **{d: m.version(d) for d in ('pip', 'build', 'auditwheel', 'wheel')}}))"
)


@dataclass(frozen=True)
class UserlandSpec:
    """Everything that decides what goes into the rootfs."""

    suite: str = "trixie"
    arch: str = "riscv64"  # Debian's name; equal to platform.machine() for riscv64
    mirror: str = DEFAULT_MIRROR
    packages: tuple[str, ...] = BASE_PACKAGES
    tools: tuple[str, ...] = TOOL_REQUIREMENTS

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "packages": sorted(set(self.packages)),
            "tools": sorted(set(self.tools)),
        }

    def cache_key(self) -> str:
        # Sorted and deduplicated: listing the same packages in another order builds
        # the same rootfs and must hit the same cache.
        payload = {
            "recipe": RECIPE_VERSION,
            "spec": self.to_json(),
            "dpkg": DPKG_PATH_FILTERS,
            "venv": VENV,
            # The pinned tool versions: a new pin is a new userland, never a drifting one.
            "constraints": hashlib.sha256(TOOL_CONSTRAINTS.read_bytes()).hexdigest(),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


DEFAULT_SPEC = UserlandSpec()


@dataclass(frozen=True)
class UserlandPaths:
    key: str
    root: Path  # the extracted rootfs
    ready: Path
    tarball: Path
    checksum: Path
    lock: Path

    @classmethod
    def for_spec(cls, cache_dir: Path, spec: UserlandSpec) -> UserlandPaths:
        return cls.in_directory(cache_dir / "userland", spec.cache_key())

    @classmethod
    def in_directory(cls, base: Path, key: str) -> UserlandPaths:
        """The layout of a cached root filesystem with this key (the companion's too)."""
        tarball = base / f"{key}.tar.zst"
        return cls(key, base / key, base / key / "READY", tarball,
                   base / f"{key}.tar.zst.sha256", base / f"{key}.lock")  # fmt: skip

    def temp(self, suffix: str) -> Path:
        # Dot-prefixed and pid-suffixed: never mistaken for the real thing, and a
        # leftover from a killed run is recognisable (and removed) by the next one.
        return self.root.with_name(f".{self.key}{suffix}.tmp-{os.getpid()}")


def userland_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The inner process's whole environment: nothing leaks in from the host but proxies.

    The host's PIP_* settings (find-links, file:// extra indexes, constraints) name
    host-only paths and break pip inside; the CA variables point at the host bundle
    copied in on every entry, which is what lets pip through an intercepting proxy.
    """
    base = {
        "PATH": DEFAULT_PATH,
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "SSL_CERT_FILE": CA_BUNDLE,
        "PIP_CERT": CA_BUNDLE,
        "REQUESTS_CA_BUNDLE": CA_BUNDLE,
    }
    return clean_environment(env, base=base, keep=NETWORK_VARIABLES)


def mount_list(binds: Iterable[Path]) -> list[Path]:
    """/proc, /sys, /dev, then the binds: absolute, deduplicated, nested ones dropped."""
    chosen: list[Path] = []
    for path in [*SYSTEM_BINDS, *sorted({Path(os.path.abspath(b)) for b in binds})]:
        if path == Path("/"):
            raise ValueError("binding / would hide the whole userland")
        if not any(path == c or path.is_relative_to(c) for c in chosen):
            chosen.append(path)  # a bind inside an rbind is already visible
    return chosen


# A bind of a host path to another path inside the rootfs: (host path, path inside).
Mount = tuple[Path, Path]


def wrapped_command(
    root: Path,
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    binds: Iterable[Path],
    mounts: Sequence[Mount] = (),
) -> list[str]:
    """The host command line that runs ``argv`` inside ``root``; see _ENTER_SCRIPT.

    ``binds`` appear at their host paths; ``mounts`` after them, in order, where they say.
    """
    env_args = [f"{name}={value}" for name, value in userland_environment(env).items()]
    pairs = [(path, path) for path in mount_list(binds)] + list(mounts)
    mount_args = [str(part) for pair in pairs for part in pair]
    inner = ["/usr/bin/env", "-i", f"--chdir={cwd}", *env_args, *argv]
    return [*_UNSHARE, "sh", "-c", _ENTER_SCRIPT, "enter", str(root), *mount_args, "--", *inner]


def prepare_mount_point(root: Path, path: Path, source: Path | None = None) -> None:
    """Create ``path`` inside ``root`` for a bind of ``source`` (default: the same path
    on the host), refusing symlinks that lead out.

    An absolute symlink in the rootfs (e.g. /var/run -> /run) resolves against the
    host when followed from outside, so mkdir would create the directory on the host.
    """
    target = root / path.relative_to("/")
    source = path if source is None else source
    if not target.resolve().is_relative_to(root.resolve()):
        raise EnvironmentProblem(
            f"cannot bind {path} into the userland: {target} leads outside it through a symlink",
            hint="bind a directory whose path crosses no symlink inside the rootfs (e.g. /tmp/...)",
        )
    if not source.exists():
        raise EnvironmentProblem(f"cannot bind {source} into the userland: it does not exist")
    path = source
    # A mount point left by an earlier bind of another kind (file vs directory) is replaced.
    if target.is_file() and path.is_dir():
        target.unlink()
    elif target.is_dir() and not path.is_dir():
        target.rmdir()
    if path.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)


class Userland:
    """A ready rootfs; implements BuildHost. Every command runs in a fresh chroot.

    With an ``acceleration`` (builders/companion.py) the compilers and binutils inside
    are the host-native cross ones of the toolchain companion; everything else is
    the same.
    """

    def __init__(
        self,
        root: Path,
        spec: UserlandSpec,
        info: Mapping[str, Any],
        acceleration: Acceleration | None = None,
    ) -> None:
        self.root = root
        self.spec = spec
        self.key = str(info.get("key", spec.cache_key()))
        self.versions = {str(k): str(v) for k, v in dict(info.get("versions", {})).items()}
        self._info = dict(info)
        self.acceleration = acceleration

    def with_acceleration(self, acceleration: Acceleration | None) -> Userland:
        return Userland(self.root, self.spec, self._info, acceleration)

    def without_acceleration(self) -> Userland:
        """The same userland, fully emulated (a recipe with build.accelerate: false)."""
        return self.with_acceleration(None)

    @property
    def name(self) -> str:
        return f"userland-{self.spec.suite}-{self.spec.arch}"

    @property
    def arch(self) -> str:
        return self.spec.arch

    @property
    def python(self) -> str:
        return f"{VENV}/bin/python"

    @property
    def uv(self) -> str | None:
        """The host-native uv, when accelerated (it runs on the companion's libraries)."""
        if self.acceleration is None or self.acceleration.uv is None:
            return None
        from .companion import UV_INSIDE  # companion imports this module

        return str(UV_INSIDE)

    def run(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float | None,
        binds: Sequence[Path] = (),
        on_line: OnLine = None,
        capture: bool = False,
    ) -> RunResult:
        require_root("run commands in the riscv64 userland")
        _refresh_host_files(self.root)  # the cached rootfs may come from another machine
        for path in mount_list(binds):
            prepare_mount_point(self.root, path)
        mounts: list[Mount] = []
        if self.acceleration is not None:
            self.acceleration.prepare(self.root)
            mounts = self.acceleration.mounts(self.root)
            # First on PATH whatever the step sets: cc, gcc, g++, ld... are the companion's.
            env = {**env, "PATH": f"{self.acceleration.path}:{env.get('PATH', DEFAULT_PATH)}"}
        command = wrapped_command(self.root, argv, cwd, env, binds, mounts)
        return run(command, log=log, timeout=timeout, on_line=on_line, capture=capture)

    def toolchain(self) -> dict[str, str]:
        # Read inside once, at creation, and stored in READY: free from then on.
        acceleration = self.acceleration
        compiler = acceleration.describe if acceleration is not None else "emulated"
        uv = acceleration.uv if acceleration is not None else None
        return {
            **self.versions,
            "suite": self.spec.suite,
            "userland": self.key,
            # Informational (records.INFORMATIONAL_TOOLCHAIN): never in the fingerprint.
            "compiler": compiler,
            "installer": f"uv {uv.version} (host-native)" if uv is not None else "pip",
        }

    def missing_system_packages(self, packages: Sequence[str]) -> list[str]:
        # Reading dpkg's status file from the host costs no emulation at all.
        return missing_packages(packages, self.root)

    def install_system_packages(self, packages: Sequence[str], log: Path) -> None:
        wanted = self.missing_system_packages(packages)
        if not wanted:
            return
        lists = self.root / "var/lib/apt/lists"
        apt_env = {"DEBIAN_FRONTEND": "noninteractive"}
        if not self._fresh_lists():  # mmdebstrap drops the lists to keep the tarball small
            update = ["apt-get", "update", "-o", "Acquire::Languages=none"]  # skip 35 MB
            self.run(update, log=log, cwd=Path("/"), env=apt_env, timeout=STEP_TIMEOUT)
            write_atomically(self.root / APT_STAMP, b"")
        known: set[str] = set()
        for packages_file in lists.glob("*_Packages"):
            with packages_file.open(encoding="utf-8", errors="replace") as lines:
                known |= available_packages(lines)
        unknown = [p for p in wanted if package_name(p) not in known]
        if unknown:  # checked before installing anything: all or nothing
            raise ConfigError(
                f"not in Debian {self.spec.suite} ({self.spec.arch}): {', '.join(unknown)}",
                hint=f"check the names on https://packages.debian.org/{self.spec.suite}/",
            )
        install = ["apt-get", "install", "-y", "--no-install-recommends"]
        install += ["-o", "DPkg::Lock::Timeout=600", *wanted]  # wait for a parallel build's apt
        self.run(install, log=log, cwd=Path("/"), env=apt_env, timeout=STEP_TIMEOUT)

    def _fresh_lists(self) -> bool:
        stamp = self.root / APT_STAMP
        if not stamp.exists() or not any((self.root / "var/lib/apt/lists").glob("*_Packages")):
            return False
        return time.time() - stamp.stat().st_mtime < APT_LISTS_MAX_AGE


def ensure_userland(
    cache_dir: Path, log: Path, spec: UserlandSpec = DEFAULT_SPEC, on_line: OnLine = None
) -> Userland:
    """Return a ready userland: the extracted one, else restored from the tarball, else created."""
    require_root("create or enter the riscv64 userland")
    ensure_binfmt(spec.arch, log)
    paths = UserlandPaths.for_spec(cache_dir, spec)

    def create(staging: Path) -> None:
        _create(staging, spec, paths.key, log, on_line)

    return Userland(paths.root, spec, ensure_tree(paths, create, INFO_FILE, log, on_line))


def ensure_tree(
    paths: UserlandPaths,
    create: Callable[[Path], None],
    info_file: str,
    log: Path,
    on_line: OnLine,
    who: str = "userland",
) -> dict[str, Any]:
    """The info of a ready cached tree (the userland, or the toolchain companion): the
    extracted one, else restored from its verified tarball, else made by ``create`` in
    a staging directory and packed. ``info_file`` is where ``create`` writes the tree's
    info, its key included. READY is written last: a killed run never counts."""
    if (info := read_ready(paths)) is not None:
        return info
    paths.root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(paths.lock):  # a second factory process waits instead of racing
        if (info := read_ready(paths)) is not None:
            return info
        for leftover in [*paths.root.parent.glob(f".{paths.key}*.tmp-*"), paths.root]:
            _remove(leftover)  # a killed run's debris, or a tree that never got READY
        staging = paths.temp("")
        try:
            if _tarball_verified(paths, log, on_line, who):
                _note(log, on_line, f"restoring {paths.root} from {paths.tarball.name}", who)
                staging.mkdir()
                extract = ["tar", "--extract", "--zstd", f"--file={paths.tarball}"]
                run(
                    [*extract, *_TAR_FLAGS, f"--directory={staging}"], log=log, timeout=STEP_TIMEOUT
                )
            else:
                create(staging)
                _pack(staging, paths, log, on_line, who)
            info = json.loads((staging / info_file).read_text())
            if info.get("key") != paths.key:
                raise EnvironmentProblem(
                    f"{paths.tarball} holds {who} {info.get('key')}, not {paths.key}",
                    hint=f"delete {paths.tarball} and run again",
                )
            staging.rename(paths.root)
        finally:
            _remove(staging)
        write_atomically(paths.ready, _json_bytes(info))
    return dict(info)


# Numeric ids: the host's passwd must not remap the rootfs's users. Xattrs keep file
# capabilities (security.capability) that some packages set.
_TAR_FLAGS = ("--numeric-owner", "--xattrs", "--xattrs-include=*")


def _create(staging: Path, spec: UserlandSpec, key: str, log: Path, on_line: OnLine) -> None:
    _note(log, on_line, f"creating the {spec.suite} {spec.arch} userland (about 5 minutes)")
    # mmdebstrap mounts /proc etc. into the target: in a private mount namespace those
    # mounts die with it, so a killed run cannot leave host mounts inside a directory
    # that is about to be deleted.
    options = ["--mode=root", "--format=directory", "--variant=apt", f"--arch={spec.arch}"]
    options.append(f"--include={','.join(spec.packages)}")
    options += [f"--dpkgopt={rule}" for rule in DPKG_PATH_FILTERS]
    command = [*_UNSHARE, "mmdebstrap", *options, spec.suite, str(staging), spec.mirror]
    run(command, log=log, timeout=CREATE_TIMEOUT, on_line=on_line)
    staging_host = Userland(staging, spec, {"key": key})
    _note(log, on_line, f"installing {', '.join(spec.tools)} into {VENV}")
    for argv in (
        ["python3", "-m", "venv", VENV],
        [f"{VENV}/bin/python", "-m", "pip", "install", "--no-cache-dir", "--upgrade",
         "--constraint", str(TOOL_CONSTRAINTS), *spec.tools],
    ):  # fmt: skip
        staging_host.run(
            argv,
            log=log,
            cwd=Path("/"),
            env={},
            timeout=STEP_TIMEOUT,
            on_line=on_line,
            binds=[TOOL_CONSTRAINTS.parent],
        )
    probe = [staging_host.python, "-c", _PROBE]
    result = staging_host.run(
        probe, log=log, cwd=Path("/"), env={}, timeout=STEP_TIMEOUT, capture=True
    )
    versions = json.loads(result.output.strip().splitlines()[-1])
    if versions.pop("machine") != spec.arch:  # qemu is really in the loop, not the host CPU
        raise EnvironmentProblem(
            f"the userland's python reports {result.output.strip()!r}, expected {spec.arch}",
            hint="check the qemu binfmt registration: `arch-test riscv64`",
        )
    info = {"key": key, "spec": spec.to_json(), "versions": versions}
    write_atomically(staging / INFO_FILE, _json_bytes(info))


def _pack(
    staging: Path, paths: UserlandPaths, log: Path, on_line: OnLine, who: str = "userland"
) -> None:
    _note(log, on_line, f"packing {paths.tarball.name}", who)
    partial = paths.temp(".tar.zst")
    try:
        create = ["tar", "--create", f"--file={partial}", "--use-compress-program=zstd -T0"]
        run([*create, *_TAR_FLAGS, f"--directory={staging}", "."], log=log, timeout=STEP_TIMEOUT)
        digest = sha256_file(partial)
        partial.rename(paths.tarball)
    finally:
        partial.unlink(missing_ok=True)
    # sha256sum's format, so `sha256sum -c` works too; written last, it marks the
    # tarball complete.
    write_atomically(paths.checksum, f"{digest}  {paths.tarball.name}\n".encode())


def _tarball_verified(
    paths: UserlandPaths, log: Path, on_line: OnLine, who: str = "userland"
) -> bool:
    if not paths.tarball.exists():
        paths.checksum.unlink(missing_ok=True)
        return False
    recorded = paths.checksum.read_text().split()[:1] if paths.checksum.exists() else []
    if recorded and [sha256_file(paths.tarball)] == recorded:
        return True
    why = "does not match its checksum" if recorded else "has no checksum (interrupted packing?)"
    _note(log, on_line, f"{paths.tarball} {why}: deleting it and rebuilding", who)
    paths.tarball.unlink()
    paths.checksum.unlink(missing_ok=True)
    return False


def read_ready(paths: UserlandPaths) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = json.loads(paths.ready.read_text())
    except (OSError, ValueError):
        return None  # absent, or torn by a crash: not ready
    return info if info.get("key") == paths.key else None


def userland_status(cache_dir: Path, spec: UserlandSpec = DEFAULT_SPEC) -> dict[str, Any]:
    """What `factory userland status` shows; reads files only, needs no root."""
    paths = UserlandPaths.for_spec(cache_dir, spec)
    info = read_ready(paths)
    return {
        "key": paths.key,
        "path": str(paths.root),
        "ready": info is not None,
        "tarball": str(paths.tarball),
        "tarball_bytes": paths.tarball.stat().st_size if paths.tarball.exists() else None,
        "tarball_complete": paths.tarball.exists() and paths.checksum.exists(),
        "versions": info.get("versions") if info else None,
        "binfmt": binfmt_state(spec.arch),
    }


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            f"root is needed to {action} (chroot and mounts)",
            hint="run `sudo factory userland create` once, then run factory commands with sudo",
        )


def binfmt_state(arch: str) -> str:
    """'ok', or what is wrong with the kernel's qemu registration for ``arch``."""
    if not (BINFMT_DIR / "register").exists():
        return "binfmt_misc not mounted"
    if (BINFMT_DIR / "status").read_text().strip() == "disabled":
        return "binfmt_misc disabled"
    try:
        lines = (BINFMT_DIR / f"qemu-{arch}").read_text().splitlines()
    except OSError:
        return f"qemu-{arch} not registered"
    if "enabled" not in lines:
        return f"qemu-{arch} disabled"
    flags = next((line.split(":", 1)[1] for line in lines if line.startswith("flags:")), "")
    # Without F the kernel looks up the interpreter inside the chroot, where it is absent.
    return "ok" if "F" in flags else f"qemu-{arch} registered without the F (fix-binary) flag"


def ensure_binfmt(arch: str, log: Path) -> None:
    """Make the kernel run riscv64 binaries through qemu, as a fresh CI machine needs."""
    if binfmt_state(arch) == "ok":
        return  # the common case costs no subprocess
    if not (BINFMT_DIR / "register").exists():
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)], log=log, check=False)
    missing = f"qemu-{arch} not registered"
    with contextlib.suppress(OSError):  # any fix may be refused: the check below says why
        if binfmt_state(arch) == "binfmt_misc disabled":
            (BINFMT_DIR / "status").write_text("1")
        if binfmt_state(arch) == f"qemu-{arch} disabled":
            (BINFMT_DIR / f"qemu-{arch}").write_text("1")
        if binfmt_state(arch) == missing and shutil.which("update-binfmts"):
            run(["update-binfmts", "--enable", f"qemu-{arch}"], log=log, check=False)
        conf = Path(f"/usr/lib/binfmt.d/qemu-{arch}.conf")  # systemd-binfmt's copy of the rule
        if binfmt_state(arch) == missing and conf.exists():  # no binfmt-support installed
            rule = conf.read_text().strip()
            (BINFMT_DIR / "register").write_text(rule if rule.endswith("F") else rule + "F")
    if (state := binfmt_state(arch)) != "ok":
        raise EnvironmentProblem(
            f"cannot run {arch} binaries: {state}",
            hint=f"apt-get install qemu-user-static binfmt-support; mount -t binfmt_misc "
            f"binfmt_misc {BINFMT_DIR}; update-binfmts --enable qemu-{arch} (needs the F flag)",
        )
    result = run(["arch-test", arch], log=log, check=False, capture=True)
    if result.returncode != 0:
        raise EnvironmentProblem(
            f"`arch-test {arch}` fails: {result.output.strip()}",
            hint="check qemu-user-static's binfmt registration",
        )


def _refresh_host_files(root: Path) -> None:
    for source in (Path("/etc/resolv.conf"), Path(CA_BUNDLE)):
        if source.exists():  # a host without them gets the rootfs's own
            write_atomically(root / source.relative_to("/"), source.read_bytes())


def _json_bytes(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def _remove(path: Path) -> None:
    """Delete a file or tree, refusing when something is mounted inside it.

    shutil.rmtree descends into mount points: a leftover bind of /dev or a work
    directory would be emptied on the host.
    """
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        mounted = first_mount_inside(path)
        if mounted is not None:
            raise EnvironmentProblem(
                f"refusing to delete {path}: {mounted} is mounted inside it",
                hint=f"`umount -R {mounted}`, then run again",
            )
        shutil.rmtree(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


def _note(log: Path, on_line: OnLine, message: str, who: str = "userland") -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as f:
        f.write(f"# {who}: {message}\n")
    if on_line is not None:
        on_line(f"{who}: {message}")
