#include "core/barrier.h"

#include <sched.h>

/* About 20-60 µs of polling on current x86 cores (a pause is 40-140 cycles): longer than the small
 * operations one member does while the others wait, shorter than a scheduler time slice. */
enum { SPINS = 2000 };

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void npg_spin_barrier_init(npg_spin_barrier *b, int n) {
    atomic_init(&b->arrived, 0);
    atomic_init(&b->phase, 0u);
    b->n = n;
}

void npg_spin_barrier_wait(npg_spin_barrier *b) {
    if (b->n <= 1)
        return;
    /* the phase is read before arriving: the last member bumps it only after everyone arrived */
    unsigned ph = atomic_load_explicit(&b->phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) + 1 == b->n) {
        /* reset before releasing: no member can arrive at the next phase before seeing the bump */
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&b->phase, ph + 1, memory_order_release);
        return;
    }
    for (int i = 0; atomic_load_explicit(&b->phase, memory_order_acquire) == ph; i++) {
        if (i < SPINS)
            cpu_relax();
        else
            sched_yield();
    }
}
