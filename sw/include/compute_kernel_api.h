/* tt-metal's umbrella header name for the compute kernel API: see tessera_compute.h. */
#ifndef COMPUTE_KERNEL_API_H
#define COMPUTE_KERNEL_API_H

#include "tessera_compute.h"

#endif /* COMPUTE_KERNEL_API_H */
