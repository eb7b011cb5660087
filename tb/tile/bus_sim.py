"""Amaranth-simulator driver for one request on a core bus port (hw.core.bus), shared by the tile tests."""


async def bus_request(ctx, bus, addr, we=0, mask=0xF, wdata=0, max_wait=50):
    """One request on a data or instruction bus initiator port.

    Returns ``(rdata, err, waited)``: the response one cycle after acceptance
    and how many cycles ``req.ready`` was low first.  Fails if the request is
    not accepted within ``max_wait`` cycles or the response is late.
    """
    ctx.set(bus.req.valid, 1)
    ctx.set(bus.req.payload.addr, addr)
    if hasattr(bus.req.payload, "we"):
        ctx.set(bus.req.payload.we, we)
        ctx.set(bus.req.payload.mask, mask)
        ctx.set(bus.req.payload.wdata, wdata)
    else:
        assert not we, "write on an instruction bus"
    for waited in range(max_wait):
        *_, ready = await ctx.tick().sample(bus.req.ready)
        if ready:
            break
    else:
        raise AssertionError(f"request to {addr:#x} never accepted")
    ctx.set(bus.req.valid, 0)
    *_, valid, rdata, err = await ctx.tick().sample(bus.resp.valid, bus.resp.rdata, bus.resp.err)
    assert valid, f"no response one cycle after accepting {addr:#x}"
    return rdata, err, waited


async def bus_access(ctx, bus, addr, we=0, mask=0xF, wdata=0, max_wait=50):
    """:func:`bus_request` without the wait count: ``(rdata, err)``."""
    rdata, err, _ = await bus_request(ctx, bus, addr, we, mask, wdata, max_wait)
    return rdata, err
