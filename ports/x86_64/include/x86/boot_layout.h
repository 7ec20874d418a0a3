/* ports/x86_64/boot_layout.h: numbers shared by the boot assembly and the C++ side of the port.
 * Plain #defines, because boot.S and isr.S include it too. */
#ifndef KEEL_PORTS_X86_64_BOOT_LAYOUT_H
#define KEEL_PORTS_X86_64_BOOT_LAYOUT_H

/* GDT selectors (boot.S builds the table). */
#define GDT_CODE64 0x08
#define GDT_DATA 0x10
#define GDT_CODE32 0x18

/* The boot stub identity-maps this many GiB with 2 MiB pages; RAM above is not used. */
#define IDENTITY_GIB 16

/* Cores the port supports (cpu indexes 0 .. MAX_CPUS - 1; 0 is the bootstrap core). */
#define MAX_CPUS 16

/* Stacks: the bootstrap core's, and one per application core. */
#define BSP_STACK_BYTES 65536
#define AP_STACK_BYTES 32768

/* Where the application cores' real-mode trampoline is copied (SIPI vector = base >> 12). */
#define AP_TRAMPOLINE_BASE 0x8000

#endif
