/* Returning a few hundred megabytes of touched memory to the system takes
 * milliseconds (munmap walks every page); the interrupt contract allows far
 * less than that between interrupt() and the return, so big releases happen
 * on a short-lived detached thread. Large blocks that live long are
 * backed by huge pages where the system allows it (kh_advise_huge_pages). */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE in glibc's <sys/mman.h> */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "deferred_free.h"

enum { INLINE_LIMIT = 4u << 20, INITIAL_CAPACITY = 16 };

struct kh_garbage {
    size_t count, capacity, bytes;
    void **blocks;
};

kh_garbage *kh_garbage_new(void) {
    kh_garbage *bag = calloc(1, sizeof *bag);
    if (bag == NULL) return NULL;
    bag->blocks = malloc(INITIAL_CAPACITY * sizeof *bag->blocks);
    if (bag->blocks == NULL) {
        free(bag);
        return NULL;
    }
    bag->capacity = INITIAL_CAPACITY;
    return bag;
}

void kh_garbage_add(kh_garbage *bag, void *block, size_t bytes) {
    if (block == NULL) return;
    if (bag == NULL) {
        free(block);
        return;
    }
    if (bag->count == bag->capacity) {
        void **grown = realloc(bag->blocks, 2 * bag->capacity * sizeof *grown);
        if (grown == NULL) {
            free(block);
            return;
        }
        bag->blocks = grown;
        bag->capacity *= 2;
    }
    bag->blocks[bag->count++] = block;
    bag->bytes += bytes;
}

static void *free_all(void *arg) {
    kh_garbage *bag = arg;
    for (size_t i = 0; i < bag->count; ++i) free(bag->blocks[i]);
    free(bag->blocks);
    free(bag);
    return NULL;
}

void kh_free_deferred(void *block, size_t bytes) {
    if (block == NULL) return;
    kh_garbage *bag = kh_garbage_new();
    kh_garbage_add(bag, block, bytes);
    kh_garbage_release(bag);
}

void kh_garbage_release(kh_garbage *bag) {
    if (bag == NULL) return;
    if (bag->bytes > INLINE_LIMIT) {
        pthread_attr_t attr;
        pthread_t thread;
        if (pthread_attr_init(&attr) == 0) {
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            int created = pthread_create(&thread, &attr, free_all, bag);
            pthread_attr_destroy(&attr);
            if (created == 0) return;
        }
    }
    free_all(bag);
}

void kh_advise_huge_pages(void *block, size_t bytes) {
#if defined(MADV_HUGEPAGE)
    /* Only whole 2 MiB pages inside the block; a refusal (no THP, or not a
     * mapping madvise accepts) changes nothing. */
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (block == NULL || bytes < 2 * huge) return;
    uintptr_t start = ((uintptr_t)block + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)block + bytes) & ~(huge - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)block, (void)bytes;
#endif
}

void kh_return_free_memory(void) {
#if defined(__GLIBC__)
    /* glibc keeps freed blocks of a few megabytes in its heaps, between
     * blocks still in use, rather than returning them to the system. */
    malloc_trim(0);
#endif
}
