"""run-elf refuses bad input before any simulation starts (no Verilator needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tessera.hw.config import preset
from tessera.sim.cli import main as cli_main
from tessera.sim.runelf.elf import ElfImageError, load_elf
from tessera.sw.bench.cpu.build import compile_program
from tessera.sw.toolchain.gcc import find_gcc
from tb.core.asm_link import link_asm

CFG = preset("tiny")
GCC = str(find_gcc())


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    out = tmp_path_factory.mktemp("elf") / "hello.elf"
    return compile_program("hello", out, CFG)


def test_good_elf_is_accepted(hello):
    image = load_elf(hello, CFG)
    assert image.entry == CFG.runelf.ram_base
    assert image.tohost is not None and CFG.runelf.ram_base <= image.tohost
    assert image.words, "no words to load"


def test_not_an_elf_is_refused(tmp_path):
    bad = tmp_path / "junk.elf"
    bad.write_bytes(b"this is not an ELF file at all")
    with pytest.raises(ElfImageError, match="not an ELF"):
        load_elf(bad, CFG)
    assert cli_main(["run-elf", str(bad)]) == 2


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ElfImageError, match="cannot open"):
        load_elf(tmp_path / "nope.elf", CFG)


_LOOP = ".globl _start\n_start: j _start\n"
_BARE = ["-nostdlib", "-nostartfiles"]
_AT_RAM = f"-Wl,-Ttext={CFG.runelf.ram_base:#x}"

#: Files GCC builds that load_elf must refuse: (id, assembly, GCC flags, refusal, whether the
#: run-elf command is also run on it and must answer exit code 2).  The hard-float one is inside
#: RAM and otherwise well formed: the toolchain's checker refuses it.
_REFUSED = [
    ("elf64", _LOOP, ["-march=rv64imc", "-mabi=lp64", *_BARE, _AT_RAM], "ELF64", False),
    ("segment_outside_ram", _LOOP, ["-march=rv32imc", "-mabi=ilp32", *_BARE, "-Wl,-Ttext=0x1000"],
     "outside RAM", True),
    ("object_file", "nop\n", ["-march=rv32imc", "-mabi=ilp32", "-c"], "not an executable", False),
    ("hard_float", ".globl _start\n_start: fadd.s f0, f1, f2\n j _start\n",
     ["-march=rv32imfc", "-mabi=ilp32f", *_BARE, "-Wl,-N", _AT_RAM], "floating-point ABI ilp32f", True),
]


@pytest.mark.parametrize("source,flags,refusal,via_cli", [case[1:] for case in _REFUSED],
                         ids=[case[0] for case in _REFUSED])
def test_gcc_output_is_refused(tmp_path, source, flags, refusal, via_cli):
    src = tmp_path / "a.S"
    src.write_text(source)
    out = tmp_path / "a.out"
    subprocess.run([GCC, *flags, str(src), "-o", str(out)], check=True)
    with pytest.raises(ElfImageError, match=refusal):
        load_elf(out, CFG)
    if via_cli:
        assert cli_main(["run-elf", str(out)]) == 2


def test_unimplemented_encoding_in_code_is_accepted(tmp_path):
    """run-elf skips the toolchain's opcode scan: an FP encoding in code is the core's illegal-instruction trap."""
    src = tmp_path / "c_flw.S"
    src.write_text('.section .text.init, "ax"\n.globl _start\n_start: .word 0x0000a007\n j _start\n'
                   '.section .tohost, "aw", @progbits\n.globl tohost\ntohost: .word 0, 0\n')
    image = load_elf(link_asm(src, tmp_path / "c_flw.elf", CFG), CFG)
    assert image.words[CFG.runelf.ram_base] == 0x0000A007


def test_run_elf_exit_code_signature_and_console(tmp_path, capsys):
    """End to end through the CLI: console text, exit code from tohost, signature file."""
    src = tmp_path / "exit5.S"
    src.write_text(f"""
    .option norelax
    .section .text.init, "ax"
    .globl _start
_start:
    li t0, {CFG.runelf.console_addr:#x}
    li t1, 'o'
    sb t1, 0(t0)
    li t1, 'k'
    sb t1, 0(t0)
    la t2, begin_signature
    li t1, 0x1234abcd
    sw t1, 4(t2)
    la t0, tohost
    li t1, (5 << 1) | 1
    sw t1, 0(t0)
1:  j 1b
    .data
    .balign 16
    .globl begin_signature
begin_signature:
    .word 0xcafef00d, 0, 0xffffffff
    .globl end_signature
end_signature:
    .section .tohost, "aw", @progbits
    .balign 8
    .globl tohost
tohost: .dword 0
""")
    elf = link_asm(src, tmp_path / "exit5.elf", CFG)
    sig = tmp_path / "sig.txt"
    code = cli_main(["run-elf", str(elf), "--signature", str(sig)])
    out = capsys.readouterr().out
    assert code == 5, out
    assert out.startswith("ok\n"), out
    assert "cycles" in out and "instret" in out
    assert sig.read_text().split() == ["cafef00d", "1234abcd", "ffffffff"]
