"""Every interface signature of hw/ compares by value (same class, same parameters) and quotes them.

amaranth compares instances of a ``wiring.Signature`` subclass by identity;
the project's signatures derive from ``tessera.hw.signature.ValueSignature``
instead.  Each case below builds a signature twice from equal parameters and
once from different ones (another preset's section, or another class of the
same shape), then checks equality, hashing, flipping and the repr.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest
from amaranth.lib import wiring

import tessera.hw
from tessera.hw.chip.chip import ChipTraceSignature
from tessera.hw.config import preset
from tessera.hw.core.bus import BusResponse, DataBus, InstructionBus, RetireTrace
from tessera.hw.noc.allocator import AllocationRequestSignature, ChannelGrantSignature, ChannelStatusSignature
from tessera.hw.noc.layout import LinkSignature
from tessera.hw.signature import ValueSignature
from tessera.hw.tile.l1_port import L1PortSignature, L1ResponseSignature
from tessera.hw.tile.tile import CoreDebugSignature

TINY, TENSIX = preset("tiny"), preset("tensix")

#: (class, build from tiny, build from tensix or None when the class takes no parameters,
#:  a signature of another class to compare against, text the repr must contain)
CASES = {
    "BusResponse": (BusResponse, lambda c: BusResponse(), None, RetireTrace(), "BusResponse()"),
    "InstructionBus.Signature": (InstructionBus.Signature, lambda c: InstructionBus.Signature(), None,
                                 DataBus.Signature(), "InstructionBus.Signature()"),
    "DataBus.Signature": (DataBus.Signature, lambda c: DataBus.Signature(), None,
                          InstructionBus.Signature(), "DataBus.Signature()"),
    "RetireTrace": (RetireTrace, lambda c: RetireTrace(), None, CoreDebugSignature(), "RetireTrace()"),
    "CoreDebugSignature": (CoreDebugSignature, lambda c: CoreDebugSignature(), None, RetireTrace(),
                           "CoreDebugSignature()"),
    # The chip's timeline ports: sized by its Tensix and DRAM node counts.
    "ChipTraceSignature": (ChipTraceSignature,
                           lambda c: ChipTraceSignature(len(c.nodes_of("tensix")), len(c.nodes_of("dram"))), True,
                           CoreDebugSignature(), "ChipTraceSignature(tiles=4, drams=1)"),
    "L1ResponseSignature": (L1ResponseSignature, lambda c: L1ResponseSignature(c.l1), True,
                            L1PortSignature(TINY.l1), "L1ResponseSignature(l1=L1Config("),
    "L1PortSignature": (L1PortSignature, lambda c: L1PortSignature(c.l1), True,
                        L1ResponseSignature(TINY.l1), "L1PortSignature(l1=L1Config("),
    "LinkSignature": (LinkSignature, lambda c: LinkSignature(c.noc), True, BusResponse(),
                      "LinkSignature(noc=NocConfig("),
    # The router's internal interfaces: sized by the network's VC and input counts.
    "AllocationRequestSignature": (AllocationRequestSignature, lambda c: AllocationRequestSignature(1),
                                   None, ChannelStatusSignature(1), "AllocationRequestSignature(selector_width=1)"),
    "ChannelStatusSignature": (ChannelStatusSignature, lambda c: ChannelStatusSignature(c.noc.num_vcs), True,
                               ChannelGrantSignature(4, TINY.noc.num_vcs), "ChannelStatusSignature(num_vcs=3)"),
    "ChannelGrantSignature": (ChannelGrantSignature,
                              lambda c: ChannelGrantSignature(4 * c.noc.num_vcs + 2, c.noc.num_vcs), True,
                              ChannelStatusSignature(TINY.noc.num_vcs), "ChannelGrantSignature(num_inputs=14, num_vcs=3)"),
}


@pytest.mark.parametrize("name", CASES)
def test_equal_when_built_twice_with_the_same_parameters(name):
    _cls, build, _other_preset, _other_class, _text = CASES[name]
    first, second = build(TINY), build(preset("tiny"))
    assert first is not second
    assert first == second and not (first != second)
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


@pytest.mark.parametrize("name", CASES)
def test_unequal_to_other_parameters_and_other_classes(name):
    _cls, build, other_preset, other_class, _text = CASES[name]
    sig = build(TINY)
    assert sig != other_class and other_class != sig
    assert sig != sig.members  # a members mapping is not a signature
    if other_preset:
        assert sig != build(TENSIX) and build(TENSIX) != sig
        assert build(TENSIX) == build(TENSIX)


@pytest.mark.parametrize("name", CASES)
def test_flipped_signatures(name):
    _cls, build, other_preset, _other_class, _text = CASES[name]
    sig = build(TINY)
    assert sig.flip() == build(TINY).flip()
    assert sig.flip() != sig and sig != sig.flip()
    assert sig.flip().flip() == sig
    # A component signature holding it compares structurally, so it relies on the value comparison.
    assert wiring.Signature({"port": wiring.In(sig)}) == wiring.Signature({"port": wiring.In(build(TINY))})
    assert wiring.Signature({"port": wiring.In(sig)}) != wiring.Signature({"port": wiring.Out(sig)})
    if other_preset:
        assert sig.flip() != build(TENSIX).flip()


@pytest.mark.parametrize("name", CASES)
def test_repr_quotes_the_class_and_parameters(name):
    _cls, build, other_preset, _other_class, text = CASES[name]
    sig = build(TINY)
    assert repr(sig).startswith(text), repr(sig)
    assert repr(sig.flip()) == repr(sig) + ".flip()"
    if other_preset:
        assert repr(sig) != repr(build(TENSIX))
        assert repr(sig) == repr(build(TINY))


@pytest.mark.parametrize("build,bad", [
    (L1ResponseSignature, TINY.noc),
    (L1PortSignature, 4096),
    (LinkSignature, TINY.l1),
    (LinkSignature, None),
    (lambda bad: ChipTraceSignature(bad, 1), -1),
    (lambda bad: ChipTraceSignature(4, bad), True),
])
def test_constructors_reject_bad_parameters_and_quote_them(build, bad):
    with pytest.raises(TypeError, match=re.escape(repr(bad))):
        build(bad)


def _hw_signature_classes():
    """Every ``wiring.Signature`` subclass defined in a tessera.hw module, nested ones included."""
    found = {}

    def visit(owner, module_name):
        for value in vars(owner).values():
            if inspect.isclass(value) and value.__module__ == module_name:
                if issubclass(value, wiring.Signature) and value is not ValueSignature:
                    found[value.__qualname__] = value
                visit(value, module_name)

    for info in pkgutil.walk_packages(tessera.hw.__path__, "tessera.hw."):
        module = importlib.import_module(info.name)
        visit(module, module.__name__)
    return found


def test_every_hw_signature_is_a_value_signature_and_is_tested_here():
    classes = _hw_signature_classes()
    assert classes, "no signature classes found under tessera.hw"
    not_by_value = [name for name, cls in classes.items() if not issubclass(cls, ValueSignature)]
    assert not not_by_value, f"signatures compared by identity: {not_by_value}"
    # Private bases (``_BusSignature``) are only built through their public subclasses.
    untested = sorted(name for name in set(classes) - set(CASES) if not name.startswith("_"))
    assert not untested, f"signatures without a case in this file: {untested}"
    for name in CASES:
        assert CASES[name][0] is classes[name]
