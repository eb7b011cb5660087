"""ttnn's data types, layouts and memory configurations, and the one error every refusal raises.

The names are ttnn's (``ttnn.bfloat16``, ``ttnn.TILE_LAYOUT``,
``ttnn.DRAM_MEMORY_CONFIG``); each data type knows the engine tile format it
is stored in on the device.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tessera.sw.host.buffer import BufferType
from tessera.sw.host.program import DataFormat

__all__ = ["TtnnError", "DataType", "Layout", "MemoryConfig", "float32", "bfloat16", "bfloat8_b", "uint32",
           "TILE_LAYOUT", "ROW_MAJOR_LAYOUT", "DRAM_MEMORY_CONFIG", "L1_MEMORY_CONFIG", "TILE_SIZE",
           "data_type", "layout_of", "memory_config_of"]

#: Rows and columns of a tile (the engine's 32x32; faces are an engine detail the tensors hide).
TILE_SIZE = 32


class TtnnError(ValueError):
    """A tensor or an op's arguments are not supported: the message names the op, the value and what is allowed."""


class DataType(enum.Enum):
    """Element types of tensors; the value is ttnn's name."""

    float32 = "float32"
    bfloat16 = "bfloat16"
    bfloat8_b = "bfloat8_b"
    uint32 = "uint32"

    @property
    def data_format(self):
        """The engine tile format a TILE tensor of this type is stored in (uint32: none, ROW_MAJOR only)."""
        return _FORMATS[self]

    @property
    def is_float(self) -> bool:
        return self is not DataType.uint32

    def __repr__(self) -> str:
        return f"ttnn.{self.value}"


_FORMATS = {DataType.float32: DataFormat.Float32, DataType.bfloat16: DataFormat.Float16_b,
            DataType.bfloat8_b: DataFormat.Bfp8_b, DataType.uint32: None}


class Layout(enum.Enum):
    ROW_MAJOR = "ROW_MAJOR_LAYOUT"
    TILE = "TILE_LAYOUT"

    def __repr__(self) -> str:
        return f"ttnn.{self.value}"


@dataclass(frozen=True)
class MemoryConfig:
    """Where a device tensor lives: interleaved over the DRAM banks or over the Tensix cores' L1."""

    buffer_type: BufferType = BufferType.DRAM

    def __repr__(self) -> str:
        return f"ttnn.{self.buffer_type.name}_MEMORY_CONFIG"


float32, bfloat16, bfloat8_b, uint32 = DataType.float32, DataType.bfloat16, DataType.bfloat8_b, DataType.uint32
TILE_LAYOUT, ROW_MAJOR_LAYOUT = Layout.TILE, Layout.ROW_MAJOR
DRAM_MEMORY_CONFIG = MemoryConfig(BufferType.DRAM)
L1_MEMORY_CONFIG = MemoryConfig(BufferType.L1)


def data_type(value, what: str = "dtype") -> DataType:
    """``value`` as a DataType (a DataType, its name, or a numpy dtype of float32 / uint32)."""
    if isinstance(value, DataType):
        return value
    if isinstance(value, str) and value in DataType._value2member_map_:
        return DataType(value)
    name = getattr(value, "name", None) if not isinstance(value, str) else None
    if name in ("float32", "uint32"):
        return DataType(name)
    allowed = ", ".join(f"ttnn.{d.value}" for d in DataType)
    raise TtnnError(f"{what} {value!r} is not a data type; allowed: {allowed}")


def layout_of(value, what: str = "layout") -> Layout:
    if isinstance(value, Layout):
        return value
    if isinstance(value, str):
        for layout in Layout:
            if value in (layout.value, layout.name):
                return layout
    raise TtnnError(f"{what} {value!r} is not a layout; allowed: ttnn.TILE_LAYOUT, ttnn.ROW_MAJOR_LAYOUT")


def memory_config_of(value, what: str = "memory_config") -> MemoryConfig:
    if value is None:
        return DRAM_MEMORY_CONFIG
    if isinstance(value, MemoryConfig):
        return value
    raise TtnnError(f"{what} {value!r} is not a memory config; allowed: ttnn.DRAM_MEMORY_CONFIG, "
                    f"ttnn.L1_MEMORY_CONFIG")
