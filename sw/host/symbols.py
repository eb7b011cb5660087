"""Where a core is in its kernel: PC -> function, inlined calls and source lines (DWARF of the ELF).

Kernels are built with ``-g`` at ``-O2``, so the dataflow API's waits
(``noc_async_read_barrier``, ``cb_wait_front``, ``noc_semaphore_wait``) are
inlined into ``main``; the function symbol alone would say ``main+0x3c``.
:class:`ElfSymbols` also reads the line table and the inlined-subroutine
entries, so a hang report says ``cb_wait_front (tessera_cb.h:96) in main
(writer.c:31)``: what the core waits on, and where.
"""

from __future__ import annotations

import bisect
from pathlib import Path

__all__ = ["ElfSymbols"]


class ElfSymbols:
    def __init__(self, path):
        from elftools.elf.elffile import ELFFile

        self.path = Path(path)
        self.funcs = []       # (start, end, name)
        self.rows = []        # (addr, file, line) sorted by addr
        self.inlined = []     # (low, high, depth, name, call file, call line)
        with open(self.path, "rb") as handle:
            elf = ELFFile(handle)
            symtab = elf.get_section_by_name(".symtab")
            if symtab is not None:
                for sym in symtab.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"]:
                        self.funcs.append((sym["st_value"], sym["st_value"] + sym["st_size"], sym.name))
            if elf.has_dwarf_info():
                try:
                    self._read_dwarf(elf.get_dwarf_info())
                except Exception:  # noqa: BLE001 - a report without lines is still a report
                    self.rows, self.inlined = [], []
        self.rows.sort(key=lambda row: row[0])  # stable: of rows at one address, the last in program order wins
        self.row_addrs = [r[0] for r in self.rows]

    @staticmethod
    def _file_name(lineprog, index) -> str:
        entries = lineprog["file_entry"]
        i = index if lineprog.header.version >= 5 else index - 1
        if 0 <= i < len(entries):
            name = entries[i].name
            return Path(name.decode(errors="replace") if isinstance(name, bytes) else str(name)).name
        return "?"

    def _read_dwarf(self, dwarf) -> None:
        range_lists = None
        for cu in dwarf.iter_CUs():
            lineprog = dwarf.line_program_for_CU(cu)
            if lineprog is not None:
                for entry in lineprog.get_entries():
                    state = entry.state
                    if state is not None and not state.end_sequence:
                        self.rows.append((state.address, self._file_name(lineprog, state.file), state.line))
            top = cu.get_top_DIE()
            stack = [(top, 0)]
            while stack:
                die, depth = stack.pop()
                if die.tag == "DW_TAG_inlined_subroutine":
                    name = self._origin_name(die)
                    call_file = die.attributes.get("DW_AT_call_file")
                    call_line = die.attributes.get("DW_AT_call_line")
                    file = self._file_name(lineprog, call_file.value) if (call_file and lineprog) else "?"
                    for low, high in self._ranges(dwarf, die, range_lists):
                        self.inlined.append((low, high, depth, name, file, call_line.value if call_line else 0))
                for child in die.iter_children():
                    stack.append((child, depth + 1))

    @staticmethod
    def _origin_name(die) -> str:
        seen = 0
        while "DW_AT_name" not in die.attributes and "DW_AT_abstract_origin" in die.attributes and seen < 8:
            die = die.get_DIE_from_attribute("DW_AT_abstract_origin")
            seen += 1
        name = die.attributes.get("DW_AT_name")
        if name is None:
            return "?"
        value = name.value
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

    @staticmethod
    def _ranges(dwarf, die, _cache) -> list:
        attrs = die.attributes
        if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
            low = attrs["DW_AT_low_pc"].value
            high = attrs["DW_AT_high_pc"]
            end = high.value if high.form == "DW_FORM_addr" else low + high.value
            return [(low, end)]
        if "DW_AT_ranges" in attrs:
            lists = dwarf.range_lists()
            if lists is None:
                return []
            base = die.cu.get_top_DIE().attributes.get("DW_AT_low_pc")
            base = base.value if base else 0
            out = []
            for entry in lists.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=die.cu):
                if hasattr(entry, "begin_offset"):
                    if getattr(entry, "is_absolute", False):
                        out.append((entry.begin_offset, entry.end_offset))
                    else:
                        out.append((base + entry.begin_offset, base + entry.end_offset))
                elif hasattr(entry, "base_address"):
                    base = entry.base_address
            return out
        return []

    def function(self, pc: int) -> str:
        for start, end, name in self.funcs:
            if start <= pc < end:
                return f"{name}+{pc - start:#x}"
        return "?"

    def line(self, pc: int):
        i = bisect.bisect_right(self.row_addrs, pc) - 1
        if i < 0:
            return None
        _, file, line = self.rows[i]
        return file, line

    def describe(self, pc: int) -> str:
        """``func+off: inner (file:line) in outer (file:line) ...`` for ``pc``."""
        text = self.function(pc)
        where = self.line(pc)
        chain = sorted((e for e in self.inlined if e[0] <= pc < e[1]), key=lambda e: -e[2])
        if where is None:
            return text
        parts = []
        file, line = where
        for _low, _high, _depth, name, call_file, call_line in chain:
            parts.append(f"{name} ({file}:{line})")
            file, line = call_file, call_line
        outer = text.split("+")[0]
        parts.append(f"{outer} ({file}:{line})")
        return f"{text}: " + " in ".join(parts)
