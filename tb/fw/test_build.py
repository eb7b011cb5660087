"""compile_elf: generated inputs, layout per target, and programs that run (checked in unicorn)."""

from __future__ import annotations

import pytest
from elftools.elf.elffile import ELFFile

from tessera.sw.toolchain.header import address_map_header
from tessera.sw.toolchain import compile_elf, target_for
from tessera.sw.toolchain.build import build_dir_for
from tessera.sw.toolchain.layout import RUNTIME_ARGS_BYTES
from tb.fw.emulator import run_runelf


def _elf_facts(path):
    with open(path, "rb") as f:
        elf = ELFFile(f)
        segs = [(s["p_paddr"], s["p_filesz"], s["p_memsz"]) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols() if s.name}
        return elf.header["e_entry"], elf.elfclass, segs, syms


def test_runelf_layout(built, tiny):
    entry, elfclass, segs, syms = _elf_facts(built["hello_runelf"])
    ram = tiny.runelf
    assert elfclass == 32
    assert entry == ram.ram_base == syms["_start"]
    assert syms["__stack_top"] == ram.ram_base + ram.ram_bytes
    assert "tohost" in syms and syms["tohost"] % 8 == 0
    for addr, _filesz, memsz in segs:
        assert ram.ram_base <= addr and addr + memsz <= ram.ram_base + ram.ram_bytes


@pytest.mark.parametrize("preset_name", ["tiny", "tensix"])
def test_core_layout_every_core(preset_name, tmp_path, write_source, request):
    """Each core's program lies in its firmware region; stack at the top of its local memory."""
    cfg = request.getfixturevalue(preset_name)
    src = write_source("k.c", '#include "tessera.h"\nint counter = 5;\nint zero;\n'
                              'int main(void) { zero++; return counter + (int)get_arg_val(0); }\n')
    for core in cfg.cores:
        out = compile_elf([src], core.name, cfg, tmp_path / f"{core.name}.elf")
        entry, elfclass, segs, syms = _elf_facts(out)
        assert entry == core.reset_pc
        assert syms["__stack_top"] == cfg.local_mem_base + core.local_mem_bytes
        assert syms["__rtargs_start"] == core.reset_pc + core.code_bytes - RUNTIME_ARGS_BYTES
        for addr, _filesz, memsz in segs:
            assert core.reset_pc <= addr and addr + memsz <= core.reset_pc + core.code_bytes - RUNTIME_ARGS_BYTES
        gen = build_dir_for(out) / "gen"
        assert (gen / "tessera_config.h").read_text() == address_map_header(cfg)
        target_h = (gen / "tessera_target.h").read_text()
        assert f"#define TESSERA_TARGET_CORE_INDEX {cfg.core_index(core.name)}u" in target_h
        assert f"#define TESSERA_TARGET_ROLE_{core.role.upper()} 1" in target_h
        assert f"{target_for(core.name, cfg).runtime_args.base:#010x}" in target_h


def test_defines_and_assembly_source(tmp_path, write_source, tiny):
    """-D values reach the code and an assembly file links beside C."""
    asm = write_source("triple.S", ".text\n.globl triple\ntriple:\n  slli a1, a0, 1\n  add a0, a0, a1\n  ret\n")
    src = write_source("main.c", '#include "tessera_runelf.h"\nint triple(int);\n'
                                 'int main(void) { tessera_puts(GREETING); return triple(VALUE); }\n')
    out = compile_elf([src, asm], "runelf", tiny, tmp_path / "d.elf", opt="-Os",
                      defines={"VALUE": 13, "GREETING": '"hi\\n"'})
    result = run_runelf(out, tiny)
    assert (result.exit_code, result.console) == (39, "hi\n")


def test_printf_formats(tmp_path, write_source, tiny):
    src = write_source("p.c", r'''#include "tessera_runelf.h"
int main(void) {
    tessera_printf("[%5d|%-3|%05d|%x|%X|%c|%s|%8s|%u|%lld|%llu|%%]\n", -42, -7, 0xabc, 0xdef, 'q', "str", "pad",
                   4000000000u, -1234567890123ll, 18446744073709551615ull);
    tessera_printf("%p %s\n", (void *)0x80001234, (char *)0);
    return 0;
}
''')
    out = compile_elf([src], "runelf", tiny, tmp_path / "p.elf", opt="-O1")
    result = run_runelf(out, tiny)
    assert result.exit_code == 0
    assert result.console == ("[  -42|%-3|-0007|abc|DEF|q|str|     pad|4000000000|-1234567890123|"
                              "18446744073709551615|%]\n0x80001234 (null)\n")


def test_trap_handler_exits_with_128_plus_mcause(tmp_path, write_source, tiny):
    """crt0 points mtvec at a handler that records the trap and exits with 128 + mcause.

    unicorn does not take RISC-V exceptions, so the test enters the handler the
    way the hardware would: set mcause/mepc/mtval, then jump to mtvec.
    """
    src = write_source("t.c", r"""#include "tessera_runelf.h"
int main(void) {
    uint32_t mtvec;
    __asm__ volatile("csrr %0, mtvec" : "=r"(mtvec));
    __asm__ volatile("csrw mcause, %0; csrw mepc, %1; csrw mtval, %2; jr %3"
                     :: "r"(3), "r"(0x80000abc), "r"(0x1234), "r"(mtvec));
    return 0;
}
""")
    out = compile_elf([src], "runelf", tiny, tmp_path / "t.elf")
    assert run_runelf(out, tiny).exit_code == 131


def test_rebuild_is_reproducible(tmp_path, write_source, tiny):
    src = write_source("r.c", "int main(void) { return 1; }\n")
    a = compile_elf([src], "brisc", tiny, tmp_path / "a" / "r.elf").read_bytes()
    b = compile_elf([src], "brisc", tiny, tmp_path / "b" / "r.elf").read_bytes()
    assert a == b


def _have_picolibc() -> bool:
    from tessera.sw.toolchain.errors import CompilerMissingError
    from tessera.sw.toolchain.gcc import find_gcc, find_picolibc
    try:
        find_picolibc(find_gcc())
        return True
    except CompilerMissingError:
        return False


@pytest.mark.skipif(not _have_picolibc(), reason="picolibc-riscv64-unknown-elf is not installed")
def test_picolibc_stdio_errno_and_exit(tmp_path, write_source, tiny):
    """picolibc's printf (with doubles) reaches the console, errno lives in TLS (tp), exit() ends the run."""
    src = write_source("pico.c", r'''#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "tessera_runelf.h"
int main(void) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d|%s|%6.3f", -42, "x", 2.71828);
    printf("%s\n", buf);
    errno = 0;
    long v = strtol("99999999999999", NULL, 10);
    printf("%ld %d\n", v, errno == ERANGE);
    tessera_printf("mixed %u\n", 7u);
    exit(9);
}
''')
    out = compile_elf([src], "runelf", tiny, tmp_path / "pico.elf", libc="picolibc")
    result = run_runelf(out, tiny)
    assert result.console == "-42|x| 2.718\n2147483647 1\nmixed 7\n"
    assert result.exit_code == 9


def test_picolibc_missing_says_how_to_install(monkeypatch, tmp_path, write_source, tiny):
    from tessera.sw.toolchain.errors import CompilerMissingError, FirmwareError
    src = write_source("a.c", "int main(void){return 0;}\n")
    monkeypatch.setenv("TESSERA_PICOLIBC", str(tmp_path / "nowhere"))
    with pytest.raises(CompilerMissingError, match="apt-get install picolibc-riscv64-unknown-elf"):
        compile_elf([src], "runelf", tiny, tmp_path / "a.elf", libc="picolibc")
    with pytest.raises(FirmwareError, match="libc must be one of"):
        compile_elf([src], "runelf", tiny, tmp_path / "a.elf", libc="newlib")


def test_tls_and_bss_on_a_tile_core(tmp_path, write_source, tiny):
    """__thread data (tp = __tls_base) and zeroed .tbss/.bss, with L1 pre-filled with garbage."""
    from tessera.sw.toolchain import FirmwareImage, ModelChip, ProgramSpec, build_image, load_plan
    from tb.fw.emulator import run_tile_core
    src = write_source("tls.c", '#include "tessera.h"\n__thread int tx = 5;\n__thread int ty;\n'
                                "int plain = 7;\nint zero;\n"
                                'int main(void) { ty += 3; zero += 1; tessera_printf("%d %d %d %d\\n", tx, ty, '
                                "plain, zero); return tx + ty; }\n")
    elf = compile_elf([src], "ncrisc", tiny, tmp_path / "tls.elf")
    image = build_image([ProgramSpec("ncrisc", (1, 0), elf)], tiny)
    chip = ModelChip(tiny, fill=0xAA)
    chip.apply(load_plan(image, tiny))
    run = run_tile_core(chip, tiny, 1, 0, "ncrisc", FirmwareImage.from_bytes(image).programs[0].exit_addr)
    assert (run.console, run.exit_code) == ("5 3 7 1\n", 8)
