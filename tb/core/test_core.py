"""RV32IMC core tests: random streams against unicorn, directed traps/CSRs, C programs.

All Verilator runs use the one run-elf system model (core + sparse RAM), so
`make test` builds a single model.  Set CORE_RANDOM_PROGRAMS / CORE_RANDOM_LENGTH
for longer random runs (the bench target does).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from tessera.hw.config import preset
from tessera.sim.harness import BUILD_ROOT, run_cocotb
from tessera.sim.runelf.driver import BLOCK
from tb.core.asm_link import link_asm
from tb.core.rvgen import ALL_MNEMONICS, generate_program

CFG = preset("tiny")
WORK = Path(BUILD_ROOT) / "tb_core"

RANDOM_PROGRAMS = int(os.environ.get("CORE_RANDOM_PROGRAMS", "48"))
RANDOM_LENGTH = int(os.environ.get("CORE_RANDOM_LENGTH", "4000"))


def _run_job(programs: list, tag: str, cfg=CFG) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK, prefix=f"{tag}-") as tmp:
        job = Path(tmp) / "job.json"
        result = Path(tmp) / "result.json"
        job.write_text(json.dumps({"programs": programs, "result": str(result)}))
        run_cocotb(BLOCK, "tb.core.cocotb_core", config=cfg,
                   env={"TESSERA_CORE_JOB": str(job)})
        return json.loads(result.read_text())


def _random_programs(seeds, stall, cfg=CFG):
    progs, used = [], set()
    for seed in seeds:
        text, mnemonics = generate_program(seed, RANDOM_LENGTH)
        used |= mnemonics
        src = WORK / "random" / f"rand{seed}.S"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(text)
        elf = link_asm(src, src.with_suffix(".elf"), cfg)
        progs.append({"elf": str(elf), "check": "lockstep", "stall": stall})
    return progs, used


@pytest.mark.parametrize("stall", [0, 96])
def test_random_streams_lockstep_with_unicorn(stall):
    """Random RV32IMC programs, every retire compared with unicorn; with and without wait states."""
    half = RANDOM_PROGRAMS // 2
    seeds = range(1000 + stall * 100, 1000 + stall * 100 + half)
    progs, used = _random_programs(seeds, stall)
    assert used == set(ALL_MNEMONICS), f"generator missed {set(ALL_MNEMONICS) - used}"
    result = _run_job(progs, f"random{stall}")
    print(f"stall {stall}: {result['instructions']} instructions checked against unicorn")
    assert result["instructions"] >= half * RANDOM_LENGTH


def _symbols(elf_path) -> dict:
    from elftools.elf.elffile import ELFFile
    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        return {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}


def _word_at(image, addr) -> int:
    word = image.words.get(addr & ~3, 0) | (image.words.get((addr & ~3) + 4, 0) << 32)
    return (word >> (8 * (addr & 3))) & 0xFFFF_FFFF


def traps_and_csrs_program(cfg=CFG) -> dict:
    """Build the directed trap/CSR program and its expected signature."""
    from tessera.sim.runelf.elf import load_elf

    src = Path(__file__).parent / "asm" / "traps_csrs.S"
    elf = link_asm(src, WORK / "directed" / "traps_csrs.elf", cfg)
    sym = _symbols(elf)
    image = load_elf(elf, cfg)
    data, bad = sym["data"], 0x4000_0000
    insn32 = lambda site: _word_at(image, sym[site])
    insn16 = lambda site: _word_at(image, sym[site]) & 0xFFFF
    MST = 0x1880   # in the handler: MPP = M, MPIE = 1, MIE = 0
    traps = [
        (2, "site_illegal32", insn32("site_illegal32")),
        (2, "site_illegal_ones", 0xFFFF_FFFF),
        (2, "site_sret", 0x10200073),
        (2, "site_c_zero", 0),
        (2, "site_c_flw", 0x6000),
        (2, "site_csr_unknown", insn32("site_csr_unknown")),
        (2, "site_csr_readonly", insn32("site_csr_readonly")),
        (2, "site_csr_cycle_write", insn32("site_csr_cycle_write")),
        (11, "site_ecall", 0),
        (3, "site_ebreak", sym["site_ebreak"]),
        (3, "site_c_ebreak", sym["site_c_ebreak"]),
        (4, "site_lw_mis", data + 1),
        (4, "site_lh_mis", data + 3),
        (4, "site_lhu_mis", data + 5),
        (6, "site_sw_mis", data + 2),
        (6, "site_sh_mis", data + 1),
        (5, "site_lw_fault", bad + 8),
        (5, "site_lb_fault", bad + 3),
        (7, "site_sw_fault", bad + 4),
        (7, "site_sb_fault", bad + 1),
    ]
    assert insn16("site_c_ebreak") == 0x9002
    expect = []
    for cause, site, tval in traps:
        expect += [cause, sym[site], tval, MST]
    expect += [1, bad + 16, bad + 16, MST]                      # fetch fault
    expect += [5, sym["site_lw_fault2"], bad, MST]             # load fault behind a store
    expect += [0x5A5A5A5A, 0x5A5A5A5A]
    expect += [0x12345678, 0x12345678, 0x0F0F0F0F, 0xFF0F0F0F, 0xFF0F0F00, 21, 31, 30,
               0x80000100, 0x80000122, 0x40001104, 0, 0, 0x888, 0, 0x1888, 0x1800,
               4, 1, 1, 100, 1, 0, 7, 0x1888]
    expect += [0xDEADBEEF] * (128 - len(expect))
    return {"elf": str(elf), "check": "signature", "expect": expect}


#: Cycles between two mcycle reads around 16 repetitions of each block of
#: tb/core/asm/hazards.S (1 = the back-to-back reads themselves): the hazard
#: table of docs/core.md, measured.
HAZARD_CYCLES = {
    "empty": 1, "alu_chain": 17, "load_use": 49, "load_indep": 33, "fwd_taken": 33,
    "fwd_not_taken": 17, "jal": 17, "jalr": 49, "mul_chain": 17, "csr_use": 49,
    "compressed": 17, "straddle": 18, "loop16": 34,
    "loop16_odd": 50,
}


def hazards_program(cfg=CFG) -> dict:
    src = Path(__file__).parent / "asm" / "hazards.S"
    elf = link_asm(src, WORK / "directed" / "hazards.elf", cfg)
    return {"elf": str(elf), "check": "signature", "expect": list(HAZARD_CYCLES.values())}


C_PROGRAMS = ["hello", "sort", "crc", "matmul", "strings", "divide"]


def c_program_jobs(stall=0, cfg=CFG) -> list:
    from tessera.sw.bench.cpu.build import build_all
    from tessera.sim.golden.cpu_programs import expected_console
    elfs = build_all(cfg, WORK / "c", C_PROGRAMS)
    return [{"elf": str(elfs[name]), "check": "console", "console": expected_console(name),
             "stall": stall, "max_cycles": 3_000_000} for name in C_PROGRAMS]


def test_directed_traps_csrs_and_c_programs():
    """Every trap cause and the CSR rules, hazard cycle costs (signatures), then C programs."""
    jobs = [traps_and_csrs_program(), {**traps_and_csrs_program(), "stall": 128}, hazards_program()]
    jobs += c_program_jobs()
    result = _run_job(jobs, "directed")
    print(f"directed + C programs: {result['instructions']} instructions retired")
