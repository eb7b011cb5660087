"""The Tessera RV32IMC core (pipeline, RVC expander, divider, bus interfaces)."""
