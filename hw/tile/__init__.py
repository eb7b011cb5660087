"""The Tensix-like tile: banked L1 SRAM, its requester ports and adapters, tile control registers."""
