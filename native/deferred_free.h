/* Freeing large blocks off the calling thread, so that an interrupted or
 * replaced structure does not hold up the return to the caller. */
#ifndef KNOWHERE_DEFERRED_FREE_H
#define KNOWHERE_DEFERRED_FREE_H

#include <stddef.h>

typedef struct kh_garbage kh_garbage;

/* A new, empty bag of blocks to free (NULL on out-of-memory: then
 * kh_garbage_add frees at once, which is always correct, only slower). */
kh_garbage *kh_garbage_new(void);
/* Adds a block of about `bytes` bytes (NULL is ignored). */
void kh_garbage_add(kh_garbage *bag, void *block, size_t bytes);
/* Frees every block and the bag: on a detached thread when they add up to
 * more than a few megabytes, else right here. NULL is a no-op. */
void kh_garbage_release(kh_garbage *bag);
/* Frees one block of about `bytes` bytes the same way. NULL is a no-op. */
void kh_free_deferred(void *block, size_t bytes);

/* Asks for transparent huge pages for a large block not yet touched (raw
 * signatures, band tables): fewer TLB misses, and a process holding
 * gigabytes of them exits in milliseconds instead of a second or more
 * spent freeing 4 KiB pages (what a Ctrl-C late in a large run waits
 * for). A no-op where the system has no such thing. */
void kh_advise_huge_pages(void *block, size_t bytes);

/* Returns the memory the allocator holds free to the system, where it can
 * (glibc: malloc_trim); before and after the largest allocations of a
 * large job, so that they do not add to what was freed but kept. */
void kh_return_free_memory(void);

#endif
