"""F stage: instruction fetch unit and fetch buffer.

The unit keeps one aligned word request in flight on the instruction bus and
pushes the returned halfwords into a 6-halfword buffer.  Decode sees a *view*
made of the buffered halfwords followed by the halfwords arriving on the bus
this cycle, so a word is decoded in the cycle it arrives and a 32-bit
instruction that straddles two words costs nothing in straight-line code.

Redirects, by priority: boot (``reset_pc``), W (trap, ``mret``, ``fence.i``),
X (mispredicted branch, ``jalr``) -- both flush the buffer -- and the static
prediction of decode, which keeps the head and fetches the target in the
same cycle the head is first seen.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.bus import InstructionBus

__all__ = ["FetchUnit", "FETCH_BUFFER_HALFWORDS"]

FETCH_BUFFER_HALFWORDS = 6


class FetchUnit(wiring.Component):
    """Instruction-bus initiator (``ibus``) feeding the decoder.

    Inputs: ``reset_pc`` (fetched in the second cycle after reset),
    ``w_redirect``/``w_target``, ``x_redirect``/``x_target`` (flush and
    refetch), ``d_pred``/``d_target`` (decode predicts the head taken),
    ``d_fire`` (the head moves to X this cycle).

    Outputs: ``d_valid`` (the view holds a whole instruction at its head),
    ``d_insn`` (the view's first two halfwords), ``d_fetch_err`` (bus error
    on each of them), ``d_pc`` (the head's address).
    """

    ibus: Out(InstructionBus.Signature())
    reset_pc: In(32)
    w_redirect: In(1)
    w_target: In(32)
    x_redirect: In(1)
    x_target: In(32)
    d_pred: In(1)
    d_target: In(32)
    d_fire: In(1)

    d_valid: Out(1)
    d_insn: Out(32)
    d_fetch_err: Out(2)
    d_pc: Out(32)

    def elaborate(self, platform):
        m = Module()
        ibus = self.ibus
        CAP = FETCH_BUFFER_HALFWORDS

        # awake rises in the first cycle after reset, booted one cycle later:
        # the core issues nothing while held in reset (a tile's soft reset)
        # and fetches reset_pc in its second cycle.
        awake = Signal()
        booted = Signal()
        # The next word to request is fetch_base + fetch_step (in words): the
        # increment after an accepted request is left to the next cycle, so
        # that no adder follows the redirect-target mux on the way back into
        # this register (the decode -> prediction -> fetch loop).
        fetch_base = Signal(30)    # word address of the last request or redirect target
        fetch_step = Signal()      # the next request is the word after fetch_base
        fetch_word = Signal(30)
        m.d.comb += fetch_word.eq(fetch_base + fetch_step)
        fetch_drop = Signal()      # that request's low halfword is not wanted
        outstanding = Signal()
        out_discard = Signal()     # the outstanding response is stale (redirected)
        out_drop = Signal()
        buf = Array(Signal(16, name=f"fbuf{i}") for i in range(CAP))
        buf_err = Signal(CAP)
        count = Signal(range(CAP + 1))
        head_pc = self.d_pc
        head_redirected = Signal()

        resp_arrive = Signal()
        m.d.comb += resp_arrive.eq(outstanding & ibus.resp.valid)
        flush = Signal()           # a redirect from X or W (or boot) clears the buffer
        m.d.comb += flush.eq(self.w_redirect | self.x_redirect | ~booted)
        resp_useful = Signal()
        m.d.comb += resp_useful.eq(resp_arrive & ~out_discard & ~flush)
        npush = Signal(2)
        inc = [Signal(16, name="inc0"), Signal(16, name="inc1")]
        inc_err = Signal()
        m.d.comb += [
            npush.eq(Mux(resp_useful, Mux(out_drop, 1, 2), 0)),
            inc[0].eq(Mux(out_drop, ibus.resp.rdata[16:32], ibus.resp.rdata[0:16])),
            inc[1].eq(ibus.resp.rdata[16:32]),
            inc_err.eq(ibus.resp.err),
        ]

        # The view: buffered halfwords followed by the ones arriving now.
        VIEW = CAP + 2
        view = [Signal(16, name=f"view{i}") for i in range(VIEW)]
        view_err = Signal(VIEW)
        view_count = Signal(range(VIEW + 1))
        m.d.comb += view_count.eq(count + npush)
        with m.Switch(count):
            for c in range(CAP + 1):
                with m.Case(c):
                    for i in range(VIEW):
                        if i < c:
                            m.d.comb += [view[i].eq(buf[i]), view_err[i].eq(buf_err[i])]
                        elif i - c < 2:
                            m.d.comb += [view[i].eq(inc[i - c]), view_err[i].eq(inc_err)]

        # The head: one halfword, or two for a 32-bit instruction (a faulted
        # first halfword is one: its trap does not wait for the second).
        head_is32 = view[0][0:2] == 0b11
        head_len = Signal(2)       # in halfwords
        m.d.comb += [
            head_len.eq(Mux(head_is32 & ~view_err[0], 2, 1)),
            self.d_valid.eq(booted & (view_count >= head_len) & (view_count != 0)),
            self.d_insn.eq(Cat(view[0], view[1])),
            self.d_fetch_err.eq(view_err[0:2]),
        ]

        # ---- static prediction redirects fetch as soon as the head is seen ----
        pred_redirect = Signal()
        m.d.comb += pred_redirect.eq(self.d_valid & self.d_pred & ~head_redirected & ~flush)

        redirect = Signal()
        target = Signal(32)
        m.d.comb += redirect.eq(flush | pred_redirect)
        with m.If(~booted):
            m.d.comb += target.eq(self.reset_pc)
        with m.Elif(self.w_redirect):
            m.d.comb += target.eq(self.w_target)
        with m.Elif(self.x_redirect):
            m.d.comb += target.eq(self.x_target)
        with m.Else():
            m.d.comb += target.eq(self.d_target)

        # ---- fetch request ----
        can_issue = Signal()
        space_ok = Signal()
        m.d.comb += [
            can_issue.eq(~outstanding | resp_arrive),
            space_ok.eq(count + npush + 2 <= CAP),
            ibus.req.valid.eq(awake & can_issue & (redirect | space_ok)),
            ibus.req.payload.addr.eq(Cat(Const(0, 2), Mux(redirect, target[2:32], fetch_word))),
        ]
        accept = Signal()
        m.d.comb += accept.eq(ibus.req.valid & ibus.req.ready)
        m.d.sync += [awake.eq(1), booted.eq(awake)]
        with m.If(accept):
            m.d.sync += [outstanding.eq(1), out_discard.eq(0),
                         out_drop.eq(Mux(redirect, target[1], fetch_drop)),
                         fetch_base.eq(ibus.req.payload.addr[2:32]), fetch_step.eq(1),
                         fetch_drop.eq(0)]
        with m.Else():
            with m.If(resp_arrive):
                m.d.sync += outstanding.eq(0)
            with m.If(redirect):
                m.d.sync += [fetch_base.eq(target[2:32]), fetch_step.eq(0),
                             fetch_drop.eq(target[1])]
                with m.If(outstanding & ~resp_arrive):
                    m.d.sync += out_discard.eq(1)

        # ---- buffer update ----
        pop = Signal(2)
        m.d.comb += pop.eq(Mux(self.d_fire, head_len, 0))
        new_count = Signal(range(VIEW + 1))
        with m.If(flush):
            m.d.comb += new_count.eq(0)
        with m.Elif(pred_redirect):
            m.d.comb += new_count.eq(head_len - pop)  # keep only the head
        with m.Else():
            m.d.comb += new_count.eq(view_count - pop)
        m.d.sync += count.eq(new_count)
        for i in range(CAP):
            with m.Switch(pop):
                for k in range(3):
                    with m.Case(k):
                        m.d.sync += [buf[i].eq(view[i + k]), buf_err[i].eq(view_err[i + k])]
        with m.If(flush):
            m.d.sync += [head_pc.eq(target), head_redirected.eq(0)]
        with m.Elif(self.d_fire):
            m.d.sync += [head_pc.eq(Mux(self.d_pred, self.d_target,
                                        head_pc + Cat(Const(0, 1), head_len))),
                         head_redirected.eq(0)]
        with m.Elif(pred_redirect):
            m.d.sync += head_redirected.eq(1)
        return m
