/* barrier.h — a spin barrier for the members of one parallel region (the decode forward's team,
 * models/forward_decode.c).
 *
 * A thread pool dispatch (condition variables, a task counter) costs microseconds; the decode step
 * needs ~7 synchronisations per layer between operations that take tens of microseconds, so the
 * members of one long region wait for each other here instead: a shared counter and a phase word,
 * polled with a pause. Past a short spin a waiter yields the core (a machine with more runnable
 * threads than cores would otherwise burn the time slice the late member needs). */
#ifndef NPG_CORE_BARRIER_H
#define NPG_CORE_BARRIER_H

#include <stdatomic.h>

typedef struct npg_spin_barrier {
    atomic_int arrived;  /* members at the barrier in this phase */
    atomic_uint phase;   /* bumped by the last arriving member */
    int n;               /* members */
} npg_spin_barrier;

void npg_spin_barrier_init(npg_spin_barrier *b, int n);
/* Returns once all n members called it (for this phase). Everything a member wrote before it is
 * visible to every member after it. */
void npg_spin_barrier_wait(npg_spin_barrier *b);

#endif
