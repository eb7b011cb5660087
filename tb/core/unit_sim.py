"""Amaranth-simulator runner shared by the core's unit tests (tb/core/test_<unit>.py)."""

from amaranth.sim import Simulator

__all__ = ["simulate"]


def simulate(dut, bench, *, clocked=True):
    """Run ``await bench(ctx, dut)`` as the one testbench of ``dut``.

    ``clocked`` adds a clock to the ``sync`` domain; a purely combinational
    unit has no such domain, so pass ``clocked=False`` for it.
    """
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-8)

    async def testbench(ctx):
        await bench(ctx, dut)

    sim.add_testbench(testbench)
    sim.run()
