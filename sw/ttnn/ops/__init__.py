"""The ttnn ops, one module per family (eltwise, matmul, normalization, data movement)."""
