"""A simulated FPGA board: the bridged chip with the host computer's serial port on its pins.

:class:`SimulatedBoardTop` is what the board server
(:mod:`tessera.sim.chip.board_serve`) simulates: a
:class:`~tessera.hw.chip.bridged_chip.BridgedChip` (the board top of an FPGA
build, UART pins ``uart_rx`` / ``uart_tx``) whose pins are wired to a
:class:`~tessera.sim.chip.host_uart.HostUart`, the model of the host's
serial adapter.  Every byte between the host and the bridge crosses the
pins as 8N1 characters at the configuration's ``host_link`` rate.

Ports (toward the simulator's Python side): ``to_line`` / ``from_line``,
the host's byte chunks (:mod:`tessera.sim.chip.host_uart`); ``line_busy``
(the line is not idle in either direction), ``framing_errors`` and
``overruns`` of the host's receiver; the bridge's ``leds``; each tile's
``console`` (a kernel's printed characters, which on a board would go to
a debug header).  The DRAM backdoors are left idle.
"""

from __future__ import annotations

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.bridged_chip import BridgedChip
from tessera.hw.chip.host_bridge import LEDS
from tessera.hw.config import TesseraConfig
from tessera.sim.chip.host_uart import ChunkLayout, HostUart

__all__ = ["SimulatedBoardTop", "build_simulated_board"]


class SimulatedBoardTop(wiring.Component):
    """:class:`BridgedChip` of ``cfg`` + :class:`HostUart` on its serial pins (module docstring)."""

    def __init__(self, cfg: TesseraConfig):
        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"SimulatedBoardTop needs a TesseraConfig, got {cfg!r}")
        self.cfg = cfg
        self.clocks_per_bit = cfg.host_link.clocks_per_bit(cfg.clock_mhz)
        super().__init__({
            "to_line": In(stream.Signature(ChunkLayout)),
            "from_line": Out(stream.Signature(ChunkLayout)),
            "line_busy": Out(1),
            "framing_errors": Out(16),
            "overruns": Out(16),
            "leds": Out(len(LEDS)),
            "console": Out(stream.Signature(unsigned(8))).array(len(cfg.nodes_of("tensix"))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.chip = chip = BridgedChip(self.cfg)
        m.submodules.host_uart = uart = HostUart(self.clocks_per_bit)
        m.d.comb += [chip.uart_rx.eq(uart.tx), uart.rx.eq(chip.uart_tx), self.leds.eq(chip.leds),
                     self.line_busy.eq(uart.busy), self.framing_errors.eq(uart.framing_errors),
                     self.overruns.eq(uart.overruns)]
        wiring.connect(m, wiring.flipped(self.to_line), uart.to_line)
        wiring.connect(m, uart.from_line, wiring.flipped(self.from_line))
        for t in range(len(self.console)):
            wiring.connect(m, chip.console[t], wiring.flipped(self.console[t]))
        return m


def build_simulated_board(cfg: TesseraConfig, **params):
    """Block factory: the simulated board of ``cfg`` (its ``host_link`` sets the line's rate)."""
    return SimulatedBoardTop(cfg, **params)
