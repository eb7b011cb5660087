"""Unicorn model of the run-elf system, an independent check of toolchain-built programs.

Maps the run-elf RAM and the console register from the configuration, loads
the ELF's segments with pyelftools (not through the toolchain's own reader),
and runs until the program stores to ``tohost``.
"""

from __future__ import annotations

from dataclasses import dataclass

from elftools.elf.elffile import ELFFile
from unicorn import UC_ARCH_RISCV, UC_HOOK_MEM_WRITE, UC_MODE_RISCV32, Uc
from unicorn.riscv_const import UC_RISCV_REG_PC

from tessera.hw.config import TesseraConfig

PAGE = 0x1000


@dataclass
class RunResult:
    exit_code: int | None
    console: str
    tohost: int


class _Stores:
    """A unicorn store hook for one core: console bytes, MMIO stores inside ``mmio_ranges``
    (last value per address, and every store in order) and the exit word, which stops the core.

    Exit protocol: a store of ``code << 1 | 1`` to ``exit_addr`` (``tohost``)."""

    def __init__(self, console_addr: int, exit_addr: int, mmio_ranges=()):
        self.console_addr, self.exit_addr, self.mmio_ranges = console_addr, exit_addr, list(mmio_ranges)
        self.console = bytearray()
        self.mmio = {}
        self.log = []
        self.tohost = None

    def __call__(self, uc_, access, address, size, value, user_data):
        if address == self.console_addr:
            self.console.append(value & 0xFF)
        elif any(lo <= address < hi for lo, hi in self.mmio_ranges):
            self.mmio[address] = value & 0xFFFFFFFF
            self.log.append((address, value & 0xFFFFFFFF, size))
        elif address == self.exit_addr and value & 1:
            self.tohost = value & 0xFFFFFFFF
            uc_.emu_stop()

    @property
    def exit_code(self) -> int | None:
        return None if self.tohost is None else self.tohost >> 1

    @property
    def console_text(self) -> str:
        return self.console.decode(errors="replace")


def run_runelf(elf_path, cfg: TesseraConfig, max_instructions: int = 2_000_000) -> RunResult:
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    ram = cfg.runelf
    uc.mem_map(ram.ram_base, ram.ram_bytes)
    console_page = ram.console_addr & ~(PAGE - 1)
    uc.mem_map(console_page, PAGE)
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD":
                uc.mem_write(seg["p_paddr"], seg.data())
        entry = elf.header["e_entry"]
        tohost = elf.get_section_by_name(".symtab").get_symbol_by_name("tohost")[0]["st_value"]
    stores = _Stores(ram.console_addr, tohost)
    uc.hook_add(UC_HOOK_MEM_WRITE, stores)
    uc.emu_start(entry, 0xFFFFFFFF, count=max_instructions)
    return RunResult(stores.exit_code, stores.console_text, stores.tohost or 0)


@dataclass
class TileRun:
    exit_code: int | None
    console: str
    mmio_writes: dict
    #: Every MMIO store in program order: (address, value, size).
    mmio_log: list = None


def run_tile_core(chip, cfg: TesseraConfig, x: int, y: int, core: str, exit_addr: int,
                  max_instructions: int = 1_000_000) -> TileRun:
    """Run one core of a loaded :class:`~sw.toolchain.loader.ModelChip` tile in unicorn.

    L1 comes from the model chip (so what runs is exactly what the load plan
    wrote), the core starts at its ``reset_pc`` register, the tile_ctrl page
    answers ``tile_id``; console and other MMIO stores are recorded.
    """
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    uc.mem_map(cfg.l1.base, cfg.l1.size_bytes)
    uc.mem_write(cfg.l1.base, bytes(chip.l1[(x, y)]))
    local_bytes = max(c.local_mem_bytes for c in cfg.cores)
    uc.mem_map(cfg.local_mem_base, max(PAGE, local_bytes))
    ctrl = cfg.mmio.region("tile_ctrl")
    for region in cfg.mmio.regions:
        uc.mem_map(region.base, max(PAGE, region.size))
    uc.mem_write(ctrl.address("tile_id"), (x | (y << 8)).to_bytes(4, "little"))
    index = cfg.core_index(core)
    reset_pc = chip.register(x, y, "tile_ctrl", "reset_pc", index)
    assert reset_pc is not None, "load plan did not write the core's reset_pc"
    stores = _Stores(ctrl.address("console"), exit_addr, [(r.base, r.base + r.size) for r in cfg.mmio.regions])
    uc.hook_add(UC_HOOK_MEM_WRITE, stores)
    uc.emu_start(reset_pc, 0xFFFFFFFF, count=max_instructions)
    return TileRun(stores.exit_code, stores.console_text, stores.mmio, stores.log)


class TileCluster:
    """Several cores of one tile in unicorn, sharing one L1 (interleaved in seeded random quanta).

    Each core has its own local memory and its own view of the tile_ctrl page
    (console and MMIO stores recorded per core).  ``run`` raises if the cores
    have not all exited within ``max_instructions`` each (a deadlock).
    """

    def __init__(self, chip, cfg: TesseraConfig, x: int, y: int, cores: dict):
        import ctypes

        from unicorn import UC_PROT_ALL
        self.cfg = cfg
        self._l1 = (ctypes.c_ubyte * cfg.l1.size_bytes).from_buffer_copy(bytes(chip.l1[(x, y)]))
        ctrl = cfg.mmio.region("tile_ctrl")
        self.cores = {}
        for core, exit_addr in cores.items():
            uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
            uc.mem_map_ptr(cfg.l1.base, cfg.l1.size_bytes, UC_PROT_ALL, ctypes.addressof(self._l1))
            uc.mem_map(cfg.local_mem_base, max(PAGE, cfg.core(core).local_mem_bytes))
            uc.mem_map(ctrl.base, max(PAGE, ctrl.size))
            uc.mem_write(ctrl.address("tile_id"), (x | (y << 8)).to_bytes(4, "little"))
            stores = _Stores(ctrl.address("console"), exit_addr, [(ctrl.base, ctrl.base + ctrl.size)])
            uc.hook_add(UC_HOOK_MEM_WRITE, stores)
            state = {"pc": chip.register(x, y, "tile_ctrl", "reset_pc", cfg.core_index(core)),
                     "stores": stores, "steps": 0}
            self.cores[core] = (uc, state)

    def run(self, rng, max_quantum: int = 40, max_instructions: int = 2_000_000) -> dict:
        live = [c for c in self.cores]
        while live:
            core = live[rng.randrange(len(live))]
            uc, st = self.cores[core]
            quantum = rng.randint(1, max_quantum)
            uc.emu_start(st["pc"], 0xFFFFFFFF, count=quantum)
            st["pc"] = uc.reg_read(UC_RISCV_REG_PC)
            st["steps"] += quantum
            if st["stores"].exit_code is not None:
                live.remove(core)
            elif st["steps"] > max_instructions:
                raise AssertionError(f"core {core} did not exit within {max_instructions} instructions "
                                     f"(deadlock?) at pc {st['pc']:#x}")
        return {core: TileRun(st["stores"].exit_code, st["stores"].console_text, st["stores"].mmio)
                for core, (uc, st) in self.cores.items()}

    def l1(self) -> bytes:
        return bytes(self._l1)
