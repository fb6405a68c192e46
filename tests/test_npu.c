/* test_npu.c — the NPU device's static-shape plan against the CPU engine, its properties and limits.
 *
 * Engines are built straight from a loaded model (npg_model_load + npg_*_engine_create), so these
 * cases need no tokenizer. Equality is exact: the plan runs the same kernels on the same rows, so
 * greedy ids must match token for token and the prompt's logits bit for bit. */
#include "test_npu_util.h"

enum { N_PROMPT = 21, N_GEN = 24 };

static npg_status npu_engine(const npg_model *m, const char *dir, npg_properties *props, npg_engine **e) {
    npg_status st = npg_npu_engine_create(m, dir, props, e);
    npg_properties_free(props);
    return st;
}

/* Greedy ids and first logits of the CPU engine and of NPU engines with both generate hints. */
static void check_model(const char *name) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(model_dir(name), &m));
    int64_t V = m->cfg.vocab;
    int32_t prompt[N_PROMPT], cpu_ids[N_GEN], npu_ids[N_GEN];
    float *cpu_logits = malloc((size_t)V * sizeof(float)), *npu_logits = malloc((size_t)V * sizeof(float));
    test_prompt(V, prompt, N_PROMPT);
    npg_engine *cpu = NULL;
    npg_status st = npg_cpu_engine_create(m, NULL, &cpu);
    if (st == NPG_OK)
        st = greedy(cpu, prompt, N_PROMPT, N_GEN, cpu_ids, cpu_logits);
    CHECK(st == NPG_OK);
    const char *hints[] = {"FAST_COMPILE", "BEST_PERF"};
    const char *prefill[] = {"DYNAMIC", "STATIC"};
    for (int h = 0; h < 2 && st == NPG_OK; h++) {
        npg_engine *npu = NULL;
        st = npu_engine(m, model_dir(name),
                        props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "NPUW_LLM_PREFILL_CHUNK_SIZE", "16",
                                 "PREFILL_HINT", prefill[h], "GENERATE_HINT", hints[h], NULL),
                        &npu);
        if (st == NPG_OK)
            st = greedy(npu, prompt, N_PROMPT, N_GEN, npu_ids, npu_logits);
        if (st != NPG_OK)
            fprintf(stderr, "  %s %s: %s\n", name, hints[h], npg_last_error());
        CHECK(st == NPG_OK);
        bool same_ids = st == NPG_OK && memcmp(cpu_ids, npu_ids, sizeof cpu_ids) == 0;
        float d = st == NPG_OK ? max_abs_diff(cpu_logits, npu_logits, (size_t)V) : -1.0f;
        fprintf(stderr, "  %-18s %-12s %-7s ids %s, max |prompt logit diff| %.3g\n", name, hints[h], prefill[h],
                same_ids ? "equal" : "DIFFER", (double)d);
        CHECK(same_ids);
        CHECK(d == 0.0f);
        if (npu)
            npu->ops->free(npu);
    }
    if (cpu)
        cpu->ops->free(cpu);
    free(cpu_logits);
    free(npu_logits);
    npg_model_free(m);
}

static void test_cpu_equality_every_model(void) {
    for (size_t i = 0; npu_test_models[i]; i++)
        check_model(npu_test_models[i]);
}

/* Dynamic prefill with chunks of 16, 32 and 64 rows equals the static MAX_PROMPT_LEN shape, for a
 * prompt that leaves every chunking a padded last chunk; also after a second prefill at pos > 0
 * (a chat turn continuing the cache). */
static void test_chunks_equal_static(void) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(model_dir("stories260K"), &m));
    int64_t V = m->cfg.vocab;
    int32_t prompt[70], turn[9];
    test_prompt(V, prompt, 70);
    for (int i = 0; i < 9; i++)
        turn[i] = (int32_t)(50 + 13 * i);
    const char *chunks[] = {"16", "32", "64", "128"};
    float *ref = malloc(2 * (size_t)V * sizeof(float)), *got = malloc(2 * (size_t)V * sizeof(float));
    int32_t ref_ids[N_GEN], ids[N_GEN];
    for (int c = 0; c < 4; c++) {
        bool is_static = c == 3;
        npg_engine *e = NULL;
        npg_status st = npu_engine(m, model_dir("stories260K"),
                                   props_of("MAX_PROMPT_LEN", "128", "MIN_RESPONSE_LEN", "64",
                                            "NPUW_LLM_PREFILL_CHUNK_SIZE", chunks[c], "PREFILL_HINT",
                                            is_static ? "STATIC" : "DYNAMIC", NULL),
                                   &e);
        CHECK(st == NPG_OK);
        if (st != NPG_OK)
            continue;
        float *out = c == 0 ? ref : got;
        int32_t *gen = c == 0 ? ref_ids : ids;
        float *logits = NULL;
        st = greedy(e, prompt, 70, N_GEN, gen, out);
        /* a chat turn: 9 more tokens at position 70 + N_GEN - 1 */
        if (st == NPG_OK)
            st = e->ops->prefill(e, turn, 9, 70 + N_GEN - 1, &logits);
        if (st == NPG_OK)
            memcpy(out + V, logits, (size_t)V * sizeof(float));
        CHECK(st == NPG_OK);
        if (c > 0) {
            fprintf(stderr, "  chunk %s vs chunk 16: ids %s, logit diff %.3g / %.3g\n", chunks[c],
                    memcmp(ids, ref_ids, sizeof ids) == 0 ? "equal" : "DIFFER", (double)max_abs_diff(ref, got, (size_t)V),
                    (double)max_abs_diff(ref + V, got + V, (size_t)V));
            CHECK(memcmp(ids, ref_ids, sizeof ids) == 0);
            CHECK(max_abs_diff(ref, got, 2 * (size_t)V) == 0.0f);
        }
        e->ops->free(e);
    }
    free(ref);
    free(got);
    npg_model_free(m);
}

static npg_status create_with(const npg_model *m, npg_properties *props) {
    npg_engine *e = NULL;
    npg_status st = npu_engine(m, model_dir("stories260K"), props, &e);
    if (e)
        e->ops->free(e);
    return st;
}

static void test_property_values(void) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(model_dir("stories260K"), &m));
    CHECK(create_with(m, props_of("NPUW_LLM_PREFILL_CHUNK_SIZE", "48", "MAX_PROMPT_LEN", "256", NULL)) ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "NPUW_LLM_PREFILL_CHUNK_SIZE") && contains(npg_last_error(), "power of two"));
    /* a non-power-of-two chunk is fine when it covers the whole prompt (static) */
    CHECK(create_with(m, props_of("NPUW_LLM_PREFILL_CHUNK_SIZE", "300", "MAX_PROMPT_LEN", "256", "MIN_RESPONSE_LEN",
                                  "64", NULL)) == NPG_OK);
    CHECK(create_with(m, props_of("MAX_PROMPT_LEN", "abc", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "MAX_PROMPT_LEN") && contains(npg_last_error(), "abc"));
    CHECK(create_with(m, props_of("MIN_RESPONSE_LEN", "0", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "MIN_RESPONSE_LEN"));
    CHECK(create_with(m, props_of("PREFILL_HINT", "FAST", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "PREFILL_HINT") && contains(npg_last_error(), "DYNAMIC, STATIC"));
    CHECK(create_with(m, props_of("GENERATE_HINT", "best_perf", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "FAST_COMPILE, BEST_PERF"));
    CHECK(create_with(m, props_of("CACHE_MODE", "FAST", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "OPTIMIZE_SIZE, OPTIMIZE_SPEED"));
    CHECK(create_with(m, props_of("EXPORT_BLOB", "1", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "EXPORT_BLOB") && contains(npg_last_error(), "NO, YES"));
    CHECK(create_with(m, props_of("EXPORT_BLOB", "YES", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "BLOB_PATH"));
    CHECK(create_with(m, props_of("WEIGHTS_PATH", "/x", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(create_with(m, props_of("NUM_THREADS", "-3", NULL)) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "NUM_THREADS"));
    npg_model_free(m);
}

/* Shapes rounded up to 64 (and to the chunk); the context is their sum; the limit is enforced
 * before any work with a message naming the length, the limit and the property. */
static void test_limits(void) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(model_dir("stories260K"), &m));
    npg_engine *e = NULL;
    REQUIRE_OK(npu_engine(m, model_dir("stories260K"), props_of("MAX_PROMPT_LEN", "100", "MIN_RESPONSE_LEN", "1", NULL),
                          &e));
    CHECK(e->ops->context_limit(e) == 128 + 64);
    CHECK(e->ops->check_request(e, 128, 0, NULL) == NPG_OK);
    CHECK(e->ops->check_request(e, 129, 0, NULL) == NPG_ERR_LIMIT);
    CHECK(contains(npg_last_error(), "129") && contains(npg_last_error(), "128") &&
          contains(npg_last_error(), "MAX_PROMPT_LEN"));
    /* chat: the cached part does not count against MAX_PROMPT_LEN, the context does */
    CHECK(e->ops->check_request(e, 180, 100, NULL) == NPG_OK);
    CHECK(e->ops->check_request(e, 192, 100, NULL) == NPG_ERR_LIMIT);
    CHECK(contains(npg_last_error(), "no longer fits") && contains(npg_last_error(), "192"));
    CHECK(e->ops->check_request(e, 240, 100, NULL) == NPG_ERR_LIMIT);
    npg_generation_config *cfg = NULL;
    REQUIRE_OK(npg_generation_config_create(&cfg));
    REQUIRE_OK(npg_generation_config_set_num_return_sequences(cfg, 2));
    CHECK(e->ops->check_request(e, 10, 0, cfg) == NPG_ERR_UNSUPPORTED);
    CHECK(contains(npg_last_error(), "num_return_sequences"));
    REQUIRE_OK(npg_generation_config_set_num_return_sequences(cfg, 1));
    REQUIRE_OK(npg_generation_config_set_do_sample(cfg, true));
    CHECK(e->ops->check_request(e, 10, 0, cfg) == NPG_OK);
    npg_generation_config_free(cfg);
    /* the plan never runs past its context */
    float *logits = NULL;
    int32_t id = 5;
    CHECK(e->ops->reserve(e, 193) == NPG_ERR_LIMIT);
    CHECK(e->ops->decode(e, id, 191, &logits) == NPG_OK);
    CHECK(e->ops->decode(e, id, 192, &logits) == NPG_ERR_LIMIT);
    e->ops->free(e);
    /* chunk rounding: MAX_PROMPT_LEN 200 -> 256 with chunks of 128 */
    REQUIRE_OK(npu_engine(m, model_dir("stories260K"),
                          props_of("MAX_PROMPT_LEN", "200", "NPUW_LLM_PREFILL_CHUNK_SIZE", "128", NULL), &e));
    CHECK(e->ops->context_limit(e) == 256 + 128);
    e->ops->free(e);
    /* defaults: 1024 + 128 */
    REQUIRE_OK(npu_engine(m, model_dir("stories260K"), props_of(NULL), &e));
    CHECK(e->ops->context_limit(e) == 1152);
    CHECK(!e->imported && e->compile_ms >= 0.0);
    e->ops->free(e);
    npg_model_free(m);
}

int main(void) {
    RUN(test_cpu_equality_every_model);
    RUN(test_chunks_equal_static);
    RUN(test_property_values);
    RUN(test_limits);
    return npg_test_summary();
}
