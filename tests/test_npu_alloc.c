/* test_npu_alloc.c — the NPU plan allocates nothing after it is built.
 *
 * The allocator is wrapped at link time for this executable only (tests/CMakeLists.txt passes
 * --wrap=malloc,calloc,realloc,posix_memalign,aligned_alloc,strdup), so every allocation the
 * library's code makes goes through the counters below. The library itself has no hook and no global
 * state for this; the counting lives here. A live-counter check first proves the wrapping works. */
#include <stdatomic.h>

#include "test_npu_util.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);

static atomic_int counting;
static atomic_size_t n_allocs;

static void note(void) {
    if (atomic_load(&counting))
        atomic_fetch_add(&n_allocs, 1);
}

void *__wrap_malloc(size_t n) {
    note();
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
    note();
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
    note();
    return __real_realloc(p, n);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    note();
    return __real_posix_memalign(p, align, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
    note();
    return __real_aligned_alloc(align, n);
}
char *__wrap_strdup(const char *s) {
    note();
    return __real_strdup(s);
}

static void start_counting(void) {
    atomic_store(&n_allocs, 0);
    atomic_store(&counting, 1);
}

static size_t stop_counting(void) {
    atomic_store(&counting, 0);
    return atomic_load(&n_allocs);
}

static void test_counter_is_live(void) {
    start_counting();
    npg_properties *p = NULL;
    REQUIRE_OK(npg_properties_create(&p));
    npg_properties_set(p, "A", "B");
    size_t n = stop_counting();
    npg_properties_free(p);
    CHECK(n >= 3); /* the map, its item array, the key and value copies */
}

/* Prefill (padded chunks or the static shape), decode to the end of the context, a second prefill at
 * pos > 0 (a chat turn): zero allocations after creation. */
static void check_no_allocations(const char *model, const char *hint, const char *chunk) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(model_dir(model), &m));
    npg_properties *props = props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "GENERATE_HINT", hint,
                                     "NPUW_LLM_PREFILL_CHUNK_SIZE", chunk, "NUM_THREADS", "2", NULL);
    npg_engine *e = NULL;
    npg_status st = npg_npu_engine_create(m, model_dir(model), props, &e);
    npg_properties_free(props);
    if (st != NPG_OK) {
        npg_model_free(m);
        REQUIRE_OK(st);
    }
    int32_t prompt[40], gen[60], turn[7] = {5, 6, 7, 8, 9, 10, 11};
    test_prompt(m->cfg.vocab, prompt, 40);
    float *logits = NULL;
    start_counting();
    st = greedy(e, prompt, 40, 60, gen, NULL);
    if (st == NPG_OK)
        st = e->ops->check_request(e, 106, 99, NULL);
    if (st == NPG_OK)
        st = e->ops->prefill(e, turn, 7, 99, &logits);
    for (size_t pos = 106; pos < 128 && st == NPG_OK; pos++)
        st = e->ops->decode(e, argmax(logits, m->cfg.vocab), pos, &logits);
    size_t n = stop_counting();
    CHECK(st == NPG_OK);
    fprintf(stderr, "  %s %s chunk %s: %zu allocations while generating\n", model, hint, chunk, n);
    CHECK(n == 0);
    e->ops->free(e);
    npg_model_free(m);
}

static void test_generate_allocates_nothing(void) {
    check_no_allocations("stories260K", "FAST_COMPILE", "16");
    check_no_allocations("stories260K", "BEST_PERF", "1024");
    check_no_allocations("random-phi3", "BEST_PERF", "32");
    check_no_allocations("random-gemma3", "FAST_COMPILE", "16");
}

int main(void) {
    RUN(test_counter_is_live);
    RUN(test_generate_allocates_nothing);
    return npg_test_summary();
}
