/* L1 buffers of chip_dataflow.c, relative to the first data byte of L1 (tb/chip/cocotb_chip.py
 * uses the same offsets through CHIP_LAYOUT). */
#ifndef CHIP_DATAFLOW_H
#define CHIP_DATAFLOW_H

#define CHIP_BUF (TESSERA_L1_DATA_BASE + 0x1001u)
#define CHIP_BUF2 (TESSERA_L1_DATA_BASE + 0x2000u)
#define CHIP_RX (TESSERA_L1_DATA_BASE + 0x3000u)
#define CHIP_MC (TESSERA_L1_DATA_BASE + 0x5000u)
#define CHIP_MC2 (TESSERA_L1_DATA_BASE + 0x5400u)
#define CHIP_SEM (TESSERA_L1_DATA_BASE + 0x6000u)
#define CHIP_GO (TESSERA_L1_DATA_BASE + 0x6010u)
#define CHIP_GO_SRC (TESSERA_L1_DATA_BASE + 0x6020u)
#define CHIP_RESULT (TESSERA_L1_DATA_BASE + 0x6100u)
#define CHIP_INLINE (TESSERA_L1_DATA_BASE + 0x6200u)
#define CHIP_MC_LEN 100u
#define CHIP_MC2_LEN 60u

#endif
