/* Device header of the single-core run-elf system (`tessera run-elf`).
 *
 * Memory map (all from the configuration, see the generated tessera_target.h):
 *   TESSERA_RUNELF_RAM_BASE .. + TESSERA_RUNELF_RAM_BYTES   code, data, bss, stack (top)
 *   TESSERA_RUNELF_CONSOLE_ADDR                              console byte register
 *   tohost (an ELF symbol)                                   exit: (code << 1) | 1
 *
 * Console output: tessera_putchar / tessera_puts / tessera_printf.
 * Exit: return from main() or call tessera_exit(code).
 */
#ifndef TESSERA_RUNELF_H
#define TESSERA_RUNELF_H

#include "tessera_io.h"

#if !TESSERA_TARGET_RUNELF
#error "tessera_runelf.h is for the run-elf target; build with target 'runelf' or include tessera.h"
#endif

#endif /* TESSERA_RUNELF_H */
