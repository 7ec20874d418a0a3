/* keel/keel.h: the C API over one keel heap.
 *
 * The heap behind this API is keel::Heap<keel::FailOnOom> with statistics on and basic checks
 * (docs/design.md): O(1) allocation and free, one 4-byte header per block, bad frees reported
 * through the fault hook. It is not synchronised: wrap the calls in your own lock, or use the
 * C++ keel::Locked. Every function is O(1) except keel_claim (O(regions)) and keel_validate
 * (O(blocks)).
 *
 *     static unsigned char arena[64 * 1024];
 *     keel_heap* heap = keel_init(arena, sizeof arena);
 *     char* text = keel_malloc(heap, 100);
 *     keel_free(heap, text);
 */
#ifndef KEEL_KEEL_H
#define KEEL_KEEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KEEL_MALLOC __attribute__((malloc, warn_unused_result))
#define KEEL_ALLOC_SIZE(n) __attribute__((alloc_size(n)))
#define KEEL_ALLOC_SIZE2(n, m) __attribute__((alloc_size(n, m)))
#define KEEL_ALLOC_ALIGN(n) __attribute__((alloc_align(n)))
#else
#define KEEL_MALLOC
#define KEEL_ALLOC_SIZE(n)
#define KEEL_ALLOC_SIZE2(n, m)
#define KEEL_ALLOC_ALIGN(n)
#endif

typedef struct keel_heap keel_heap;

/* Counters of a heap; see keel::Statistics for the meaning of each. */
typedef struct keel_stats {
  size_t bytes_claimed;
  size_t bytes_in_use;
  size_t bytes_free;
  size_t peak_bytes_in_use;
  size_t min_bytes_free;
  size_t live_allocations;
  uint64_t total_allocations;
  uint64_t failed_allocations;
  size_t largest_free_block;
  unsigned fragmentation_permille;
} keel_stats;

/* Bytes the heap's control structure takes at most at the start of the memory given to keel_init
 * (about 1.8 KiB); keel_init needs at least this much plus one region. */
size_t keel_heap_size(void);

/* Places a heap at the start of `memory` and claims the rest as its first region.
 * Returns null if memory is null or smaller than keel_heap_size() plus one region.
 * Over at most 64 KiB, the heap holds blocks of at most 64 KiB (a malloc of more returns null
 * however much memory later claims add), and its control structure then takes about 0.8 KiB
 * (780 B on x86_64, 796 B on Cortex-M); the bytes it does not need belong to the region. */
keel_heap* keel_init(void* memory, size_t size);

/* Adds a region. Returns 0, or a non-zero code (the keel::RegionError value plus one):
 * 1 null span, 2 too small, 3 overlaps a region, 4 out of the link window (16 or 32 GiB).
 * A span larger than the heap's largest region (64 KiB and a few bytes for a heap that
 * keel_init limited, else 4 GiB) becomes several regions; should one of the later ones be
 * refused, the rest of the span stays unused and 0 is still returned. */
int keel_claim(keel_heap* heap, void* memory, size_t size);

/* malloc: size 0 gives a unique minimum block; null on failure. Alignment: the target's
 * max_align_t (8 on 32-bit Arm, 16 on x86_64). */
void* keel_malloc(keel_heap* heap, size_t size) KEEL_MALLOC KEEL_ALLOC_SIZE(2);

/* Any power-of-two alignment; null if alignment is not one. */
void* keel_aligned_alloc(keel_heap* heap, size_t alignment, size_t size) KEEL_MALLOC
    KEEL_ALLOC_ALIGN(2) KEEL_ALLOC_SIZE(3);

/* Zeroed count * size bytes; null if the product overflows. */
void* keel_calloc(keel_heap* heap, size_t count, size_t size) KEEL_MALLOC KEEL_ALLOC_SIZE2(2, 3);

/* realloc: null pointer = malloc; size 0 frees and returns null; on failure null and the old
 * block unchanged. The result has the default alignment if the block moves. */
void* keel_realloc(keel_heap* heap, void* pointer, size_t size) KEEL_ALLOC_SIZE(3);

/* free: null is ignored; a pointer that is not a live block goes to the fault hook. */
void keel_free(keel_heap* heap, void* pointer);

/* Usable bytes of a live block; 0 for null. */
size_t keel_usable_size(keel_heap* heap, const void* pointer);

void keel_get_stats(keel_heap* heap, keel_stats* stats);

/* Checks every invariant: 0 if healthy, else the keel::Violation code, with the address
 * concerned stored in *where if where is not null. O(blocks). */
int keel_validate(keel_heap* heap, const void** where);

/* What keel found wrong, passed to the fault handler: the values of keel::Fault
 * (keel/fault.hpp; docs/errors.md says which misuse gives which). */
enum keel_fault {
  KEEL_FAULT_FOREIGN_POINTER = 0,     /* outside every region of the heap */
  KEEL_FAULT_MISALIGNED_POINTER = 1,  /* not on the heap's 8-byte payload alignment */
  KEEL_FAULT_DOUBLE_FREE = 2,         /* the block is already free */
  KEEL_FAULT_INVALID_POINTER = 3,     /* inside the heap, not the start of a live block */
  KEEL_FAULT_CORRUPTED_BLOCK = 4,     /* a header, footer or link was overwritten */
  KEEL_FAULT_POOL_FOREIGN = 5,        /* a pool was handed a pointer that is not its block */
  KEEL_FAULT_POOL_DOUBLE_RELEASE = 6, /* a pool block was released twice */
  KEEL_FAULT_BUFFER_OVERRUN = 7,      /* bytes past a live block were written (full checks) */
  KEEL_FAULT_WRITE_AFTER_FREE = 8     /* a free block was written (full checks) */
};

/* A fault handler: `fault` is a keel_fault, `address` the pointer given or the block found
 * damaged. It may return (keel then abandons the call that found the fault and leaves the heap as
 * it was) or not return; it must not call the heap that reported the fault. */
typedef void (*keel_fault_handler)(int fault, const void* address);

/* Installs `handler` for every keel heap and pool of the program (null restores the default:
 * a trap, or what an adapter such as the FreeRTOS heap made the default) and returns the handler
 * installed before through this function, or null if there was none. O(1); not synchronised:
 * install it before other threads or interrupts use keel. */
keel_fault_handler keel_set_fault_handler(keel_fault_handler handler);

/* A short lower-case name of a fault ("double_free"); "unknown" outside the enum. */
const char* keel_fault_name(int fault);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_KEEL_H */
