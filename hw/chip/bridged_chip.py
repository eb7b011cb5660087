"""The chip behind its host bridge: what goes on an FPGA board with a UART to the host computer.

``uart_rx`` / ``uart_tx`` are the serial pins (8N1 at ``cfg.host_link.baud``,
hw/chip/uart.py), ``leds`` the bridge's status lights (hw/chip/host_bridge.py
says what each shows).  The chip's host ports, debug array and
``bad_packets`` are wired to the :class:`~tessera.hw.chip.host_bridge.HostBridge`;
the chip's clock domain is reset by the bridge's ``chip_reset`` as well as by
the board's reset, so a ``RESET`` request restarts the chip and not the link.
The chip's consoles and DRAM backdoors pass through as ports (plain wiring;
a board without a use for a console ties its ``ready`` high, or a core that
prints waits for it).
"""

from __future__ import annotations

from amaranth.hdl import Module, ResetInserter, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.chip import Chip
from tessera.hw.chip.dram import dram_memory_config
from tessera.hw.chip.host_bridge import LEDS, HostBridge
from tessera.hw.chip.uart import UartRx, UartTx, uart_divisor
from tessera.hw.config import TesseraConfig
from tessera.hw.tile.l1_port import L1PortSignature

__all__ = ["BridgedChip", "build_bridged_chip"]


class BridgedChip(wiring.Component):
    """:class:`~tessera.hw.chip.chip.Chip` + UART + :class:`~tessera.hw.chip.host_bridge.HostBridge`.

    ``clocks_per_bit``: the UART divisor (``cfg.host_link``'s when not given)."""

    def __init__(self, cfg: TesseraConfig, *, clocks_per_bit: int | None = None):
        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"BridgedChip needs a TesseraConfig, got {cfg!r}")
        self.cfg = cfg
        self.clocks_per_bit = uart_divisor(cfg, clocks_per_bit)
        tiles, drams = len(cfg.nodes_of("tensix")), len(cfg.nodes_of("dram"))
        sig = {
            "uart_rx": In(1, init=1),
            "uart_tx": Out(1, init=1),
            "leds": Out(len(LEDS)),
            "console": Out(stream.Signature(unsigned(8))).array(tiles),
        }
        if drams:
            sig["dram_backdoor"] = In(L1PortSignature(dram_memory_config(cfg))).array(drams)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        cfg, noc = self.cfg, self.cfg.noc
        m.submodules.uart_rx = rx = UartRx(divisor=self.clocks_per_bit)
        m.submodules.uart_tx = tx = UartTx(divisor=self.clocks_per_bit)
        m.submodules.bridge = bridge = HostBridge(cfg, clocks_per_bit=self.clocks_per_bit)
        chip = Chip(cfg)
        m.submodules.chip = ResetInserter({"sync": bridge.chip_reset})(chip)

        m.d.comb += [rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx), self.leds.eq(bridge.leds),
                     bridge.bad_packets.eq(chip.bad_packets)]
        wiring.connect(m, rx.o, bridge.rx_bytes)
        wiring.connect(m, bridge.tx_bytes, tx.i)
        for c in range(noc.num_classes):
            wiring.connect(m, bridge.host_inject[c], chip.host_inject[c])
            wiring.connect(m, chip.host_eject[c], bridge.host_eject[c])
        for t in range(len(chip.tiles)):
            for c in range(len(cfg.cores)):
                wiring.connect(m, chip.debug[t][c], bridge.debug[t][c])
            wiring.connect(m, chip.console[t], wiring.flipped(self.console[t]))
        for d in range(len(chip.drams)):
            wiring.connect(m, wiring.flipped(self.dram_backdoor[d]), chip.dram_backdoor[d])
        return m


def build_bridged_chip(cfg: TesseraConfig, **params):
    """Block factory: the chip of ``cfg`` behind its UART host bridge."""
    return BridgedChip(cfg, **params)
