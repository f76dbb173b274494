/* The interrupt handle: a reference-counted, lock-free cancellation flag.
 *
 * Each CInterrupt is its own small allocation pointing at a shared state, so
 * every handle (original or clone) is freed exactly once, and the shared
 * state goes with the last one. */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

struct interrupt_state {
    atomic_bool flag;    /* relaxed: a flag orders nothing else */
    atomic_size_t refs;  /* handles alive; release on drop, acquire on free */
};

struct knowhere_interrupt {
    struct interrupt_state *state;
};

static CInterrupt new_handle(struct interrupt_state *state) {
    CInterrupt handle = malloc(sizeof *handle);
    if (handle != NULL) handle->state = state;
    return handle;
}

CInterrupt knowhere_interrupt_create_with_state(bool interrupted) {
    struct interrupt_state *state = malloc(sizeof *state);
    if (state == NULL) return NULL;
    atomic_init(&state->flag, interrupted);
    atomic_init(&state->refs, 1);
    CInterrupt handle = new_handle(state);
    if (handle == NULL) free(state);
    return handle;
}

CInterrupt knowhere_interrupt_create(void) {
    return knowhere_interrupt_create_with_state(false);
}

bool knowhere_interrupt_is_interrupted(CInterrupt interrupt) {
    if (interrupt == NULL) return false;
    return atomic_load_explicit(&interrupt->state->flag, memory_order_relaxed);
}

int knowhere_interrupt_interrupt(CInterrupt interrupt) {
    if (interrupt == NULL) return KNOWHERE_ERR_INVALID_ARG;
    atomic_store_explicit(&interrupt->state->flag, true, memory_order_relaxed);
    return KNOWHERE_OK;
}

int knowhere_interrupt_reset(CInterrupt interrupt) {
    if (interrupt == NULL) return KNOWHERE_ERR_INVALID_ARG;
    atomic_store_explicit(&interrupt->state->flag, false, memory_order_relaxed);
    return KNOWHERE_OK;
}

bool knowhere_interrupt_test_and_set(CInterrupt interrupt) {
    if (interrupt == NULL) return false;
    return atomic_exchange_explicit(&interrupt->state->flag, true,
                                    memory_order_relaxed);
}

CInterrupt knowhere_interrupt_clone(CInterrupt interrupt) {
    if (interrupt == NULL) return NULL;
    struct interrupt_state *state = interrupt->state;
    /* Relaxed is enough to take a reference from one we already hold. */
    atomic_fetch_add_explicit(&state->refs, 1, memory_order_relaxed);
    CInterrupt clone = new_handle(state);
    if (clone == NULL)
        atomic_fetch_sub_explicit(&state->refs, 1, memory_order_release);
    return clone;
}

void knowhere_interrupt_free(CInterrupt interrupt) {
    if (interrupt == NULL) return;
    struct interrupt_state *state = interrupt->state;
    free(interrupt);
    /* Release publishes this thread's last use of the state; acquire makes
     * the thread that drops the last reference see every other use first. */
    if (atomic_fetch_sub_explicit(&state->refs, 1, memory_order_acq_rel) == 1)
        free(state);
}

int knowhere_interrupt_check(CInterrupt interrupt, knowhere_error **err,
                             const char *message) {
    if (KH_LIKELY(!knowhere_interrupt_is_interrupted(interrupt)))
        return KNOWHERE_OK;
    return knowhere_error_set(err, KNOWHERE_ERR_INTERRUPTED,
                              message ? message : "operation interrupted");
}
