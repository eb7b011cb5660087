"""The ECP5 board top (hw/chip/fpga_top.py) and the board flow's preparation (sim/fpga_board.py).

The PLL search is checked against the EHXPLLL's documented ranges and its
output relation; the board top is elaborated for the ULX3S's amaranth-boards
platform (no synthesis: that is `tessera fpga --board`, tens of minutes) and
its pin constraints and PLL parameters read back from what the tools would get.
"""

from __future__ import annotations

import random
import re

import pytest

from tessera.hw.chip.fpga_top import PLL_TOLERANCE, ecp5_pll_settings
from tessera.hw.config import ConfigError, preset


@pytest.mark.parametrize("in_mhz,out_mhz", [(25, 50), (25, 100), (25, 40), (25, 25 * 7 / 3), (12, 48),
                                            (100, 37.5)])
def test_pll_exact_settings(in_mhz, out_mhz):
    pll = ecp5_pll_settings(in_mhz, out_mhz)
    assert pll.out_mhz == pytest.approx(out_mhz, rel=1e-9)
    # The output relation and the EHXPLLL's ranges, restated from the data sheet.
    assert in_mhz * pll.clkfb_div / pll.clki_div == pytest.approx(pll.out_mhz)
    assert 3.125 <= in_mhz / pll.clki_div <= 400
    assert 400 <= pll.out_mhz * pll.clkop_div <= 800
    assert 1 <= pll.clki_div <= 128 and 1 <= pll.clkfb_div <= 80 and 1 <= pll.clkop_div <= 128


def test_pll_50mhz_from_ulx3s_oscillator():
    pll = ecp5_pll_settings(25, 50)
    assert (pll.clki_div, pll.clkfb_div, pll.clkop_div) == (1, 2, 12)      # VCO 600 MHz, mid-range
    assert pll.vco_mhz == 600


def _closest_by_brute_force(in_mhz, out_mhz):
    """Smallest output error of any EHXPLLL setting (the data sheet's ranges, searched whole)."""
    best = None
    for ci in range(1, 129):
        if not 3.125 <= in_mhz / ci <= 400:
            continue
        for fb in range(1, 81):
            out = in_mhz * fb / ci
            if any(400 <= out * op <= 800 for op in range(1, 129)):
                err = abs(out - out_mhz)
                best = err if best is None else min(best, err)
    return best


def test_pll_random_targets_are_the_closest_possible():
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    for _ in range(12):
        out = rng.uniform(10, 150)
        best = _closest_by_brute_force(25, out)
        if best > PLL_TOLERANCE * out:
            with pytest.raises(ConfigError, match="cannot make"):
                ecp5_pll_settings(25, out)
            continue
        pll = ecp5_pll_settings(25, out)
        assert abs(pll.out_mhz - out) == pytest.approx(best, abs=1e-9), f"seed {seed}: {out} MHz -> {pll}"
        assert 400 <= pll.vco_mhz <= 800, f"seed {seed}: {pll}"


@pytest.mark.parametrize("out_mhz", [1.0, 900.0])
def test_pll_refuses_clocks_it_cannot_make(out_mhz):
    with pytest.raises(ConfigError, match=rf"cannot make {out_mhz} MHz from the board's 25 MHz"):
        ecp5_pll_settings(25, out_mhz)


def test_unknown_board_is_refused():
    from tessera.sim.fpga_board import check_board
    with pytest.raises(ValueError, match=r"unknown board 'ulx4s'; supported: ulx3s"):
        check_board("ulx4s")


def test_board_top_refuses_elaboration_without_a_platform():
    from amaranth.hdl import Fragment
    from tessera.hw.chip.fpga_top import EcpBoardTop
    with pytest.raises(ValueError, match="board top"):
        Fragment.get(EcpBoardTop(preset("tiny")), None)


def test_board_top_refuses_a_clock_the_pll_cannot_make():
    from tessera.sim.fpga_board import prepare_board
    with pytest.raises(ConfigError, match="cannot make 1000.0 MHz"):
        prepare_board(preset("tiny").derive(clock_mhz=1000.0), "ulx3s")


def test_ulx3s_board_top_pins_and_pll():
    """The ulx3s preset's chip elaborated for the ULX3S: what yosys and nextpnr get."""
    from tessera.hw.chip.fpga_top import ecp5_pll_settings
    from tessera.sim.fpga_board import DESIGN, prepare_board

    cfg = preset("ulx3s")
    platform, top, plan = prepare_board(cfg, "ulx3s")
    expected = ecp5_pll_settings(25, cfg.clock_mhz)
    lpf = plan.files[f"{DESIGN}.lpf"]
    sites = dict(re.findall(r'LOCATE COMP "(\S+)" SITE "(\S+)";', lpf))
    # The FTDI UART of the ULX3S (FPGA receives on M1, sends on L4), its 25 MHz oscillator, LEDs.
    assert sites["uart_0__rx__io"] == "M1" and sites["uart_0__tx__io"] == "L4"
    assert sites["clk25_0__io"] == "G2"
    assert [sites[f"led_{i}__io"] for i in range(7)] == ["B2", "C2", "C1", "D2", "D1", "E2", "E1"]
    assert 'FREQUENCY PORT "clk25_0__io" 25000000.0 HZ;' in lpf
    rtlil = plan.files[f"{DESIGN}.il"]
    pll = rtlil[rtlil.index("cell \\EHXPLLL"):]
    pll = pll[:pll.index("\n  end")]
    params = dict(re.findall(r"parameter \\(\w+) (\S+)", pll))
    assert (params["CLKI_DIV"], params["CLKFB_DIV"], params["CLKOP_DIV"]) == \
        (str(expected.clki_div), str(expected.clkfb_div), str(expected.clkop_div))
    assert params["FEEDBK_PATH"] == '"CLKOP"'
    # The whole chip is in the design: every tile's engine and the host bridge, the UART at the
    # preset's clock.
    tiles = len(cfg.nodes_of("tensix"))
    assert len(re.findall(r"^module \\\S*tile_\d+_\d+\.engine$", rtlil, re.M)) == tiles
    assert re.search(r"^module \\\S*\.bridge$", rtlil, re.M)
    assert top.chip.clocks_per_bit == cfg.host_link.clocks_per_bit(cfg.clock_mhz)


@pytest.mark.parametrize("argv,message", [
    (["--block", "core"], "--board builds the whole chip; give --block chip, not --block core"),
    (["--block", "chip", "--freq", "20"], "--board ulx3s sets the device (ecp5-85f) and the clock"),
    (["--block", "chip", "--no-place"], "drop --device, --freq and --no-place"),
    (["--block", "chip", "--device", "ecp5-45f"], "sets the device (ecp5-85f)"),
])
def test_board_command_refusals(capsys, argv, message):
    from tb.cli_runner import run_cli
    status, out, err = run_cli(["fpga", "--preset", "ulx3s", "--board", "ulx3s", *argv], capsys)
    assert status == 2 and message in err, (status, out, err)


def test_board_command_refuses_an_unknown_board(capsys):
    from tb.cli_runner import run_cli
    status, _, err = run_cli(["fpga", "--preset", "ulx3s", "--block", "chip", "--board", "ulx4s"], capsys)
    assert status == 2 and "invalid choice: 'ulx4s'" in err


def test_critical_path_read_from_nextpnr_log():
    """The report's path ends come from nextpnr's critical path report: the first source and the
    last sink of each clock's path, the cross-domain reports ignored."""
    from tessera.sim.fpga_board import _critical_path
    log = """Info: Critical path report for clock '$glbnet$chip_clock' (posedge -> posedge):
Info:       type curr  total name
Info:   clk-to-q  5.83  5.83 Source chip.l1.bank3.DOB1
Info:    routing  1.47  7.30 Net chip.l1.rd (62,22) -> (66,27)
Info:                          Sink chip.core.d_raw.B
Info:      logic  0.24  7.54 Source chip.core.d_raw.F
Info:    routing  2.16  9.70 Net chip.core.x (66,27) -> (82,35)
Info:                          Sink chip.niu.resp_q.CE
Info: 10.1 ns logic, 40.2 ns routing

Info: Critical path report for cross-domain path '<async>' -> 'posedge $glbnet$chip_clock':
Info:     source  0.00  0.00 Source button_buffer.O
Info:                          Sink sync.DI
Info: 0.24 ns logic, 1.06 ns routing
"""
    assert _critical_path(log) == [{"clock": "$glbnet$chip_clock", "from": "chip.l1.bank3.DOB1",
                                    "to": "chip.niu.resp_q.CE"}]
    assert _critical_path("Info: no timing report here\n") == []
