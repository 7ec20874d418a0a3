/* ports/x86_64/boot.S: from QEMU's PVH entry (32-bit protected mode, paging off) to C++ in
 * 64-bit long mode, for the bootstrap core and for the application cores.
 *
 * Bootstrap core (BSP):
 *   1. QEMU jumps to pvh_entry (named by the PVH note below) with %ebx = hvm_start_info.
 *   2. Zero .bss (the page tables and stacks live there), keep %ebx in boot_start_info.
 *   3. Build an identity map of the first IDENTITY_GIB GiB with 2 MiB pages
 *      (PML4[0] -> PDPT[0..IDENTITY_GIB-1] -> PD pages), load the GDT.
 *   4. CR4.PAE|OSFXSR|OSXMMEXCPT, CR3, EFER.LME, CR0.PG|MP (EM clear: g++ emits SSE), far jump
 *      to the 64-bit code segment, set a stack, call x86_boot (console, IDT, .init_array), then
 *      main, then x86_main_returned(status), which ends the run.
 *
 * Application cores (APs), woken by INIT-SIPI-SIPI (smp.cpp):
 *   ap_trampoline_start..ap_trampoline_end is copied to AP_TRAMPOLINE_BASE (0x8000, SIPI vector
 *   0x08). Real mode: load the kernel's GDT, set CR0.PE, jump to ap_protected_mode (32-bit, in
 *   the kernel image), which enters long mode with the BSP's page tables like step 4. Each AP
 *   takes the next cpu index with lock xadd, takes that index's stack and calls
 *   x86_ap_main(index), which never returns.
 */
#include "x86/boot_layout.h"

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define PAGE_PRESENT_WRITABLE 0x3
#define PAGE_LARGE 0x80

/* --- the PVH note: QEMU's ELF loader finds it through the PT_NOTE program header ------------- */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4                         /* name size */
        .long 4                         /* descriptor size */
        .long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .balign 4
        .long pvh_entry

/* --- entering long mode, shared by the BSP and the APs (needs boot_pml4 filled in) ---------- */
.macro ENTER_LONG_MODE target
        movl %cr4, %eax
        orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
        movl %eax, %cr4
        movl $boot_pml4, %eax
        movl %eax, %cr3
        movl $MSR_EFER, %ecx
        rdmsr
        orl $EFER_LME, %eax
        wrmsr
        movl %cr0, %eax
        andl $~CR0_EM, %eax
        orl $(CR0_PG | CR0_MP | CR0_PE), %eax
        movl %eax, %cr0
        ljmp $GDT_CODE64, $\target
.endm

.macro LOAD_DATA_SEGMENTS
        movw $GDT_DATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs
.endm

        .section .text.boot, "ax"
        .code32
        .globl pvh_entry
pvh_entry:
        cli
        cld
        movl %ebx, %esi                 /* hvm_start_info; .bss is zeroed next */
        movl $__bss_start, %edi
        movl $__bss_end, %ecx
        subl %edi, %ecx
        xorl %eax, %eax
        rep stosb
        movl %esi, boot_start_info

        /* PD entries: page i maps [i * 2 MiB, (i + 1) * 2 MiB), present, writable, large. */
        movl $boot_pd, %edi
        xorl %ecx, %ecx
1:      movl %ecx, %eax
        shll $21, %eax
        orl $(PAGE_PRESENT_WRITABLE | PAGE_LARGE), %eax
        movl %eax, (%edi, %ecx, 8)
        movl %ecx, %eax
        shrl $11, %eax                  /* bits 32 and up of the physical address */
        movl %eax, 4(%edi, %ecx, 8)
        incl %ecx
        cmpl $(IDENTITY_GIB * 512), %ecx
        jb 1b
        /* PDPT entry g points at the PD page of GiB g. */
        movl $boot_pdpt, %edi
        movl $(boot_pd + PAGE_PRESENT_WRITABLE), %eax
        xorl %ecx, %ecx
2:      movl %eax, (%edi, %ecx, 8)
        addl $4096, %eax
        incl %ecx
        cmpl $IDENTITY_GIB, %ecx
        jb 2b
        movl $(boot_pdpt + PAGE_PRESENT_WRITABLE), boot_pml4

        lgdt gdt_pointer
        LOAD_DATA_SEGMENTS
        ENTER_LONG_MODE bsp_long_mode

        .code64
bsp_long_mode:
        LOAD_DATA_SEGMENTS
        movq $bsp_stack_top, %rsp
        xorl %ebp, %ebp
        movl boot_start_info(%rip), %edi
        call x86_boot
        call main
        movl %eax, %edi
        call x86_main_returned
3:      cli
        hlt
        jmp 3b

/* --- application cores ---------------------------------------------------------------------- */
        .code32
ap_protected_mode:
        LOAD_DATA_SEGMENTS
        ENTER_LONG_MODE ap_long_mode

        .code64
ap_long_mode:
        LOAD_DATA_SEGMENTS
        movl $1, %eax
        lock xaddl %eax, ap_next_index(%rip)
        cmpl $MAX_CPUS, %eax
        jae 5f                          /* more cores than stacks: park this one */
        movl %eax, %edi                 /* x86_ap_main(index) */
        imull $AP_STACK_BYTES, %eax, %eax
        leaq ap_stacks(%rip), %rsp
        addq %rax, %rsp                 /* top of stack `index` (stack 1 is the first) */
        xorl %ebp, %ebp
        call x86_ap_main
5:      cli
        hlt
        jmp 5b

/* The real-mode trampoline, copied to AP_TRAMPOLINE_BASE. Position dependent on that base only. */
        .code16
        .globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
        cli
        cld
        xorw %ax, %ax
        movw %ax, %ds
        lgdtl AP_TRAMPOLINE_BASE + (ap_gdt_pointer - ap_trampoline_start)
        movl %cr0, %eax
        orl $CR0_PE, %eax
        movl %eax, %cr0
        ljmpl $GDT_CODE32, $ap_protected_mode
        .balign 4
ap_gdt_pointer:
        .word gdt_end - gdt - 1
        .long gdt
ap_trampoline_end:

/* --- data ----------------------------------------------------------------------------------- */
        .section .data
        .balign 16
gdt:
        .quad 0                         /* null */
        .quad 0x00AF9B000000FFFF        /* GDT_CODE64: long mode code, DPL 0 */
        .quad 0x00CF93000000FFFF        /* GDT_DATA: flat data */
        .quad 0x00CF9B000000FFFF        /* GDT_CODE32: the APs' protected-mode step */
gdt_end:
gdt_pointer:
        .word gdt_end - gdt - 1
        .long gdt

        .globl ap_next_index
        .balign 4
ap_next_index:
        .long 1                         /* the BSP is cpu 0 */

        .section .bss.page_tables, "aw", @nobits
        .balign 4096
        .globl boot_pml4
boot_pml4:
        .skip 4096
boot_pdpt:
        .skip 4096
boot_pd:
        .skip 4096 * IDENTITY_GIB

        .section .bss, "aw", @nobits
        .balign 16
        .globl boot_start_info
boot_start_info:
        .skip 8
        .balign 16
        .globl bsp_stack_bottom
bsp_stack_bottom:
        .skip BSP_STACK_BYTES
bsp_stack_top:
        .balign 16
        .globl ap_stacks
ap_stacks:
        .skip AP_STACK_BYTES * (MAX_CPUS - 1)

        .section .note.GNU-stack, "", @progbits
