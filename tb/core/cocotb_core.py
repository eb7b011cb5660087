"""cocotb tests of the RV32IMC core on the run-elf system.

The job file (TESSERA_CORE_JOB) lists ELF programs prepared by the pytest
wrapper (tb/core/test_core.py) and what to check for each:

* ``lockstep``: every retire of the DUT is checked against the ``unicorn``
  emulator stepped one instruction at a time (pc, rd value, stored bytes;
  and at the end every register's last written value);
* ``signature``: the words between begin_signature and end_signature must
  equal ``expect`` (directed trap and CSR tests);
* ``console``: the console output and the exit code must match.
"""

import json
import os

import cocotb
from cocotb.triggers import FallingEdge, First, RisingEdge, Timer
from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV32, Uc
from unicorn.riscv_const import UC_RISCV_REG_PC, UC_RISCV_REG_X0

from tessera.hw.config import TesseraConfig
from tessera.sim.cocotb_util import CLOCK_PERIOD_NS, load_config, reset, start_clock
from tessera.sim.runelf.cocotb_runelf import console_reader, load_words, read_words, wait_ready
from tessera.sim.runelf.elf import load_elf


async def start_program(dut, image, stall):
    await FallingEdge(dut.clk)
    dut.run.value = 0
    dut.host_we.value = 0
    dut.stall.value = stall
    dut.tohost_addr.value = image.tohost
    dut.reset_pc.value = image.entry
    await reset(dut)
    await wait_ready(dut)
    await load_words(dut, sorted(image.words.items()))
    await FallingEdge(dut.clk)
    dut.run.value = 1


async def collect_trace(dut, max_cycles):
    """Every retire until the tohost store: (pc, insn, trap, cause, rd, value, wmask, addr, wdata)."""
    records = []
    packed, clk = dut.trace_packed, dut.clk
    M32 = 0xFFFF_FFFF
    for _ in range(max_cycles):
        await FallingEdge(clk)
        v = int(packed.value)
        if v & 1:
            rec = ((v >> 1) & M32, (v >> 33) & M32, (v >> 65) & 1, (v >> 66) & 15, (v >> 70) & 31,
                   (v >> 75) & M32, (v >> 107) & 15, (v >> 111) & M32, (v >> 143) & M32)
            records.append(rec)
            if rec[2]:
                return records  # a trap: the lock-step check reports where
        if v >> 175:
            return records
    raise AssertionError(f"no exit after {max_cycles} cycles; {len(records)} retired, "
                         f"last pc {records[-1][0]:#x}" if records else "nothing retired")


def make_unicorn(image, cfg):
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    uc.mem_map(cfg.runelf.ram_base, cfg.runelf.ram_bytes)
    for word_addr, value in image.words.items():
        uc.mem_write(word_addr, value.to_bytes(4, "little"))
    uc.reg_write(UC_RISCV_REG_PC, image.entry)
    return uc


def lockstep_check(uc, records, name):
    """Step unicorn along the DUT's retire records; raise at the first difference."""
    regs = [UC_RISCV_REG_X0 + i for i in range(32)]
    for n, (pc, insn, trap, cause, rd, value, wmask, addr, wdata) in enumerate(records):
        where = f"{name}: retire #{n} pc={pc:#010x} insn={insn:#010x}"
        assert not trap, f"{where}: unexpected trap, cause {cause}"
        upc = uc.reg_read(UC_RISCV_REG_PC)
        assert pc == upc, f"{where}: DUT pc {pc:#010x}, unicorn pc {upc:#010x}"
        uc.emu_start(upc, 0xFFFF_FFFF, count=1)
        if rd:
            expect = uc.reg_read(regs[rd]) & 0xFFFF_FFFF
            assert value == expect, f"{where}: x{rd} = {value:#010x}, unicorn {expect:#010x}"
        if wmask:
            mem = uc.mem_read(addr & ~3, 4)
            for lane in range(4):
                if wmask >> lane & 1:
                    got = wdata >> (8 * lane) & 0xFF
                    assert got == mem[lane], (f"{where}: store byte {lane} at {addr:#x} = {got:#04x}, "
                                              f"unicorn {mem[lane]:#04x}")
    return len(records)


def full_register_check(uc, records, name):
    """The last value the DUT wrote to each register equals unicorn's final register."""
    last = {}
    for rec in records:
        if rec[4]:
            last[rec[4]] = rec[5]
    for r, value in last.items():
        expect = uc.reg_read(UC_RISCV_REG_X0 + r) & 0xFFFF_FFFF
        assert value == expect, f"{name}: final x{r} = {value:#010x}, unicorn {expect:#010x}"


@cocotb.test()
async def programs(dut):
    """Run every program of the job and check it as the job says."""
    cfg = load_config()
    with open(os.environ["TESSERA_CORE_JOB"]) as handle:
        job = json.load(handle)
    start_clock(dut)
    total = 0
    for prog in job["programs"]:
        image = load_elf(prog["elf"], cfg)
        name = f"{os.path.basename(prog['elf'])} (stall {prog.get('stall', 0)})"
        await start_program(dut, image, prog.get("stall", 0))
        if prog["check"] == "lockstep":
            records = await collect_trace(dut, prog.get("max_cycles", 200_000))
            uc = make_unicorn(image, cfg)
            total += lockstep_check(uc, records, name)
            full_register_check(uc, records, name)
            dut._log.info("%s: %d instructions match unicorn", name, len(records))
        else:
            console = []
            reader = cocotb.start_soon(console_reader(dut, console))
            await First(RisingEdge(dut.done), Timer(prog.get("max_cycles", 2_000_000) * CLOCK_PERIOD_NS, unit="ns"))
            assert int(dut.done.value), f"{name}: no exit, last pc {int(dut.last_pc.value):#x}"
            exit_code = int(dut.exit_code.value)
            cycles, instret = int(dut.cycles.value), int(dut.instret.value)
            await FallingEdge(dut.clk)
            dut.run.value = 0
            reader.cancel()
            if prog["check"] == "console":
                text = bytes(console).decode("latin-1")
                assert text == prog["console"], f"{name}: console {text!r}, expected {prog['console']!r}"
            if prog["check"] == "signature":
                begin, end = image.signature_range()
                got = await read_words(dut, begin, (end - begin) // 4)
                expect = prog["expect"]
                bad = [(i, g, e) for i, (g, e) in enumerate(zip(got, expect)) if e is not None and g != e]
                assert len(got) == len(expect) and not bad, (
                    f"{name}: signature mismatch at words " +
                    ", ".join(f"{i}: got {g:#010x} expected {e:#010x}" for i, g, e in bad[:8]))
            assert exit_code == prog.get("exit_code", 0), f"{name}: exit code {exit_code}"
            dut._log.info("%s: ok, %d cycles, %d instret", name, cycles, instret)
            total += instret
    dut._log.info("total checked instructions: %d", total)
    with open(job["result"], "w") as handle:
        json.dump({"instructions": total}, handle)
