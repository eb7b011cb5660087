"""Random RV32IMC instruction streams, as assembly, for lock-step checking.

A program initialises every register with random (and corner) values, then
runs a random mix of every RV32IMC instruction except the trapping ones:

* loads and stores address a 4 KiB data region through ``sp`` and ``s0``,
  which the stream never overwrites (``sp``/``s0`` point at its middle), so
  every access stays inside and is naturally aligned;
* branches and jumps (``jal``, ``jalr``, ``c.j``, ``c.jal``, ``c.jr``,
  ``c.jalr``, ``c.beqz``, ``c.bnez`` and the six 32-bit branches) only go
  forward, a few instructions ahead, and never leave the program;
* backward branches come from small counted loops on ``s1`` (reserved), so
  predicted-taken loop branches and their final not-taken exits are
  exercised too.

Compressed instructions are written with explicit ``c.`` mnemonics (the file
is assembled with ``.option norvc``, so 32-bit forms stay 32-bit).
"""

from __future__ import annotations

import random

__all__ = ["generate_program", "ALL_MNEMONICS"]

RESERVED = {2, 8, 9}          # sp, s0: data pointers; s1: loop counter
DEST = [r for r in range(32) if r not in RESERVED]
DEST_C = [10, 11, 12, 13, 14, 15]         # rd' choices not reserved
SRC_C = list(range(8, 16))

R_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
         "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"]
I_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi"]
SHIFT_I = ["slli", "srli", "srai"]
LOADS = {"lb": 1, "lh": 2, "lw": 4, "lbu": 1, "lhu": 2}
STORES = {"sb": 1, "sh": 2, "sw": 4}
BRANCHES = ["beq", "bne", "blt", "bge", "bltu", "bgeu"]
C_ALU = ["c.addi", "c.li", "c.lui", "c.slli", "c.srli", "c.srai", "c.andi", "c.mv", "c.add",
         "c.sub", "c.xor", "c.or", "c.and", "c.nop", "c.addi4spn", "c.addi16sp"]
C_MEM = ["c.lw", "c.sw", "c.lwsp", "c.swsp"]
C_CTRL = ["c.j", "c.jal", "c.jr", "c.jalr", "c.beqz", "c.bnez"]
OTHER = ["lui", "auipc", "jal", "jalr", "fence", "fence.i"]
ALL_MNEMONICS = sorted(set(R_OPS + I_OPS + SHIFT_I + list(LOADS) + list(STORES) + BRANCHES +
                           C_ALU + C_MEM + C_CTRL + OTHER))

CORNER = [0, 1, 2, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0xFFFF8000, 0x00008000, 0xFF, 0x80]


def _x(r):
    return f"x{r}"


class _Builder:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lines: list = []
        self.pending: dict = {}   # instruction index -> [labels]
        self.index = 0
        self.label_no = 0
        self.used: set = set()

    def emit(self, text, mnemonic, compressed=False):
        for label in self.pending.pop(self.index, []):
            self.lines.append(f"{label}:")
        if compressed:
            self.lines += ["\t.option rvc", f"\t{text}", "\t.option norvc"]
        else:
            self.lines.append(f"\t{text}")
        self.used.add(mnemonic)
        self.index += 1

    def forward_label(self, min_skip=0, max_skip=5):
        """A label placed a few instructions ahead."""
        self.label_no += 1
        name = f"L{self.label_no}"
        self.pending.setdefault(self.index + 1 + self.rng.randint(min_skip, max_skip), []).append(name)
        return name

    def glue_next(self):
        """Keep branch targets off the next instruction (it must follow the last one)."""
        moved = self.pending.pop(self.index, [])
        if moved:
            self.pending.setdefault(self.index + 1, []).extend(moved)

    def flush_labels(self):
        for idx in sorted(self.pending):
            for label in self.pending[idx]:
                self.lines.append(f"{label}:")
        self.pending.clear()

    # ---- random operands ----
    def value(self):
        rng = self.rng
        return rng.choice(CORNER) if rng.random() < 0.25 else rng.getrandbits(32)

    def imm12(self):
        rng = self.rng
        return rng.choice([0, 1, -1, 2047, -2048, 4, -4]) if rng.random() < 0.2 else rng.randint(-2048, 2047)

    def src(self):
        return self.rng.randrange(32)

    def dst(self):
        return self.rng.choice(DEST)


def _straight(b: _Builder, allow_control: bool):
    """One random instruction (or a short idiom); control flow only forward."""
    rng = b.rng
    kind = rng.random()
    if kind < 0.22:
        op = rng.choice(R_OPS)
        b.emit(f"{op} {_x(b.dst())}, {_x(b.src())}, {_x(b.src())}", op)
    elif kind < 0.34:
        op = rng.choice(I_OPS)
        b.emit(f"{op} {_x(b.dst())}, {_x(b.src())}, {b.imm12()}", op)
    elif kind < 0.39:
        op = rng.choice(SHIFT_I)
        b.emit(f"{op} {_x(b.dst())}, {_x(b.src())}, {rng.randrange(32)}", op)
    elif kind < 0.42:
        op = rng.choice(["lui", "auipc"])
        b.emit(f"{op} {_x(b.dst())}, {rng.getrandbits(20)}", op)
    elif kind < 0.52:
        op = rng.choice(list(LOADS))
        size = LOADS[op]
        off = rng.randrange(-2048 // size, 2048 // size) * size
        b.emit(f"{op} {_x(b.dst())}, {off}({_x(rng.choice([2, 8]))})", op)
    elif kind < 0.60:
        op = rng.choice(list(STORES))
        size = STORES[op]
        off = rng.randrange(-2048 // size, 2048 // size) * size
        b.emit(f"{op} {_x(b.src())}, {off}({_x(rng.choice([2, 8]))})", op)
    elif kind < 0.82:
        _compressed(b, allow_control)
    elif kind < 0.84:
        op = rng.choice(["fence", "fence.i"])
        b.emit(op, op)
    elif allow_control:
        _control(b)
    else:
        op = rng.choice(R_OPS)
        b.emit(f"{op} {_x(b.dst())}, {_x(b.src())}, {_x(b.src())}", op)


#: Operands of each compressed instruction but c.addi16sp and the control transfers, drawn from
#: ``rng`` given ``rd`` (a writable register, not x0) and ``rdp`` (an rd' register, x10-x15).
_C_OPERANDS = {
    "c.addi": lambda rng, rd, rdp: f"{_x(rd)}, {rng.choice([i for i in range(-32, 32) if i])}",
    "c.li": lambda rng, rd, rdp: f"{_x(rd)}, {rng.randint(-32, 31)}",
    "c.lui": lambda rng, rd, rdp: (f"{_x(rng.choice([r for r in DEST if r not in (0, 2)]))}, "
                                   f"{rng.choice(list(range(1, 32)) + list(range(0xFFFE0, 0x100000)))}"),
    "c.slli": lambda rng, rd, rdp: f"{_x(rd)}, {rng.randint(1, 31)}",
    "c.srli": lambda rng, rd, rdp: f"{_x(rdp)}, {rng.randint(1, 31)}",
    "c.srai": lambda rng, rd, rdp: f"{_x(rdp)}, {rng.randint(1, 31)}",
    "c.andi": lambda rng, rd, rdp: f"{_x(rdp)}, {rng.randint(-32, 31)}",
    "c.mv": lambda rng, rd, rdp: f"{_x(rd)}, {_x(rng.randint(1, 31))}",
    "c.add": lambda rng, rd, rdp: f"{_x(rd)}, {_x(rng.randint(1, 31))}",
    **{op: (lambda rng, rd, rdp: f"{_x(rdp)}, {_x(rng.choice(SRC_C))}")
       for op in ("c.sub", "c.xor", "c.or", "c.and")},
    "c.nop": lambda rng, rd, rdp: "",
    "c.addi4spn": lambda rng, rd, rdp: f"{_x(rdp)}, sp, {rng.randint(1, 255) * 4}",
    "c.lw": lambda rng, rd, rdp: f"{_x(rdp)}, {rng.randrange(32) * 4}(x8)",
    "c.sw": lambda rng, rd, rdp: f"{_x(rng.choice(SRC_C))}, {rng.randrange(32) * 4}(x8)",
    "c.lwsp": lambda rng, rd, rdp: f"{_x(rd)}, {rng.randrange(64) * 4}(sp)",
    "c.swsp": lambda rng, rd, rdp: f"{_x(rng.randrange(32))}, {rng.randrange(64) * 4}(sp)",
}


def _compressed(b: _Builder, allow_control: bool):
    rng = b.rng
    choices = C_ALU + C_MEM + (C_CTRL if allow_control else [])
    op = rng.choice(choices)
    rd = rng.choice([r for r in DEST if r != 0])
    rdp = rng.choice(DEST_C)
    if op in _C_OPERANDS:
        operands = _C_OPERANDS[op](rng, rd, rdp)
        b.emit(f"{op} {operands}" if operands else op, op, True)
    elif op == "c.addi16sp":
        # Move sp and immediately move it back: sp stays the data pointer.
        step = rng.choice([i for i in range(-31, 32) if i]) * 16
        b.emit(f"c.addi16sp sp, {step}", op, True)
        b.glue_next()
        b.emit(f"c.addi16sp sp, {-step}", op, True)
    else:
        _control(b, op)


def _control(b: _Builder, op=None):
    rng = b.rng
    op = op or rng.choice(BRANCHES + ["jal", "jalr"] + C_CTRL)
    if op in BRANCHES:
        b.emit(f"{op} {_x(b.src())}, {_x(b.src())}, {b.forward_label()}", op)
    elif op == "jal":
        b.emit(f"jal {_x(b.dst())}, {b.forward_label()}", op)
    elif op in ("c.j", "c.jal"):
        b.emit(f"{op} {b.forward_label()}", op, True)
    elif op in ("c.beqz", "c.bnez"):
        b.emit(f"{op} {_x(rng.choice(SRC_C))}, {b.forward_label()}", op, True)
    else:  # jalr / c.jr / c.jalr through a register loaded with the target
        t = rng.choice([r for r in DEST if r not in (0, 1)])
        label = b.forward_label(min_skip=1, max_skip=5)  # skip over the la's addi
        for pending in b.pending.pop(b.index, []):
            b.lines.append(f"{pending}:")
        b.lines.append(f"\tla {_x(t)}, {label}")
        b.index += 1  # `la` (auipc + addi) takes one slot before the jump
        b.glue_next()
        if op == "jalr":
            rd = rng.choice([b.dst(), t])
            b.emit(f"jalr {_x(rd)}, 0({_x(t)})", op)
        else:
            b.emit(f"{op} {_x(t)}", op, True)


def generate_program(seed: int, length: int) -> tuple:
    """Assembly text of a random program of about ``length`` instructions.

    Returns ``(text, mnemonics_used)``.
    """
    rng = random.Random(seed)
    b = _Builder(rng)
    out = ["\t.option norvc", "\t.option norelax", "\t.section .text.init, \"ax\"",
           "\t.globl _start", "_start:", "\tla sp, data_region + 2048", "\tla s0, data_region + 2048"]
    for r in DEST:
        if r:
            out.append(f"\tli {_x(r)}, {b.value():#x}")
    while b.index < length:
        if rng.random() < 0.03:
            # A counted loop: backward branch taken n-1 times.
            b.flush_labels()
            b.label_no += 1
            top = f"LOOP{b.label_no}"
            b.lines.append(f"\tli x9, {rng.randint(1, 4)}")
            b.lines.append(f"{top}:")
            for _ in range(rng.randint(2, 8)):
                _straight(b, allow_control=False)
            if rng.random() < 0.5:
                b.emit("addi x9, x9, -1", "addi")
                b.emit(f"bne x9, x0, {top}", "bne")
            else:
                b.emit("c.addi x9, -1", "c.addi", True)
                b.emit(f"c.bnez x9, {top}", "c.bnez", True)
        else:
            _straight(b, allow_control=True)
    b.flush_labels()
    out += b.lines
    out += ["\tla x5, tohost", "\tli x6, 1", "\tsw x6, 0(x5)", "1:\tj 1b",
            "\t.section .data", "\t.balign 4096", "data_region:"]
    out += [f"\t.word {rng.getrandbits(32):#x}" for _ in range(1024)]
    out += ["\t.section .tohost, \"aw\", @progbits", "\t.balign 8", "\t.globl tohost",
            "tohost:", "\t.dword 0"]
    return "\n".join(out) + "\n", b.used
