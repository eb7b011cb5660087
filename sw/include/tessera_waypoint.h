/* Firmware waypoints: tell a timeline what this core is waiting on (docs/firmware.md, docs/chip.md).
 *
 * A waypoint is one store of a code to this core's tile_ctrl.waypoint
 * register; the register drives the core's debug port, where a tracer
 * (sim/chip/trace.py) turns every change into an interval on the core's
 * track.  Set a wait code before a spin loop and TESSERA_WAYPOINT_RUNNING
 * after it; the runtime stores TESSERA_WAYPOINT_DONE when the program exits.
 * The codes (TESSERA_WAYPOINT_<NAME>) and the register address
 * (TESSERA_TARGET_WAYPOINT_ADDR) come from tessera_target.h, generated from
 * hw/tile/waypoint.py and the configuration.
 *
 * On a target without the register (the run-elf system) both forms compile
 * to nothing.
 */
#ifndef TESSERA_WAYPOINT_H
#define TESSERA_WAYPOINT_H

#include <stdint.h>

#include "tessera_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Store waypoint `code` (a TESSERA_WAYPOINT_* value) for this core: one MMIO store. */
static inline void tessera_waypoint(uint32_t code) {
#ifdef TESSERA_TARGET_WAYPOINT_ADDR
    tessera_mmio_write32(TESSERA_TARGET_WAYPOINT_ADDR, code);
#else
    (void)code;
#endif
}

/** TESSERA_WAYPOINT(NOC_READ_BARRIER) stores TESSERA_WAYPOINT_NOC_READ_BARRIER. */
#define TESSERA_WAYPOINT(name) tessera_waypoint(TESSERA_WAYPOINT_##name)

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_WAYPOINT_H */
