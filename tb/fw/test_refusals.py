"""Every refusal of the toolchain, each with the message that names the problem."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import zlib

import pytest

from tessera.sw.toolchain import (CapacityError, CompileError, CompilerMissingError, ConfigMismatchError, ElfError,
                          FirmwareError, ImageError, LayoutError, ProgramSpec, TargetError, build_image,
                          compile_elf, load_plan, read_image, target_for, write_image)
from tessera.sw.toolchain.build import build_dir_for
from tessera.sw.toolchain.elf import read_elf
from tessera.sw.toolchain.gcc import find_gcc
from tessera.sw.toolchain.image import FirmwareImage
from tb.fw.elfgen import make_elf

NOP = (0x00000013).to_bytes(4, "little")
RX, RW = 5, 6


def _raw_gcc(tmp_path, source_text, *flags, name="raw.elf"):
    """Link a program with plain GCC (not the toolchain) to make foreign ELFs."""
    src = tmp_path / (name + ".S")
    src.write_text(source_text)
    out = tmp_path / name
    subprocess.run([str(find_gcc()), *flags, "-nostdlib", "-nostartfiles", "-Wl,-Ttext=0x0", "-Wl,-e,_start",
                    str(src), "-o", str(out)], check=True, capture_output=True)
    return out


# -- compiler -----------------------------------------------------------------------------------------

def test_compiler_missing_says_how_to_install(monkeypatch, tmp_path, write_source, tiny):
    src = write_source("a.c", "int main(void){return 0;}\n")
    monkeypatch.delenv("TESSERA_RISCV_GCC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CompilerMissingError, match="apt-get install gcc-riscv64-unknown-elf"):
        compile_elf([src], "runelf", tiny, tmp_path / "a.elf")
    monkeypatch.setenv("TESSERA_RISCV_GCC", "/nonexistent/riscv-gcc")
    with pytest.raises(CompilerMissingError, match="TESSERA_RISCV_GCC"):
        compile_elf([src], "runelf", tiny, tmp_path / "a.elf")


def test_compile_error_carries_gcc_message_and_file(tmp_path, write_source, tiny):
    src = write_source("broken.c", "int main(void) { return undeclared_thing; }\n")
    with pytest.raises(CompileError) as info:
        compile_elf([src], "brisc", tiny, tmp_path / "b.elf")
    message = str(info.value)
    assert "broken.c" in message and "undeclared_thing" in message and "error:" in message
    assert info.value.source == src
    assert not (tmp_path / "b.elf").exists()
    assert "undeclared_thing" in (build_dir_for(tmp_path / "b.elf") / "build.log").read_text()


def test_link_error_is_a_compile_error(tmp_path, write_source, tiny):
    src = write_source("undef.c", "int missing(void);\nint main(void) { return missing(); }\n")
    with pytest.raises(CompileError, match="undefined reference to `missing'"):
        compile_elf([src], "runelf", tiny, tmp_path / "u.elf")


def test_bad_source_names_and_options(tmp_path, write_source, tiny):
    src = write_source("a.c", "int main(void){return 0;}\n")
    with pytest.raises(FirmwareError, match="source file not found"):
        compile_elf([tmp_path / "nope.c"], "runelf", tiny, tmp_path / "a.elf")
    with pytest.raises(FirmwareError, match="unknown source type '.cpp'"):
        compile_elf([write_source("a.cpp", "")], "runelf", tiny, tmp_path / "a.elf")
    with pytest.raises(FirmwareError, match="opt must be one of"):
        compile_elf([src], "runelf", tiny, tmp_path / "a.elf", opt="-O9")
    with pytest.raises(FirmwareError, match="define must look like"):
        compile_elf([src], "runelf", tiny, tmp_path / "a.elf", defines=["1BAD"])


# -- ELF class, machine, ISA --------------------------------------------------------------------------

def test_rv64_elf_refused(tmp_path):
    elf = _raw_gcc(tmp_path, ".globl _start\n_start: nop\n", "-march=rv64imac", "-mabi=lp64")
    with pytest.raises(ElfError, match="ELF64.*rv64"):
        read_elf(elf)


def test_wrong_machine_refused():
    with pytest.raises(ElfError, match="EM_X86_64, expected EM_RISCV"):
        read_elf(make_elf([(0, NOP, 4, RX)], 0, machine=62))


def test_not_an_elf_and_object_file_refused(tmp_path):
    with pytest.raises(ElfError, match="not an ELF file"):
        read_elf(b"#!/bin/sh\necho hi\n")
    with pytest.raises(ElfError, match="ET_REL"):
        read_elf(make_elf([(0, NOP, 4, RX)], 0, e_type=1))


def test_hard_float_abi_refused(tmp_path):
    elf = _raw_gcc(tmp_path, ".globl _start\n_start: fadd.s f0, f1, f2\n", "-march=rv32imfc", "-mabi=ilp32f")
    with pytest.raises(ElfError, match="floating-point ABI ilp32f"):
        read_elf(elf)


def test_float_extension_in_arch_attribute_refused(tmp_path):
    elf = _raw_gcc(tmp_path, ".globl _start\n_start: fadd.s f0, f1, f2\n", "-march=rv32imfc", "-mabi=ilp32")
    with pytest.raises(ElfError, match="extension\\(s\\) f "):
        read_elf(elf)


@pytest.mark.parametrize("code, what", [
    ((0x00208053).to_bytes(4, "little"), "floating-point operation"),   # fadd.s
    ((0x0000A007).to_bytes(4, "little"), "floating-point load"),        # flw
    ((0x0020A02F).to_bytes(4, "little"), "atomic memory operation"),    # amoadd.w
    ((0x6008).to_bytes(2, "little") + b"\x01\x00", "c.flw"),            # c.flw, then c.nop
    ((0xE002).to_bytes(2, "little") + b"\x01\x00", "c.fswsp"),
])
def test_unsupported_opcodes_found_by_scan(code, what):
    """Hand-written code without an arch attribute is still scanned instruction by instruction."""
    with pytest.raises(ElfError, match=what):
        read_elf(make_elf([(0, NOP + code, 4 + len(code), RX)], 0))


def test_isa_scan_can_be_skipped_for_trap_tests():
    """isa_scan=False (run-elf's trap tests) accepts an FP encoding but still refuses the hard-float ABI."""
    program = read_elf(make_elf([(0, NOP + (0x0000A007).to_bytes(4, "little"), 8, RX)], 0), isa_scan=False)
    assert program.entry == 0
    with pytest.raises(ElfError, match="ilp32d"):
        read_elf(make_elf([(0, NOP, 4, RX)], 0, e_flags=0x5), isa_scan=False)


def test_rve_refused():
    with pytest.raises(ElfError, match="RV32E"):
        read_elf(make_elf([(0, NOP, 4, RX)], 0, e_flags=0x9))


# -- layout and capacity ------------------------------------------------------------------------------

def test_overlapping_segments_refused(tiny):
    elf = read_elf(make_elf([(0x0, NOP * 8, 32, RX), (0x10, b"data", 16, RW)], 0))
    with pytest.raises(LayoutError, match="overlap"):
        build_image([ProgramSpec("brisc", [(1, 0)], elf)], tiny)


def test_segment_outside_core_memories_refused(tiny):
    brisc = target_for("brisc", tiny)
    elf = read_elf(make_elf([(0x0, NOP, 4, RX), (0x8000, b"far!", 4, RW)], 0))
    with pytest.raises(LayoutError, match="outside the memories of target brisc"):
        build_image([ProgramSpec("brisc", [(1, 0)], elf)], tiny)
    # A program linked for another core's region.
    ncrisc = target_for("ncrisc", tiny).program.base
    elf = read_elf(make_elf([(ncrisc, NOP, 4, RX)], ncrisc))
    with pytest.raises(LayoutError, match="outside"):
        build_image([ProgramSpec("brisc", [(1, 0)], elf)], tiny)
    # Initialised data in core-private memory cannot be loaded over the NoC.
    elf = read_elf(make_elf([(0x0, NOP, 4, RX), (brisc.local.base, b"init", 4, RW)], 0))
    with pytest.raises(LayoutError, match="loader cannot write"):
        build_image([ProgramSpec("brisc", [(1, 0)], elf)], tiny)


def test_entry_outside_code_refused(tiny):
    elf = read_elf(make_elf([(0x0, NOP, 4, RX), (0x100, b"data", 4, RW)], 0x100))
    with pytest.raises(LayoutError, match="entry point 0x100"):
        build_image([ProgramSpec("brisc", [(1, 0)], elf)], tiny)


def test_program_over_capacity_refused_by_linker(tmp_path, write_source, tiny):
    size = target_for("brisc", tiny).program.size
    src = write_source("big.c", f"char big[{size}] = {{1}};\nint main(void) {{ return big[3]; }}\n")
    region = target_for("brisc", tiny).program
    pattern = (rf"for target brisc: the program does not fit: region PROGRAM \(brisc_fw {region.base:#x}\.\."
               rf"{region.end:#x}, {region.size} bytes\) overflowed by \d+ bytes")
    with pytest.raises(CapacityError, match=pattern):
        compile_elf([src], "brisc", tiny, tmp_path / "big.elf")


def test_segment_over_capacity_refused_in_image(tiny):
    region = target_for("brisc", tiny).program
    elf = read_elf(make_elf([(0x0, NOP, 4, RX), (region.end - 8, b"x" * 8, 64, RW)], 0))
    with pytest.raises(CapacityError, match="bytes past the end of brisc_fw"):
        build_image([ProgramSpec("brisc", [(1, 0)], elf)], tiny)


def test_too_many_runtime_args_refused(built, tiny):
    capacity = target_for("brisc", tiny).runtime_args.size // 4
    with pytest.raises(CapacityError, match="runtime arguments need"):
        build_image([ProgramSpec("brisc", [(1, 0)], built["sum_brisc"], list(range(capacity + 1)))], tiny)
    with pytest.raises(FirmwareError, match="not a 32-bit unsigned"):
        build_image([ProgramSpec("brisc", [(1, 0)], built["sum_brisc"], [-1])], tiny)


# -- names --------------------------------------------------------------------------------------------

def test_unknown_names_refused(built, tmp_path, write_source, tiny):
    src = write_source("a.c", "int main(void){return 0;}\n")
    with pytest.raises(TargetError, match="unknown build target 'zrisc'.*brisc"):
        compile_elf([src], "zrisc", tiny, tmp_path / "a.elf")
    with pytest.raises(TargetError, match="unknown build target"):
        build_image([ProgramSpec("zrisc", [(1, 0)], built["sum_brisc"])], tiny)
    with pytest.raises(TargetError, match=r"unknown tile \(9, 9\)"):
        build_image([ProgramSpec("brisc", [(9, 9)], built["sum_brisc"])], tiny)
    with pytest.raises(TargetError, match=r"tile \(0, 0\) is a host node"):
        build_image([ProgramSpec("brisc", [(0, 0)], built["sum_brisc"])], tiny)
    with pytest.raises(TargetError, match="X,Y"):
        build_image([ProgramSpec("brisc", ["one"], built["sum_brisc"])], tiny)
    with pytest.raises(TargetError, match="not a tile core"):
        build_image([ProgramSpec("runelf", [(1, 0)], built["hello_runelf"])], tiny)
    with pytest.raises(TargetError, match="two programs for core brisc"):
        build_image([ProgramSpec("brisc", [(1, 0)], built["sum_brisc"]),
                     ProgramSpec("brisc", [(1, 0)], built["sum_brisc"])], tiny)


def test_program_for_wrong_core_refused(built, tiny):
    """An ELF linked for trisc1 is outside brisc's region."""
    with pytest.raises(LayoutError, match="outside the memories of target brisc"):
        build_image([ProgramSpec("brisc", [(1, 0)], built["sum_trisc1"])], tiny)


# -- images -------------------------------------------------------------------------------------------

@pytest.fixture
def image_bytes(built, tiny):
    return build_image([ProgramSpec("brisc", [(1, 0)], built["sum_brisc"], [1, 2])], tiny)


def test_bad_checksum_refused(image_bytes):
    data = bytearray(image_bytes)
    data[len(data) - 40] ^= 0x01  # a payload byte
    with pytest.raises(ImageError, match="bad checksum"):
        FirmwareImage.from_bytes(bytes(data))
    data = bytearray(image_bytes)
    data[100] ^= 0x20  # a manifest byte
    with pytest.raises(ImageError, match="bad checksum"):
        FirmwareImage.from_bytes(bytes(data))
    data = bytearray(image_bytes)
    data[-1] ^= 0xFF  # the checksum itself
    with pytest.raises(ImageError, match="bad checksum"):
        FirmwareImage.from_bytes(bytes(data))
    data = bytearray(image_bytes)
    data[20] ^= 0x01  # manifest_bytes in the header
    with pytest.raises(ImageError, match="bad header checksum"):
        FirmwareImage.from_bytes(bytes(data))


@pytest.mark.parametrize("keep", [0, 7, 40, 64, 200, -33, -1])
def test_truncated_image_refused(image_bytes, keep):
    data = image_bytes[:keep] if keep >= 0 else image_bytes[:len(image_bytes) + keep]
    with pytest.raises(ImageError, match="truncated"):
        FirmwareImage.from_bytes(data)


def test_trailing_bytes_bad_magic_and_version_refused(image_bytes):
    with pytest.raises(ImageError, match="unexpected bytes after the end"):
        FirmwareImage.from_bytes(image_bytes + b"\0")
    with pytest.raises(ImageError, match="not a Tessera firmware image"):
        FirmwareImage.from_bytes(b"\x7fELF" + image_bytes[4:])
    # A well-formed image of a future format version: header CRC and SHA-256 recomputed.
    data = bytearray(image_bytes)
    struct.pack_into("<H", data, 8, 2)
    struct.pack_into("<I", data, 36, zlib.crc32(bytes(data[:36])))
    data[-32:] = hashlib.sha256(bytes(data[:-32])).digest()
    with pytest.raises(ImageError, match="format version 2; this toolchain reads version 1"):
        FirmwareImage.from_bytes(bytes(data))


def test_image_file_missing(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "none.fwimg")


def test_load_on_other_config_refused(image_bytes, tiny):
    other = tiny.derive(l1={"size_bytes": 128 * 1024})
    with pytest.raises(ConfigMismatchError, match="built for configuration 'tiny'"):
        load_plan(image_bytes, other)


def test_written_image_round_trips_through_file(tmp_path, built, tiny):
    path = write_image(tmp_path / "img" / "a.fwimg", [ProgramSpec("brisc", [(1, 0)], built["sum_brisc"])], tiny)
    assert read_image(path).programs[0].core == "brisc"


def test_check_elf_for_simulators(built, tiny):
    """check_elf: the refusal a simulator runs before starting (run-elf ELF is not a brisc program)."""
    from tessera.sw.toolchain import check_elf
    assert check_elf(built["hello_runelf"], "runelf", tiny).symbol("tohost") is not None
    with pytest.raises(LayoutError, match="outside the memories of target brisc"):
        check_elf(built["hello_runelf"], "brisc", tiny)
    with pytest.raises(LayoutError, match="outside the memories of target runelf"):
        check_elf(built["sum_brisc"], "runelf", tiny)


def test_fuzzed_elf_only_raises_elf_error(built):
    """Truncated or corrupted ELFs give an ElfError (or another FirmwareError), never a crash."""
    import random
    data = built["hello_runelf"].read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 150)):
        with pytest.raises(FirmwareError):
            read_elf(data[:cut])
    rng = random.Random(7)
    for _ in range(300):
        corrupt = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            corrupt[rng.randrange(min(len(corrupt), 512))] = rng.randrange(256)
        try:
            read_elf(bytes(corrupt))
        except FirmwareError:
            pass


def test_fuzzed_image_only_raises_image_error(image_bytes):
    import random
    rng = random.Random(11)
    for _ in range(300):
        corrupt = bytearray(image_bytes)
        for _ in range(rng.randint(1, 4)):
            corrupt[rng.randrange(len(corrupt))] ^= 1 << rng.randrange(8)
        with pytest.raises(ImageError):
            FirmwareImage.from_bytes(bytes(corrupt))


def _repack(image_bytes, mutate):
    """Re-sign an image after editing its manifest (what a buggy writer could produce)."""
    import json

    from tessera.sw.toolchain.image import _pack
    m_off, m_len, p_off, p_len = struct.unpack_from("<IIII", image_bytes, 16)
    manifest = json.loads(image_bytes[m_off:m_off + m_len])
    mutate(manifest)
    return _pack(manifest, image_bytes[p_off:p_off + p_len])


def test_signed_but_wrong_manifest_refused(image_bytes, tiny):
    def bad_type(m):
        m["programs"][0]["segments"][0]["addr"] = "zero"

    def missing(m):
        del m["programs"][0]["entry"]

    def bad_crc(m):
        m["programs"][0]["segments"][0]["crc32"] ^= 1

    def outside(m):
        m["programs"][0]["segments"][0]["payload_offset"] = 1 << 20

    def wrong_format(m):
        m["format"] = "something-else"

    def no_config(m):
        del m["config"]

    for mutate, message in [(bad_type, "field .addr. must be a non-negative integer, got .zero."), (missing, "'entry'"), (bad_crc, "bad checksum of segment"),
                            (outside, "outside the payload"), (wrong_format, "is not 'tessera-firmware'"),
                            (no_config, "'config'")]:
        with pytest.raises(ImageError, match=message):
            FirmwareImage.from_bytes(_repack(image_bytes, mutate))

    def moved(m):
        m["programs"][0]["segments"][0]["addr"] = 0x8000

    with pytest.raises(LayoutError, match="outside brisc_fw"):
        load_plan(_repack(image_bytes, moved), tiny)

    def wrong_index(m):
        m["programs"][0]["core_index"] = 3

    with pytest.raises(TargetError, match="index 3"):
        load_plan(_repack(image_bytes, wrong_index), tiny)
