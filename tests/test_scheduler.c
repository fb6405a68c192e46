/* test_scheduler.c — continuous batching (npg_llm_scheduler_*, stories260K on CPU).
 *
 * Requests decoded together, joining at different steps (prefill interleaved with running decodes),
 * each equal to the same request run alone by npg_llm_pipeline_generate_ids (ids and text); more
 * requests than slots (slots reused); a cancelled request gets no further events and frees its slot;
 * prefix reuse counts the shared prompt; bad requests refused before queueing; a full queue is
 * NPG_ERR_BUSY. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

enum { MAX_NEW = 40, N_REQ = 6 };

typedef struct collected {
    char text[4096];
    size_t len;
    bool done;
    int events_after_done;
    npg_finish_reason finish;
    npg_status status;
    size_t n_generated, n_reused;
} collected;

static npg_streaming_status collect(const npg_sched_event *ev, void *user) {
    collected *c = user;
    if (c->done)
        c->events_after_done++;
    if (ev->kind == NPG_SCHED_TEXT) {
        size_t n = strlen(ev->text);
        if (c->len + n < sizeof c->text) {
            memcpy(c->text + c->len, ev->text, n + 1);
            c->len += n;
        }
    } else {
        c->done = true;
        c->finish = ev->finish;
        c->status = ev->status;
        c->n_generated = ev->n_generated;
        c->n_reused = ev->n_reused;
    }
    return NPG_STREAMING_RUNNING;
}

static npg_llm_pipeline *open_stories(void) {
    npg_llm_pipeline *pipe = NULL;
    if (npg_llm_pipeline_create(shared_path("models/stories260K"), "CPU", 2, &pipe, "NUM_THREADS", "2") != NPG_OK)
        fprintf(stderr, "create: %s\n", npg_last_error());
    return pipe;
}

static npg_generation_config *config(uint64_t seed, size_t max_new) {
    npg_generation_config *c = NULL;
    if (npg_generation_config_create(&c) != NPG_OK)
        return NULL;
    npg_generation_config_set_max_new_tokens(c, max_new);
    npg_generation_config_set_do_sample(c, seed != 0);
    npg_generation_config_set_temperature(c, 0.9f);
    npg_generation_config_set_top_p(c, 0.95f);
    npg_generation_config_set_rng_seed(c, seed);
    npg_generation_config_set_frequency_penalty(c, 0.3f);
    return c;
}

static const char *const PROMPTS[] = {"Once upon a time", "The cat sat", "Lily and Tom went to the park",
                                      "One day", "Once upon a time, there was a little girl", "The sun"};

/* The reference: the pipeline alone, the same ids and config. */
static char *alone(npg_llm_pipeline *pipe, const char *prompt, uint64_t seed) {
    const npg_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    npg_decoded_results *res = NULL;
    npg_generation_config *c = config(seed, MAX_NEW);
    char *out = NULL;
    if (npg_llm_pipeline_get_tokenizer(pipe, &tok) == NPG_OK && npg_tokenizer_encode(tok, prompt, true, &ids, &n) == NPG_OK &&
        npg_llm_pipeline_generate_ids(pipe, ids, n, c, NULL, &res) == NPG_OK) {
        size_t size = 0;
        npg_decoded_results_get_string(res, NULL, &size);
        out = malloc(size);
        npg_decoded_results_get_string(res, out, &size);
    }
    npg_decoded_results_free(res);
    npg_generation_config_free(c);
    npg_free(ids);
    return out;
}

static void run_until_idle(npg_llm_scheduler *s) {
    size_t busy = 1;
    for (int i = 0; i < 10000 && busy; i++)
        npg_llm_scheduler_step(s, &busy);
}

static void test_batched_equals_alone(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    char *ref[N_REQ];
    for (size_t i = 0; i < N_REQ; i++) {
        ref[i] = alone(pipe, PROMPTS[i], i % 2 ? 100 + i : 0); /* greedy and sampled requests mixed */
        REQUIRE(ref[i]);
    }
    npg_llm_scheduler_options o = {.max_seqs = 3, .prefill_chunk = 4, .prefix_reuse = false};
    npg_llm_scheduler *s = NULL;
    REQUIRE_OK(npg_llm_scheduler_create(pipe, &o, &s));
    /* while the scheduler holds it, the pipeline refuses its own calls */
    CHECK(npg_llm_pipeline_generate(pipe, "x", NULL, NULL, &(npg_decoded_results *){NULL}) ==
          NPG_ERR_INVALID_ARGUMENT);
    collected *c = calloc(N_REQ, sizeof *c);
    uint64_t id[N_REQ];
    const npg_tokenizer *tok = NULL;
    npg_llm_pipeline_get_tokenizer(pipe, &tok);
    /* two now, the rest joining while those decode (6 requests, 3 slots: slots are reused) */
    for (size_t i = 0; i < N_REQ; i++) {
        npg_generation_config *g = config(i % 2 ? 100 + i : 0, MAX_NEW);
        REQUIRE_OK(npg_llm_scheduler_add_text(s, PROMPTS[i], g, collect, &c[i], &id[i]));
        npg_generation_config_free(g);
        if (i >= 1)
            for (int k = 0; k < 3; k++)
                npg_llm_scheduler_step(s, NULL);
    }
    run_until_idle(s);
    for (size_t i = 0; i < N_REQ; i++) {
        CHECK(c[i].done);
        CHECK(c[i].status == NPG_OK);
        CHECK(c[i].events_after_done == 0);
        if (strcmp(c[i].text, ref[i]) != 0)
            fprintf(stderr, "request %zu:\n batched: %s\n alone:   %s\n", i, c[i].text, ref[i]);
        CHECK(strcmp(c[i].text, ref[i]) == 0);
        free(ref[i]);
    }
    npg_llm_scheduler_stats st;
    REQUIRE_OK(npg_llm_scheduler_get_stats(s, &st));
    CHECK(st.running == 0 && st.queued == 0 && st.slots == 3);
    CHECK(st.steps > 0 && st.generated_tokens > 0);
    free(c);
    npg_llm_scheduler_free(s);
    /* the pipeline works again */
    char *again = alone(pipe, PROMPTS[0], 0);
    CHECK(again != NULL);
    free(again);
    npg_llm_pipeline_free(pipe);
}

static void test_cancel_and_limits(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_llm_scheduler_options o = {.max_seqs = 2, .max_queue = 2, .ctx = 64, .prefix_reuse = true};
    npg_llm_scheduler *s = NULL;
    REQUIRE_OK(npg_llm_scheduler_create(pipe, &o, &s));
    collected a = {0}, b = {0}, c = {0}, d = {0};
    uint64_t ia, ib, ic, id;
    npg_generation_config *g = config(0, 30);
    REQUIRE_OK(npg_llm_scheduler_add_text(s, "Once upon a time there was", g, collect, &a, &ia));
    REQUIRE_OK(npg_llm_scheduler_add_text(s, "Once upon a time there was a dog", g, collect, &b, &ib));
    /* the queue holds 2 */
    CHECK(npg_llm_scheduler_add_text(s, "x", g, collect, &c, &ic) == NPG_ERR_BUSY);
    CHECK(strstr(npg_last_error(), "queue is full") != NULL);
    for (int k = 0; k < 4; k++)
        npg_llm_scheduler_step(s, NULL);
    REQUIRE_OK(npg_llm_scheduler_cancel(s, ia));
    size_t before = a.len;
    CHECK(npg_llm_scheduler_cancel(s, ia) == NPG_ERR_NOT_FOUND);
    /* the freed slot takes the next request, reusing the cached prefix of the cancelled one */
    REQUIRE_OK(npg_llm_scheduler_add_text(s, "Once upon a time there was a cat", g, collect, &c, &ic));
    run_until_idle(s);
    CHECK(!a.done && a.len == before);
    CHECK(b.done && c.done);
    CHECK(c.n_reused > 0);
    /* bad requests, refused at add */
    int32_t bad = 1 << 30;
    CHECK(npg_llm_scheduler_add_ids(s, &bad, 1, g, collect, &d, &id) == NPG_ERR_INVALID_ARGUMENT);
    int32_t *many = calloc(64, sizeof *many);
    CHECK(npg_llm_scheduler_add_ids(s, many, 64, g, collect, &d, &id) == NPG_ERR_LIMIT);
    CHECK(strstr(npg_last_error(), "context") != NULL);
    free(many);
    npg_generation_config_set_top_p(g, 2.0f);
    CHECK(npg_llm_scheduler_add_text(s, "x", g, collect, &d, &id) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "top_p") != NULL);
    /* max length within ctx: context finish */
    npg_generation_config_set_top_p(g, 1.0f);
    npg_generation_config_set_max_new_tokens(g, 1000);
    npg_generation_config_set_ignore_eos(g, true);
    REQUIRE_OK(npg_llm_scheduler_add_text(s, "Once", g, collect, &d, &id));
    run_until_idle(s);
    CHECK(d.done && d.finish == NPG_FINISH_CONTEXT);
    npg_generation_config_free(g);
    npg_llm_scheduler_free(s);
    npg_llm_pipeline_free(pipe);
}

/* add and cancel from this thread while another steps (npugen.h's promise; ctest -L tsan runs it
 * under ThreadSanitizer): every request that was not cancelled ends with DONE, a cancelled one gets
 * no event after its cancel returned. */
typedef struct stepper {
    npg_llm_scheduler *s;
    atomic_bool stop;
} stepper;

static void *step_loop(void *arg) {
    stepper *t = arg;
    while (!atomic_load(&t->stop)) {
        size_t busy = 0;
        npg_llm_scheduler_step(t->s, &busy);
        if (!busy)
            npg_llm_scheduler_wait(t->s, 5);
    }
    return NULL;
}

typedef struct counted {
    pthread_mutex_t mu;
    int done;
    bool cancelled;
    int after_cancel;
} counted;

static npg_streaming_status count_events(const npg_sched_event *ev, void *user) {
    counted *c = user;
    pthread_mutex_lock(&c->mu);
    if (c->cancelled)
        c->after_cancel++;
    if (ev->kind == NPG_SCHED_DONE)
        c->done++;
    pthread_mutex_unlock(&c->mu);
    return NPG_STREAMING_RUNNING;
}

static void test_threads(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_llm_scheduler_options o = {.max_seqs = 3, .prefix_reuse = true};
    stepper t = {0};
    REQUIRE_OK(npg_llm_scheduler_create(pipe, &o, &t.s));
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, step_loop, &t) == 0);
    enum { N = 24 };
    counted c[N];
    uint64_t id[N];
    npg_generation_config *g = config(5, 20);
    for (int i = 0; i < N; i++) {
        pthread_mutex_init(&c[i].mu, NULL);
        c[i].done = c[i].after_cancel = 0;
        c[i].cancelled = false;
        REQUIRE_OK(npg_llm_scheduler_add_text(t.s, PROMPTS[i % N_REQ], g, count_events, &c[i], &id[i]));
        if (i % 3 == 2) { /* cancel every third one, queued or running */
            npg_status st = npg_llm_scheduler_cancel(t.s, id[i - 1]);
            pthread_mutex_lock(&c[i - 1].mu);
            c[i - 1].cancelled = st == NPG_OK;
            pthread_mutex_unlock(&c[i - 1].mu);
        }
    }
    npg_llm_scheduler_stats st;
    for (int k = 0; k < 2000; k++) {
        npg_llm_scheduler_get_stats(t.s, &st);
        if (st.running == 0 && st.queued == 0)
            break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&t.stop, true);
    pthread_join(th, NULL);
    for (int i = 0; i < N; i++) {
        CHECK(c[i].after_cancel == 0);
        CHECK(c[i].done == (c[i].cancelled ? 0 : 1));
        pthread_mutex_destroy(&c[i].mu);
    }
    npg_generation_config_free(g);
    npg_llm_scheduler_free(t.s);
    npg_llm_pipeline_free(pipe);
}

int main(void) {
    RUN(test_threads);
    RUN(test_batched_equals_alone);
    RUN(test_cancel_and_limits);
    return npg_test_summary();
}
