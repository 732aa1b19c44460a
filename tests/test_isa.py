"""The RISC-V ISA baseline check, on real objects.

tests/fixtures/isa/ holds `int add_one(int x) { return x + 1; }` compiled by the riscv64
userland's gcc 14 (`gcc -Os -c -march=<arch> -mabi=lp64d`): rv64gc.o, rv64gcv.o,
rv64gc_zba_zbb.o, and noattr.o (rv64gc.o after `objcopy --remove-section
.riscv.attributes`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from factory.errors import BuildFailed, IsaBeyondBaseline
from factory.isa import check_baseline, elf_arch, inspect_wheel, parse_arch

FIXTURES = Path(__file__).parent / "fixtures" / "isa"


def make_wheel(tmp_path: Path, members: dict[str, bytes]) -> Path:
    wheel = tmp_path / "demo-1.0-cp313-cp313-linux_riscv64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/__init__.py", "")
        for name, data in members.items():
            archive.writestr(name, data)
    return wheel


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_the_toolchain_spelling_of_rv64gc_is_the_baseline() -> None:
    arch_text = elf_arch(fixture("rv64gc.o"))
    assert arch_text is not None and arch_text.startswith("rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0")
    assert parse_arch(arch_text).beyond(parse_arch("rv64gc")) == []
    assert parse_arch("rv64imafdc_zicsr_zifencei") == parse_arch("rv64gc")


def test_vector_object_is_beyond_rv64gc() -> None:
    arch_text = elf_arch(fixture("rv64gcv.o"))
    assert arch_text is not None
    beyond = parse_arch(arch_text).beyond(parse_arch("rv64gc"))
    assert "v" in beyond and "zve64d" in beyond
    assert parse_arch(arch_text).beyond(parse_arch("rv64gcv_zvl128b")) == []


def test_object_without_attributes_has_no_arch() -> None:
    assert elf_arch(fixture("noattr.o")) is None


def test_a_non_elf_is_not_readable() -> None:
    with pytest.raises(ValueError, match="not a readable ELF file"):
        elf_arch(b"\x7fELF" + b"\0" * 10)


@pytest.mark.parametrize("text", ["x86_64", "rv64", "rv64gc_", "rv128gc", "rv64g!c", "armv8"])
def test_strings_that_are_not_isa_strings(text: str) -> None:
    with pytest.raises(ValueError):
        parse_arch(text)


def test_wheel_with_rv64gc_code_is_accepted_and_summarised(tmp_path: Path) -> None:
    # A host program shipped as data (a test fixture, say) is not riscv64 code.
    host_elf = Path("/bin/true").read_bytes()
    wheel = make_wheel(
        tmp_path, {"demo/_speedups.so": fixture("rv64gc.o"), "demo/fixture.bin": host_elf}
    )
    found = check_baseline(wheel, "rv64gc")
    assert found.summary == "rv64gc"
    assert set(found.files) == {"demo/_speedups.so"}


def test_a_member_with_elf_magic_that_does_not_parse_fails_the_build(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"demo/broken.so": b"\x7fELF" + b"\0" * 60})
    with pytest.raises(BuildFailed, match=r"demo/broken\.so: not a readable ELF file"):
        check_baseline(wheel, "rv64gc")


def test_wheel_with_vector_code_is_refused_naming_file_and_extension(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        {"demo/_plain.so": fixture("rv64gc.o"), "demo/_fast.so": fixture("rv64gcv.o")},
    )
    with pytest.raises(IsaBeyondBaseline) as raised:
        check_baseline(wheel, "rv64gc")
    message = raised.value.message
    assert "demo/_fast.so needs v1p0" in message and "rv64gc" in message
    assert "demo/_plain.so" not in message
    assert "GGML_NATIVE=OFF" in raised.value.hint
    assert raised.value.exit_code == 4


def test_a_declared_higher_baseline_accepts_it(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"demo/_fast.so": fixture("rv64gcv.o")})
    found = check_baseline(wheel, "rv64gcv")
    assert found.summary.startswith("rv64gc_v_")


def test_bitmanip_is_refused_with_its_own_hint(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"demo/_bits.so": fixture("rv64gc_zba_zbb.o")})
    with pytest.raises(IsaBeyondBaseline) as raised:
        check_baseline(wheel, "rv64gc")
    assert "zba1p0, zbb1p0" in raised.value.message
    assert "bit-manipulation" in raised.value.hint


def test_pure_python_wheel_has_no_isa(tmp_path: Path) -> None:
    found = inspect_wheel(make_wheel(tmp_path, {}))
    assert found.needs is None and found.summary == ""


def test_riscv_object_without_attributes_is_listed_but_not_refused(tmp_path: Path) -> None:
    found = check_baseline(make_wheel(tmp_path, {"demo/_old.so": fixture("noattr.o")}), "rv64gc")
    assert found.files == {"demo/_old.so": ""}
