/* test_num_return.c — num_return_sequences through the public API (stories260K, CPU).
 *
 * N = 3 with a seed: three sequences decoded together in one batch, each equal to a rerun and to a
 * one-sequence run seeded rng_seed + i (ids, text, finish reason; score within 1e-4); the sequences
 * differ. Greedy with N > 1, a streamer with N > 1 and an index past the count are refused with a
 * message saying why. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { N = 3, MAX_NEW = 24 };
static const uint64_t SEED = 1234;

static npg_llm_pipeline *open_stories(void) {
    npg_llm_pipeline *pipe = NULL;
    npg_status st = npg_llm_pipeline_create(shared_path("models/stories260K"), "CPU", 2, &pipe, "NUM_THREADS", "2");
    if (st != NPG_OK)
        fprintf(stderr, "create: %s\n", npg_last_error());
    return pipe;
}

static npg_generation_config *sampling(size_t n, uint64_t seed) {
    npg_generation_config *c = NULL;
    if (npg_generation_config_create(&c) != NPG_OK)
        return NULL;
    npg_generation_config_set_max_new_tokens(c, MAX_NEW);
    npg_generation_config_set_do_sample(c, true);
    npg_generation_config_set_temperature(c, 1.2f);
    npg_generation_config_set_top_k(c, 50);
    npg_generation_config_set_repetition_penalty(c, 1.1f);
    npg_generation_config_set_rng_seed(c, seed);
    npg_generation_config_set_num_return_sequences(c, n);
    return c;
}

static char *text_at(const npg_decoded_results *r, size_t i) {
    size_t size = 0;
    if (npg_decoded_results_get_string_at(r, i, NULL, &size) != NPG_OK)
        return NULL;
    char *s = malloc(size);
    if (s && npg_decoded_results_get_string_at(r, i, s, &size) != NPG_OK) {
        free(s);
        return NULL;
    }
    return s;
}

/* Sequence a of ra equals sequence b of rb: ids, text, finish reason, score. */
static bool same_seq(const npg_decoded_results *ra, size_t a, const npg_decoded_results *rb, size_t b) {
    const int32_t *ia = NULL, *ib = NULL;
    size_t na = 0, nb = 0;
    npg_finish_reason fa, fb;
    float sa = 0, sb = 0;
    if (npg_decoded_results_get_ids_at(ra, a, &ia, &na) != NPG_OK ||
        npg_decoded_results_get_ids_at(rb, b, &ib, &nb) != NPG_OK ||
        npg_decoded_results_get_finish_reason_at(ra, a, &fa) != NPG_OK ||
        npg_decoded_results_get_finish_reason_at(rb, b, &fb) != NPG_OK ||
        npg_decoded_results_get_score_at(ra, a, &sa) != NPG_OK ||
        npg_decoded_results_get_score_at(rb, b, &sb) != NPG_OK)
        return false;
    char *ta = text_at(ra, a), *tb = text_at(rb, b);
    bool same = na == nb && memcmp(ia, ib, na * sizeof *ia) == 0 && ta && tb && strcmp(ta, tb) == 0 && fa == fb &&
                fabsf(sa - sb) <= 1e-4f;
    free(ta);
    free(tb);
    return same;
}

static void test_three_sequences(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_generation_config *cfg = sampling(N, SEED);
    npg_decoded_results *r = NULL, *again = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &r));
    size_t count = 0;
    REQUIRE_OK(npg_decoded_results_get_count(r, &count));
    CHECK(count == N);
    for (size_t i = 0; i < count; i++) {
        char *t = text_at(r, i);
        float score = 0;
        CHECK(npg_decoded_results_get_score_at(r, i, &score) == NPG_OK);
        fprintf(stderr, "  sequence %zu (score %.3f): %s\n", i, (double)score, t ? t : "(null)");
        CHECK(t && *t);
        CHECK(isfinite(score) && score < 0.0f);
        free(t);
    }
    /* the sequences differ from each other */
    CHECK(!same_seq(r, 0, r, 1) && !same_seq(r, 1, r, 2) && !same_seq(r, 0, r, 2));
    /* sequence 0 is what the single-sequence getters return */
    const int32_t *ids0 = NULL, *ids0_at = NULL;
    size_t n0 = 0, n0_at = 0;
    CHECK(npg_decoded_results_get_ids(r, &ids0, &n0) == NPG_OK);
    CHECK(npg_decoded_results_get_ids_at(r, 0, &ids0_at, &n0_at) == NPG_OK);
    CHECK(ids0 == ids0_at && n0 == n0_at);
    /* a rerun gives the same three sequences */
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &again));
    for (size_t i = 0; i < N; i++)
        CHECK(same_seq(r, i, again, i));
    /* sequence i = a one-sequence run seeded SEED + i */
    for (size_t i = 0; i < N; i++) {
        npg_generation_config *one = sampling(1, SEED + i);
        npg_decoded_results *single = NULL;
        CHECK(npg_llm_pipeline_generate(pipe, "Once upon a time", one, NULL, &single) == NPG_OK);
        CHECK(single && same_seq(r, i, single, 0));
        npg_decoded_results_free(single);
        npg_generation_config_free(one);
    }
    /* metrics count every sequence's ids */
    const npg_perf_metrics *m = NULL;
    size_t n_gen = 0, total = 0;
    REQUIRE_OK(npg_decoded_results_get_perf_metrics(r, &m));
    REQUIRE_OK(npg_perf_metrics_get_num_generated_tokens(m, &n_gen));
    for (size_t i = 0; i < N; i++) {
        const int32_t *ids = NULL;
        size_t n = 0;
        npg_decoded_results_get_ids_at(r, i, &ids, &n);
        total += n;
    }
    CHECK(n_gen == total);
    /* out of range */
    const int32_t *ids = NULL;
    size_t n = 0;
    CHECK(npg_decoded_results_get_ids_at(r, N, &ids, &n) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "3 sequences") != NULL);
    npg_decoded_results_free(r);
    npg_decoded_results_free(again);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
}

static npg_streaming_status count_cb(const char *text, void *ud) {
    (void)text;
    (*(int *)ud)++;
    return NPG_STREAMING_RUNNING;
}

static void test_refusals(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_generation_config *cfg = sampling(N, SEED);
    npg_decoded_results *r = NULL;
    /* greedy would return N copies */
    npg_generation_config_set_do_sample(cfg, false);
    CHECK(npg_llm_pipeline_generate(pipe, "Once", cfg, NULL, &r) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "num_return_sequences") && strstr(npg_last_error(), "do_sample"));
    CHECK(r == NULL);
    /* streaming follows one sequence */
    npg_generation_config_set_do_sample(cfg, true);
    int calls = 0;
    npg_streamer st = {count_cb, &calls};
    CHECK(npg_llm_pipeline_generate(pipe, "Once", cfg, &st, &r) == NPG_ERR_UNSUPPORTED);
    CHECK(strstr(npg_last_error(), "streamer") != NULL);
    CHECK(r == NULL && calls == 0);
    /* a single result has count 1 and refuses index 1 */
    npg_generation_config_set_num_return_sequences(cfg, 1);
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once", cfg, NULL, &r));
    size_t count = 0;
    CHECK(npg_decoded_results_get_count(r, &count) == NPG_OK && count == 1);
    size_t size = 0;
    CHECK(npg_decoded_results_get_string_at(r, 1, NULL, &size) == NPG_ERR_INVALID_ARGUMENT);
    npg_decoded_results_free(r);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
}

int main(void) {
    RUN(test_three_sequences);
    RUN(test_refusals);
    return npg_test_summary();
}
