/* ports/x86_64/isr.S: interrupt entry stubs.
 *
 * Every stub leaves the same frame (interrupts.hpp, struct InterruptFrame): it pushes a zero
 * when the CPU pushed no error code, then the vector, then isr_common saves the general
 * registers and the SSE state (fxsave: g++ uses SSE registers in ordinary code, and an interrupt
 * may land in the middle of it), calls x86_interrupt(frame) on a 16-byte aligned stack, and
 * restores everything for iretq.
 *
 * isr_stub_table holds the 32 exception stubs, then the stubs for X86_VECTOR_TIMER,
 * X86_VECTOR_SPURIOUS and X86_VECTOR_WAKE_UP (interrupts.hpp has the same numbers).
 */
#define X86_VECTOR_TIMER 0x20
#define X86_VECTOR_SPURIOUS 0xFF
#define X86_VECTOR_WAKE_UP 0xF1

        .text
isr_common:
        pushq %rax
        pushq %rbx
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %rbp
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        movq %rsp, %rbx                 /* the frame; rbx survives the call */
        subq $512, %rsp
        andq $-16, %rsp
        fxsave (%rsp)
        cld
        movq %rbx, %rdi
        call x86_interrupt
        fxrstor (%rsp)
        movq %rbx, %rsp
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rbp
        popq %rdi
        popq %rsi
        popq %rdx
        popq %rcx
        popq %rbx
        popq %rax
        addq $16, %rsp                  /* vector and error code */
        iretq

.macro STUB_NO_ERROR vector
isr_\vector:
        pushq $0
        pushq $\vector
        jmp isr_common
.endm

.macro STUB_ERROR vector
isr_\vector:
        pushq $\vector
        jmp isr_common
.endm

/* The CPU pushes an error code for #DF(8), #TS(10), #NP(11), #SS(12), #GP(13), #PF(14), #AC(17),
 * #CP(21), #VC(29) and #SX(30). */
        .irp vector, 0, 1, 2, 3, 4, 5, 6, 7, 9, 15, 16, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28, 31
        STUB_NO_ERROR \vector
        .endr
        .irp vector, 8, 10, 11, 12, 13, 14, 17, 21, 29, 30
        STUB_ERROR \vector
        .endr
isr_timer:
        pushq $0
        pushq $X86_VECTOR_TIMER
        jmp isr_common
isr_spurious:
        pushq $0
        pushq $X86_VECTOR_SPURIOUS
        jmp isr_common
isr_wake_up:
        pushq $0
        pushq $X86_VECTOR_WAKE_UP
        jmp isr_common

        .section .rodata
        .balign 8
        .globl isr_stub_table
isr_stub_table:
        .irp vector, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
        .quad isr_\vector
        .endr
        .quad isr_timer
        .quad isr_spurious
        .quad isr_wake_up

        .section .note.GNU-stack, "", @progbits
