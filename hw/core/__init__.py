"""The Tessera RV32IMC core: the pipeline (core.py) and its units (fetch, decoder with the RVC expander, ALU with the divider, load-store, CSR/trap), ISA encodings (isa.py), bus interfaces."""
