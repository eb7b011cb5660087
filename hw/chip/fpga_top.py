"""The bridged chip on an ECP5 board: clock, reset, UART and LED pins from the board's resources.

:class:`EcpBoardTop` is what goes into a bitstream (docs/fpga.md): it asks
the platform (an ``amaranth-boards`` ECP5 platform, such as the ULX3S's) for
its oscillator, the UART to the host computer and the LEDs, and wires them
to :class:`~tessera.hw.chip.bridged_chip.BridgedChip`.

* **Clock.**  The chip runs at ``cfg.clock_mhz``, which is also what the
  UART divisor is computed from; an ECP5 ``EHXPLLL`` makes it from the
  board's oscillator (:func:`ecp5_pll_settings` finds the dividers, and
  refuses a clock the PLL cannot make within :data:`PLL_TOLERANCE`, since the
  UART's bit time would be off by as much).  A board whose oscillator
  already runs at ``cfg.clock_mhz`` uses it directly.
* **Reset.**  The design is held in reset until the PLL has locked and then
  for :data:`POWER_ON_CYCLES` more cycles (the configuration's initial
  register values are already loaded; the wait lets the clock settle), and
  again whenever the PLL loses lock or the board's reset button is held.
  The bridge's ``RESET`` request resets the chip only, not this logic or
  the link.
* **LEDs.**  The bridge's five status lights (``HostBridge`` documents them:
  activity, chip reset, trapped, run done, rejected) on the first five LEDs;
  the next one shows the PLL locked and the next one blinks at about 1 Hz
  (the clock runs and the design is configured).
* **Unused chip ports.**  The cores' consoles are always ready (a core that
  prints never waits; the characters are dropped: a board has no console
  besides the bridge), the DRAM backdoors idle.
"""

from __future__ import annotations

from amaranth.build import ResourceError
from amaranth.lib import io
from amaranth.hdl import ClockDomain, ClockSignal, Const, Elaboratable, Instance, Module, Signal

from tessera.hw.chip.bridged_chip import BridgedChip
from tessera.hw.chip.host_bridge import LEDS
from tessera.hw.config import ConfigError, TesseraConfig

__all__ = ["EcpBoardTop", "PllSettings", "ecp5_pll_settings", "POWER_ON_CYCLES", "PLL_TOLERANCE"]

#: Cycles of the chip clock the design stays in reset after the PLL locks.
POWER_ON_CYCLES = 1 << 10

#: Largest relative error of the PLL's output against ``cfg.clock_mhz`` (the UART's bit time
#: is off by as much; 8N1 tolerates a few percent, the host adapter's own error included).
PLL_TOLERANCE = 0.005

# EHXPLLL limits (Lattice TN1263): phase detector and VCO ranges in MHz, divider ranges.
_PFD_MHZ = (3.125, 400.0)
_VCO_MHZ = (400.0, 800.0)
#: Among exact settings the VCO nearest the middle of its range (margin at both ends).
_VCO_MID_MHZ = 600.0
_CLKI_DIVS = range(1, 129)
_CLKFB_DIVS = range(1, 81)
_CLKOP_DIVS = range(1, 129)


class PllSettings:
    """Dividers of an ECP5 ``EHXPLLL`` with its feedback from CLKOP: ``out = in * clkfb_div / clki_div``,
    ``vco = out * clkop_div``."""

    def __init__(self, in_mhz: float, clki_div: int, clkfb_div: int, clkop_div: int):
        self.in_mhz, self.clki_div, self.clkfb_div, self.clkop_div = in_mhz, clki_div, clkfb_div, clkop_div

    @property
    def out_mhz(self) -> float:
        return self.in_mhz * self.clkfb_div / self.clki_div

    @property
    def vco_mhz(self) -> float:
        return self.out_mhz * self.clkop_div

    def __repr__(self):
        return (f"PllSettings(in {self.in_mhz} MHz, CLKI_DIV {self.clki_div}, CLKFB_DIV {self.clkfb_div}, "
                f"CLKOP_DIV {self.clkop_div}: out {self.out_mhz:.4f} MHz, VCO {self.vco_mhz:.1f} MHz)")


def ecp5_pll_settings(in_mhz: float, out_mhz: float) -> PllSettings:
    """The EHXPLLL dividers closest to ``out_mhz`` from ``in_mhz`` (among equally close
    ones, the VCO nearest the middle of its range); ``ConfigError`` when none is within :data:`PLL_TOLERANCE`."""
    best, best_key = None, None
    for clki_div in _CLKI_DIVS:
        pfd = in_mhz / clki_div
        if pfd < _PFD_MHZ[0]:
            break
        if pfd > _PFD_MHZ[1]:
            continue
        for clkfb_div in _CLKFB_DIVS:
            out = pfd * clkfb_div
            for clkop_div in _CLKOP_DIVS:
                vco = out * clkop_div
                if vco > _VCO_MHZ[1]:
                    break
                if vco < _VCO_MHZ[0]:
                    continue
                key = (abs(out - out_mhz), abs(vco - _VCO_MID_MHZ))
                if best_key is None or key < best_key:
                    best, best_key = PllSettings(in_mhz, clki_div, clkfb_div, clkop_div), key
    if best is None or abs(best.out_mhz - out_mhz) > PLL_TOLERANCE * out_mhz:
        closest = f"; the closest is {best.out_mhz:.4f} MHz" if best else ""
        raise ConfigError(f"an ECP5 PLL cannot make {out_mhz} MHz from the board's {in_mhz} MHz oscillator "
                          f"within {PLL_TOLERANCE:.1%}{closest}; choose another clock_mhz")
    return best


class EcpBoardTop(Elaboratable):
    """The chip of ``cfg`` behind its UART host bridge, on an ECP5 board (module docstring).

    The platform must have a default clock, a ``uart`` resource (``rx``, ``tx``) and ``led``
    resources; a ``button_fire`` 0, when present, resets the whole design while held."""

    def __init__(self, cfg: TesseraConfig):
        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"EcpBoardTop needs a TesseraConfig, got {cfg!r}")
        self.cfg = cfg
        self.chip = BridgedChip(cfg)

    def pll_settings(self, platform) -> PllSettings | None:
        """The PLL that makes ``cfg.clock_mhz`` from the board's oscillator, or None when it already runs
        at that clock."""
        in_mhz = platform.default_clk_frequency / 1e6
        if abs(in_mhz - self.cfg.clock_mhz) <= PLL_TOLERANCE * self.cfg.clock_mhz:
            return None
        return ecp5_pll_settings(in_mhz, self.cfg.clock_mhz)

    def elaborate(self, platform):
        if platform is None:
            raise ValueError("EcpBoardTop is a board top: elaborate it for a board platform "
                             "(tessera fpga --board), not alone")
        m = Module()
        m.submodules.osc_buffer = osc_buffer = io.Buffer("i", platform.request(platform.default_clk, dir="-"))
        osc = osc_buffer.i
        locked = Signal()
        chip_clock = Signal()
        pll = self.pll_settings(platform)
        if pll is None:
            m.d.comb += [chip_clock.eq(osc), locked.eq(1)]
        else:
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=f"{pll.in_mhz:g}",
                a_FREQUENCY_PIN_CLKOP=f"{pll.out_mhz:.4f}",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA",
                p_CLKOP_ENABLE="ENABLED", p_FEEDBK_PATH="CLKOP",
                p_CLKI_DIV=pll.clki_div, p_CLKFB_DIV=pll.clkfb_div, p_CLKOP_DIV=pll.clkop_div,
                p_CLKOP_CPHASE=(pll.clkop_div - 1) // 2, p_CLKOP_FPHASE=0,
                i_CLKI=osc, i_CLKFB=chip_clock, o_CLKOP=chip_clock, o_LOCK=locked,
                i_RST=Const(0), i_STDBY=Const(0), i_PHASESEL0=Const(0), i_PHASESEL1=Const(0),
                i_PHASEDIR=Const(1), i_PHASESTEP=Const(1), i_PHASELOADREG=Const(1),
                i_PLLWAKESYNC=Const(0), i_ENCLKOP=Const(0))

        # Power-on reset: a reset-less counter in the chip clock, restarted while the PLL is
        # unlocked or the button is held (both synchronised: they are asynchronous to the clock).
        m.domains.por = ClockDomain("por", reset_less=True)
        m.domains.sync = sync = ClockDomain("sync")
        m.d.comb += [ClockSignal("por").eq(chip_clock), ClockSignal("sync").eq(chip_clock)]
        hold = Signal()
        button = self._reset_button(m, platform)
        hold_meta, hold_sync = Signal(init=1), Signal(init=1)
        m.d.por += [hold_meta.eq(~locked | button), hold_sync.eq(hold_meta)]
        m.d.comb += hold.eq(hold_sync)
        countdown = Signal(range(POWER_ON_CYCLES + 1), init=POWER_ON_CYCLES)
        with m.If(hold):
            m.d.por += countdown.eq(POWER_ON_CYCLES)
        with m.Elif(countdown != 0):
            m.d.por += countdown.eq(countdown - 1)
        m.d.comb += sync.rst.eq(countdown != 0)

        m.submodules.chip = chip = self.chip
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx_buffer = rx_buffer = io.Buffer("i", uart.rx)
        m.submodules.uart_tx_buffer = tx_buffer = io.Buffer("o", uart.tx)
        m.d.comb += [chip.uart_rx.eq(rx_buffer.i), tx_buffer.o.eq(chip.uart_tx)]
        for console in chip.console:
            m.d.comb += console.ready.eq(1)
        for backdoor in getattr(chip, "dram_backdoor", ()):
            m.d.comb += backdoor.req.valid.eq(0)

        half_second = max(1, round(self.cfg.clock_mhz * 1e6) // 2)
        heartbeat = Signal(range(half_second), init=half_second - 1)
        blink = Signal()
        with m.If(heartbeat == 0):
            m.d.sync += [heartbeat.eq(half_second - 1), blink.eq(~blink)]
        with m.Else():
            m.d.sync += heartbeat.eq(heartbeat - 1)
        lights = [chip.leds[i] for i in range(len(LEDS))] + [locked, blink]
        for i, light in enumerate(lights):
            try:
                led = platform.request("led", i, dir="-")
            except ResourceError:
                break          # a board with fewer LEDs shows the first ones
            m.submodules[f"led_buffer_{i}"] = led_buffer = io.Buffer("o", led)
            m.d.comb += led_buffer.o.eq(light)
        return m

    @staticmethod
    def _reset_button(m, platform):
        try:
            port = platform.request("button_fire", 0, dir="-")
        except ResourceError:
            return Const(0)
        m.submodules.button_buffer = button_buffer = io.Buffer("i", port)
        return button_buffer.i
