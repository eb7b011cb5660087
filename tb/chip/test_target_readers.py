"""The NoC target with two memory readers and with one (``noc.target_read_prefetch``), on a DRAM
node alone in the Amaranth simulator.

A random stream of requests (reads of any length and alignment, posted and acked writes, atomic
increments, and requests the target must refuse) goes into the node's request port back to back
while its response port takes flits only now and then.  A read's data is taken from memory when
its response is sent, so a later write may overtake it (docs/chip.md section 5 promises only that
a read sees earlier writes): a write or atomic on bytes an earlier read asks for is sent only once
the responses before it have arrived, as an initiator's read barrier would.  Every response is checked against a
Python model of the target's rules (hw/chip/target.py), and both settings must answer with the
same packets: the readers change the timing only.
"""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.chip.dram import DramNode
from tessera.hw.config import ConfigError, preset
from tessera.hw.noc.layout import Command, MessageClass, NocFormat
from tessera.hw.tile.l1_port import L1Op
from tessera.sim.commands import UsageError, apply_overrides

CFG = preset("tiny", dram={"size_bytes": 4096, "latency_cycles": 6})
REQ, RESP = int(MessageClass.REQUEST), int(MessageClass.RESPONSE)
#: Cycles the bench waits for owed responses before it gives up (a hung target).
PATIENCE = 20_000


def random_requests(cfg, rng, count):
    """``count`` request packets as (header fields, payload), mostly valid, some refused."""
    size, maxp = cfg.dram.size_bytes, cfg.noc.max_payload_bytes
    requests = []
    for _ in range(count):
        header = {"cls": REQ, "src_x": rng.randrange(cfg.noc.width), "src_y": rng.randrange(cfg.noc.height),
                  "txn": rng.randrange(1 << cfg.noc.txn_id_width)}
        kind = rng.choices(["read", "write", "atomic", "bad"], weights=[6, 3, 2, 1])[0]
        if kind == "read":
            count_bytes = rng.choice([rng.randrange(1, maxp + 1), maxp, maxp, 4, 0, maxp + 1])
            addr = rng.randrange(size - min(count_bytes, size) + 1) if rng.random() < 0.9 else size - 2
            payload = rng.randrange(1 << 32).to_bytes(4, "little") + count_bytes.to_bytes(4, "little")
            header.update(cmd=Command.READ, addr=addr)
        elif kind == "write":
            length = rng.choice([rng.randrange(1, maxp + 1), maxp, 1])
            addr = rng.randrange(size - length + 1) if rng.random() < 0.9 else size - length + 1
            payload = bytes(rng.randrange(256) for _ in range(length))
            header.update(cmd=rng.choice([Command.WRITE_POSTED, Command.WRITE_ACKED]), addr=addr)
        elif kind == "atomic":
            addr = rng.randrange(0, size, 4) if rng.random() < 0.9 else rng.choice([size, 2])
            payload = rng.randrange(1 << 32).to_bytes(4, "little") + rng.randrange(1 << 32).to_bytes(4, "little")
            header.update(cmd=Command.ATOMIC_INC, addr=addr)
        else:
            # A response command on the request class, or a request without its payload.
            header.update(cmd=rng.choice([Command.READ_RESP, Command.WRITE_ACK, Command.READ,
                                          Command.WRITE_ACKED, Command.ATOMIC_INC]),
                          addr=rng.randrange(size))
            payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 8])))
        requests.append((header, payload))
    return requests


def model_responses(cfg, node, memory, requests):
    """The responses the target owes, in request order, as (index of the request, header fields,
    payload); updates ``memory`` (a bytearray of the DRAM) with the writes and atomics."""
    size, maxp = cfg.dram.size_bytes, cfg.noc.max_payload_bytes
    out = []
    for index, (header, payload) in enumerate(requests):
        cmd, addr = header["cmd"], header["addr"]

        def respond(resp_cmd, resp_addr, resp_payload=b""):
            out.append((index, {"cls": RESP, "mcast": 0, "exclude_self": 0, "dst_x": header["src_x"],
                         "dst_y": header["src_y"], "dst_x1": 0, "dst_y1": 0, "src_x": node.x, "src_y": node.y,
                         "cmd": resp_cmd, "txn": header["txn"], "addr": resp_addr,
                         "length": len(resp_payload)}, resp_payload))

        refuse = lambda: respond(Command.ERROR_RESP, addr, int(cmd).to_bytes(4, "little"))
        if not payload:
            refuse()
        elif cmd in (Command.WRITE_POSTED, Command.WRITE_ACKED):
            if addr + len(payload) > size:
                refuse()
                continue
            memory[addr:addr + len(payload)] = payload
            if cmd == Command.WRITE_ACKED:
                respond(Command.WRITE_ACK, addr)
        elif cmd == Command.READ:
            ret, count = int.from_bytes(payload[:4], "little"), int.from_bytes(payload[4:8], "little")
            if 0 < count <= maxp and addr + count <= size:
                respond(Command.READ_RESP, ret, bytes(memory[addr:addr + count]))
            else:
                refuse()
        elif cmd == Command.ATOMIC_INC:
            if addr % 4 or addr >= size:
                refuse()
                continue
            increment, ret = int.from_bytes(payload[:4], "little"), int.from_bytes(payload[4:8], "little")
            old = bytes(memory[addr:addr + 4])
            memory[addr:addr + 4] = ((int.from_bytes(old, "little") + increment) & 0xFFFF_FFFF).to_bytes(4, "little")
            respond(Command.ATOMIC_INC_RESP, ret, old)
        else:
            refuse()
    return out


def barriers(requests):
    """For each request, the number of responses that must have arrived before it is sent: those
    of every earlier request when it writes bytes a read since the last such barrier asks for,
    else 0.  ``owed[i]`` counts the responses of the requests before ``i``."""
    owed, count = [], 0
    for header, payload in requests:
        owed.append(count)
        count += len(model_responses(CFG, CFG.nodes_of("dram")[0], bytearray(CFG.dram.size_bytes),
                                     [(header, payload)]))
    wait, reads = [], []
    for index, (header, payload) in enumerate(requests):
        cmd, addr = header["cmd"], header["addr"]
        span = None
        if cmd in (Command.WRITE_POSTED, Command.WRITE_ACKED):
            span = (addr, addr + len(payload))
        elif cmd == Command.ATOMIC_INC:
            span = (addr, addr + 4)
        if span and any(lo < span[1] and span[0] < hi for lo, hi in reads):
            wait.append(owed[index])
            reads = []
        else:
            wait.append(0)
        if cmd == Command.READ and len(payload) == 8:
            reads.append((addr, addr + int.from_bytes(payload[4:8], "little")))
    return wait


def serve(cfg, requests, initial, seed):
    """Runs the DRAM node of ``cfg`` on ``requests`` after loading ``initial`` through its
    backdoor; returns the response packets (header fields, payload) and the cycle the last one
    ended, counted from the first request flit."""
    node = cfg.nodes_of("dram")[0]
    dut = DramNode(cfg, node.x, node.y)
    fmt = NocFormat(cfg.noc)
    fw, wb = cfg.noc.flit_width, dut.mem_cfg.bank_bytes
    rng = random.Random(seed)
    expected = len(model_responses(cfg, node, bytearray(initial), requests))
    wait = barriers(requests)
    received, words = [], []
    clock = {"now": 0, "start": None, "end": None}
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def receiver(ctx):
        out = dut.inject[RESP]
        while True:
            ready = rng.random() < 0.6
            ctx.set(out.ready, ready)
            valid, flit = (await ctx.tick().sample(out.valid, out.payload))[-2:]
            clock["now"] += 1
            if valid and ready:
                words.append(flit & ((1 << fw) - 1))
                if (flit >> (fw + 1)) & 1:
                    received.append(fmt.parse(words[:]))
                    words.clear()
                    clock["end"] = clock["now"]

    async def bench(ctx):
        door = dut.backdoor
        for index in range(0, len(initial), wb):
            ctx.set(door.req.valid, 1)
            ctx.set(door.req.payload, {"addr": index, "op": L1Op.WRITE, "mask": (1 << wb) - 1,
                                       "wdata": int.from_bytes(initial[index:index + wb], "little")})
            await ctx.tick().until(door.req.ready)
        ctx.set(door.req.valid, 0)
        clock["start"] = clock["now"]
        inject = dut.eject[REQ]
        for (header, payload), owed in zip(requests, wait):
            if len(received) < owed:
                ctx.set(inject.valid, 0)
            for _ in range(PATIENCE):
                if len(received) >= owed:
                    break
                await ctx.tick()
            assert len(received) >= owed, f"seed {seed}: {len(received)} of {owed} responses after {PATIENCE} cycles"
            for data_word, head, tail in fmt.packet(payload, **header):
                ctx.set(inject.valid, 1)
                ctx.set(inject.payload, data_word | (head << fw) | (tail << (fw + 1)))
                await ctx.tick().until(inject.ready)
        ctx.set(inject.valid, 0)
        for _ in range(PATIENCE):
            if len(received) == expected:
                break
            await ctx.tick()

    sim.add_process(receiver)
    sim.add_testbench(bench)
    sim.run()
    return received, clock["end"] - clock["start"]


@pytest.mark.parametrize("seed", [5, 23])
def test_one_and_two_readers_answer_the_same_packets_as_the_model(seed):
    rng = random.Random(seed)
    size = CFG.dram.size_bytes
    initial = bytes(rng.randrange(256) for _ in range(size))
    requests = random_requests(CFG, rng, 120)
    node = CFG.nodes_of("dram")[0]
    want = model_responses(CFG, node, bytearray(initial), requests)
    cycles = {}
    for prefetch in (True, False):
        cfg = CFG.derive(noc={"target_read_prefetch": prefetch})
        got, cycles[prefetch] = serve(cfg, requests, initial, seed)
        assert len(got) == len(want), f"seed {seed}, prefetch {prefetch}: {len(got)} responses, {len(want)} due"
        for (got_header, got_payload), (index, want_header, want_payload) in zip(got, want):
            assert got_header == want_header and got_payload == want_payload, \
                f"seed {seed}, prefetch {prefetch}: the response to request {index} is {got_header} " \
                f"{got_payload.hex()}, the model says {want_header} {want_payload.hex()}"
    # The response port is the bottleneck here (it takes 60 % of the cycles), so the second
    # reader gains little; it must never lose.
    assert cycles[True] <= cycles[False], f"seed {seed}: cycles {cycles}"


def test_the_setting_is_a_checked_bool_and_settable_from_the_command_line():
    assert preset("tiny").noc.target_read_prefetch is True
    with pytest.raises(ConfigError, match="noc.target_read_prefetch must be true or false, got 0"):
        preset("tiny", noc={"target_read_prefetch": 0})
    assert apply_overrides(preset("ulx3s"), ["noc.target_read_prefetch=false"]).noc.target_read_prefetch is False
    with pytest.raises(UsageError, match="noc.target_read_prefetch must be true or false"):
        apply_overrides(preset("tiny"), ["noc.target_read_prefetch=maybe"])
