"""A bit-level model of an 8N1 serial line, independent of the HDL: drives a pin and decodes one.

Times are clock cycles of the Amaranth simulator: a bit lasts ``divisor``
cycles.  The decoder is strict: after the falling edge of a start bit, every
cycle of every bit must show that bit's level (start low, stop high), so a
transmitter whose bit times drift fails it.
"""

from __future__ import annotations


def byte_bits(value: int, stop: int = 1) -> list:
    """The levels of one 8N1 character: start bit, 8 data bits LSB first, stop bit."""
    return [0] + [(value >> i) & 1 for i in range(8)] + [stop]


async def drive_bytes(ctx, pin, data, divisor, gaps=None, bad_stop=()):
    """Send ``data`` on ``pin``; ``gaps[i]`` idle cycles before byte i, ``bad_stop``: indices whose
    stop bit is low (a framing error; the line then idles high for two bit times)."""
    for i, value in enumerate(data):
        ctx.set(pin, 1)
        if gaps and gaps[i]:
            await ctx.tick().repeat(gaps[i])
        for level in byte_bits(value, stop=0 if i in bad_stop else 1):
            ctx.set(pin, level)
            await ctx.tick().repeat(divisor)
        if i in bad_stop:
            ctx.set(pin, 1)
            await ctx.tick().repeat(2 * divisor)
    ctx.set(pin, 1)


class LineDecoder:
    """Background testbench: decodes the 8N1 characters on ``pin`` into ``self.data``; any bit of
    the wrong length or level is recorded in ``self.errors``."""

    def __init__(self, pin, divisor):
        self.pin, self.divisor = pin, divisor
        self.data = []
        self.errors = []
        self.cycle = 0

    async def process(self, ctx):
        div = self.divisor
        previous = 1
        while True:
            (level,) = (await ctx.tick().sample(self.pin))[-1:]
            self.cycle += 1
            if not (previous == 1 and level == 0):
                previous = level
                continue
            # A start bit began at this sample: read 10 bits of ``div`` samples each.
            levels = [level]
            for _ in range(10 * div - 1):
                (sample,) = (await ctx.tick().sample(self.pin))[-1:]
                self.cycle += 1
                levels.append(sample)
            bits = []
            for k in range(10):
                chunk = levels[k * div:(k + 1) * div]
                if len(set(chunk)) != 1:
                    self.errors.append(f"character {len(self.data)} bit {k}: levels {chunk}")
                bits.append(chunk[div // 2])
            if bits[0] != 0 or bits[9] != 1:
                self.errors.append(f"character {len(self.data)}: start {bits[0]} stop {bits[9]}")
            self.data.append(sum(b << i for i, b in enumerate(bits[1:9])))
            previous = levels[-1]
