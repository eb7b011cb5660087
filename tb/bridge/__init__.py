"""Tests of the UART host bridge (hw/chip/uart.py, hw/chip/host_bridge.py, hw/chip/bridged_chip.py)."""
