"""BridgedChip: the whole tiny chip behind the UART bridge, driven pin to pin in the Amaranth simulator.

About a minute and a half of simulation (the chip runs at ~70 cycles per
wall second in the Amaranth simulator): one acknowledged write and one read
of a tile's L1 through the serial pins, their responses back as EJECT
frames, then a RESET.
"""

from __future__ import annotations

import pytest
from amaranth.sim import Simulator

from tessera.hw.blocks import block
from tessera.hw.chip.bridge_protocol import Op, encode_frame, packet_body, parse_packet_body
from tessera.hw.chip.bridged_chip import BridgedChip
from tessera.hw.chip.host_bridge import LEDS, HostBridge
from tessera.hw.noc.layout import Command, MessageClass, NocFormat
from tb.bridge.bridge_bench import CFG, DIVISOR, split_frames
from tb.bridge.uart_model import LineDecoder, drive_bytes


def test_blocks_are_registered():
    assert isinstance(block("host_bridge").build(CFG), HostBridge)
    chip = block("bridged_chip").build(CFG, clocks_per_bit=DIVISOR)
    assert isinstance(chip, BridgedChip) and chip.clocks_per_bit == DIVISOR
    assert not block("bridged_chip").in_all, "the whole chip is not part of `--block all`"
    with pytest.raises(TypeError, match="TesseraConfig, got 3"):
        BridgedChip(3)


@pytest.mark.slow
def test_write_read_and_reset_through_the_serial_pins():
    cfg, noc = CFG, CFG.noc
    fmt = NocFormat(noc)
    tile = cfg.nodes_of("tensix")[0]
    host = cfg.host
    addr = cfg.l1.base + 0x5000
    data = bytes(range(0xA0, 0xA8))
    dut = BridgedChip(cfg, clocks_per_bit=DIVISOR)
    line = LineDecoder(dut.uart_tx, DIVISOR)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    def request(cmd, txn, payload):
        flits = fmt.packet(payload, cls=int(MessageClass.REQUEST), cmd=int(cmd), dst_x=tile.x, dst_y=tile.y,
                           src_x=host.x, src_y=host.y, txn=txn, addr=addr)
        return packet_body(int(MessageClass.REQUEST), [w for w, _h, _t in flits], noc.flit_bytes)

    async def frames(ctx, count):
        for _ in range(20_000):
            got = split_frames(bytes(line.data), partial=True)
            if len(got) >= count:
                return got
            await ctx.tick()
        raise AssertionError(f"no {count} frames: {bytes(line.data).hex()}")

    def ejected(frame):
        op, _seq, body = frame
        assert op == Op.EJECT, frame
        cls, words = parse_packet_body(body, noc.flit_bytes)
        return cls, *fmt.parse(words)

    async def bench(ctx):
        ctx.set(dut.uart_rx, 1)
        await ctx.tick().repeat(5)
        await drive_bytes(ctx, dut.uart_rx, list(encode_frame(Op.PACKET, 1, request(Command.WRITE_ACKED, 1, data))),
                          DIVISOR)
        got = await frames(ctx, 2)
        assert got[0] == (Op.ACK, 1, b"")
        cls, header, _payload = ejected(got[1])
        assert cls == MessageClass.RESPONSE and header["cmd"] == Command.WRITE_ACK and header["txn"] == 1

        read = (0).to_bytes(4, "little") + len(data).to_bytes(4, "little")
        await drive_bytes(ctx, dut.uart_rx, list(encode_frame(Op.PACKET, 2, request(Command.READ, 2, read))),
                          DIVISOR)
        got = await frames(ctx, 4)
        assert got[2] == (Op.ACK, 2, b"")
        cls, header, payload = ejected(got[3])
        assert header["cmd"] == Command.READ_RESP and payload == data
        assert [seq for _op, seq, _body in (got[1], got[3])] == [0, 1]

        await drive_bytes(ctx, dut.uart_rx, list(encode_frame(Op.RESET, 3)), DIVISOR)
        lit = 0
        for _ in range(2000):
            _, _, leds = await ctx.tick().sample(dut.leds)
            lit |= leds
            if len(split_frames(bytes(line.data), partial=True)) == 5:
                break
        assert split_frames(bytes(line.data))[4] == (Op.ACK, 3, b"")
        assert lit & (1 << LEDS.index("chip_reset"))
        assert not line.errors, line.errors[:3]

    sim.add_testbench(line.process, background=True)
    sim.add_testbench(bench)
    sim.run()


def test_exported_bridge_and_uarts_have_no_input_less_always_blocks():
    """Verilator never runs an ``always @*`` block that reads no signal (docs/chip.md section 9);
    the bridge and the UARTs must export without one."""
    import re

    from amaranth.back import verilog

    from tessera.hw.chip.uart import UartRx, UartTx
    for component in (HostBridge(CFG), UartRx(CFG), UartTx(CFG)):
        lines = verilog.convert(component, emit_src=False).splitlines()
        bad = [lines[i + 1].strip() for i, line in enumerate(lines[:-1])
               if line.strip() == "always @*" and re.fullmatch(r"[\w\\$.\[\]: ]+= \d+'[hbd][0-9a-fA-F_]+;",
                                                               lines[i + 1].strip())]
        assert not bad, f"{type(component).__name__}: input-less always blocks: {bad[:5]}"
