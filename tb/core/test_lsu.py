"""The load-store unit in the Amaranth simulator against a Python model of RV32 loads and stores.

Every width at every byte offset: alignment (misaligned halfwords and words
never reach the bus), byte lanes and replicated store data, the request
handshake gating, and in W the alignment and sign/zero extension of load
data, the wait for the response and bus errors.
"""

import itertools
import random

from tessera.hw.core.isa import MemWidth
from tessera.hw.core.lsu import LoadStoreUnit
from tb.core.unit_sim import simulate

M32 = 0xFFFF_FFFF
SEED = 77
SIZE_BYTES = {MemWidth.B: 1, MemWidth.BU: 1, MemWidth.H: 2, MemWidth.HU: 2, MemWidth.W: 4}
STORE_WIDTHS = (MemWidth.B, MemWidth.H, MemWidth.W)


def is_misaligned(width, addr):
    return addr % SIZE_BYTES[width] != 0


def lanes(width, addr):
    return ((1 << SIZE_BYTES[width]) - 1) << (addr & 3)


def store_word(width, value):
    """The store value on the byte lanes of every possible offset (the bus word)."""
    size = SIZE_BYTES[width]
    unit = value & ((1 << (8 * size)) - 1)
    return sum(unit << (8 * size * i) for i in range(4 // size))


def load_value(width, addr, word):
    size = SIZE_BYTES[width]
    raw = (word >> (8 * (addr & 3))) & ((1 << (8 * size)) - 1)
    if width in (MemWidth.B, MemWidth.H) and raw >> (8 * size - 1):
        raw -= 1 << (8 * size)
    return raw & M32


def _run(bench):
    simulate(LoadStoreUnit(), bench, clocked=False)


def test_x_stage_alignment_lanes_and_request():
    rng = random.Random(SEED)
    kinds = [("load", w) for w in SIZE_BYTES] + [("store", w) for w in STORE_WIDTHS]

    async def bench(ctx, dut):
        for (kind, width), offset in itertools.product(kinds, range(4)):
            for _ in range(4):
                addr = (rng.getrandbits(30) << 2) | offset
                data = rng.getrandbits(32)
                valid, stall, trap, ready = (rng.getrandbits(1) for _ in range(4))
                for port, value in ((dut.x_load, kind == "load"), (dut.x_store, kind == "store"),
                                    (dut.x_width, width.value), (dut.x_addr, addr),
                                    (dut.x_store_data, data), (dut.x_valid, valid),
                                    (dut.x_stall, stall), (dut.x_trap, trap),
                                    (dut.dbus.req.ready, ready)):
                    ctx.set(port, value)
                case = f"{kind} {width.name} at {addr:#x} valid={valid} stall={stall} trap={trap}"
                misaligned = is_misaligned(width, addr)
                access = not trap and not misaligned
                assert ctx.get(dut.x_misaligned) == (not trap and misaligned), case
                assert ctx.get(dut.x_access) == access, case
                assert ctx.get(dut.x_ready) == ready, case
                assert ctx.get(dut.dbus.req.valid) == (valid and access and not stall), case
                if access:
                    assert ctx.get(dut.x_mask) == lanes(width, addr), case
                    assert ctx.get(dut.dbus.req.payload.mask) == lanes(width, addr), case
                    assert ctx.get(dut.dbus.req.payload.addr) == addr, case
                    assert ctx.get(dut.dbus.req.payload.we) == (kind == "store"), case
                    if kind == "store":
                        assert ctx.get(dut.x_wdata) == store_word(width, data), case
                        assert ctx.get(dut.dbus.req.payload.wdata) == store_word(width, data), case

    _run(bench)


def test_no_access_for_other_instructions():
    async def bench(ctx, dut):
        ctx.set(dut.x_valid, 1)
        ctx.set(dut.x_addr, 0x1001)              # misaligned for any width but a byte
        for width in MemWidth:
            ctx.set(dut.x_width, width.value)
            assert not ctx.get(dut.x_access)
            assert not ctx.get(dut.x_misaligned), "only loads and stores check alignment"
            assert not ctx.get(dut.dbus.req.valid)

    _run(bench)


def test_w_stage_load_data_extension():
    rng = random.Random(SEED + 1)
    words = [0x8081_8283, 0x7F7E_7D7C, 0xFFFF_0000, 0x0000_FFFF, 0x8000_7FFF]
    words += [rng.getrandbits(32) for _ in range(20)]

    async def bench(ctx, dut):
        ctx.set(dut.w_valid, 1)
        ctx.set(dut.w_load, 1)
        ctx.set(dut.dbus.resp.valid, 1)
        for width, offset, word in itertools.product(SIZE_BYTES, range(4), words):
            if is_misaligned(width, offset):
                continue
            addr = (rng.getrandbits(30) << 2) | offset
            ctx.set(dut.w_width, width.value)
            ctx.set(dut.w_addr, addr)
            ctx.set(dut.dbus.resp.rdata, word)
            expected = load_value(width, addr, word)
            assert ctx.get(dut.w_load_data) == expected, \
                f"{width.name} at {addr:#x} of {word:#010x}: got {ctx.get(dut.w_load_data):#x}, expected {expected:#x}"
            assert ctx.get(dut.w_rdata) == word

    _run(bench)


def test_w_stage_waits_for_the_response_and_reports_errors():
    async def bench(ctx, dut):
        for valid, load, store, trap, resp_valid, err in itertools.product((0, 1), repeat=6):
            if load and store:
                continue
            for port, value in ((dut.w_valid, valid), (dut.w_load, load), (dut.w_store, store),
                                (dut.w_trap, trap), (dut.dbus.resp.valid, resp_valid),
                                (dut.dbus.resp.err, err)):
                ctx.set(port, value)
            access = (load or store) and not trap
            case = f"valid={valid} load={load} store={store} trap={trap} resp={resp_valid} err={err}"
            assert ctx.get(dut.w_access) == access, case
            assert ctx.get(dut.w_busy) == (valid and access and not resp_valid), case
            assert ctx.get(dut.w_error) == (access and err), case

    _run(bench)
