/* test_pipeline.c — the LLM pipeline through the public API on the real stories260K model: golden
 * greedy continuations (ids and text), seeded sampling, stop strings, streamer control, eos handling,
 * limits, empty and invalid prompts, bad configurations and properties. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"

static npg_llm_pipeline *open_stories(void) {
    npg_llm_pipeline *pipe = NULL;
    npg_status st = npg_llm_pipeline_create(shared_path("models/stories260K"), "CPU", 2, &pipe, "NUM_THREADS", "2");
    if (st != NPG_OK)
        fprintf(stderr, "create: %s\n", npg_last_error());
    return pipe;
}

static npg_generation_config *greedy(size_t n) {
    npg_generation_config *c = NULL;
    if (npg_generation_config_create(&c) != NPG_OK)
        return NULL;
    npg_generation_config_set_max_new_tokens(c, n);
    return c;
}

/* The whole text of a result (malloc'd). */
static char *result_text(const npg_decoded_results *r) {
    size_t size = 0;
    if (npg_decoded_results_get_string(r, NULL, &size) != NPG_OK)
        return NULL;
    char *s = malloc(size);
    if (s && npg_decoded_results_get_string(r, s, &size) != NPG_OK) {
        free(s);
        return NULL;
    }
    return s;
}

typedef struct collect {
    char buf[8192];
    size_t len, calls, stop_after;
    npg_streaming_status action;
} collect;

static npg_streaming_status collect_cb(const char *text, void *ud) {
    collect *c = ud;
    size_t n = strlen(text);
    if (c->len + n < sizeof c->buf) {
        memcpy(c->buf + c->len, text, n + 1);
        c->len += n;
    }
    c->calls++;
    return c->stop_after && c->calls >= c->stop_after ? c->action : NPG_STREAMING_RUNNING;
}

/* Every prompt of goldens/stories260K/index.json: generated ids and text exactly as llama2.c. */
static void test_golden_greedy(void) {
    char *json = read_all(shared_path("goldens/stories260K/index.json"), NULL);
    REQUIRE(json);
    cJSON *root = cJSON_Parse(json);
    free(json);
    REQUIRE(root);
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    cJSON *cases = cJSON_GetObjectItem(root, "cases"), *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cases) {
        const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        cJSON *gen = cJSON_GetObjectItem(c, "generated_ids");
        size_t n = (size_t)cJSON_GetArraySize(gen);
        npg_generation_config *cfg = greedy(n);
        collect col = {0};
        npg_streamer streamer = {collect_cb, &col};
        npg_decoded_results *res = NULL;
        npg_status st = npg_llm_pipeline_generate(pipe, prompt, cfg, &streamer, &res);
        CHECK(st == NPG_OK);
        if (st == NPG_OK) {
            const int32_t *ids = NULL;
            size_t n_ids = 0;
            npg_decoded_results_get_ids(res, &ids, &n_ids);
            CHECK(n_ids == n);
            for (size_t i = 0; i < n && i < n_ids; i++)
                CHECK(ids[i] == cJSON_GetArrayItem(gen, (int)i)->valueint);
            /* golden text = prompt + continuation */
            char *out = result_text(res);
            size_t lp = strlen(prompt);
            CHECK(out && strncmp(text, prompt, lp) == 0 && strcmp(out, text + lp) == 0);
            CHECK(strcmp(col.buf, out ? out : "") == 0); /* streamed pieces concatenate to the text */
            size_t n_in = 0;
            const npg_perf_metrics *m = NULL;
            npg_decoded_results_get_perf_metrics(res, &m);
            npg_perf_metrics_get_num_input_tokens(m, &n_in);
            CHECK(n_in == (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(c, "prompt_ids")));
            npg_finish_reason why = NPG_FINISH_NONE;
            npg_decoded_results_get_finish_reason(res, &why);
            CHECK(why == NPG_FINISH_LENGTH);
            free(out);
        }
        npg_decoded_results_free(res);
        npg_generation_config_free(cfg);
        n_cases++;
    }
    CHECK(n_cases == 3);
    npg_llm_pipeline_free(pipe);
    cJSON_Delete(root);
}

/* --prompt-ids path: the golden prompt ids give the golden continuation. */
static void test_generate_ids(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    const int32_t prompt[] = {1, 403, 407, 261, 378};
    const int32_t expect[] = {432, 383, 286, 261, 376, 298, 315, 421};
    npg_generation_config *cfg = greedy(8);
    npg_decoded_results *res = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate_ids(pipe, prompt, 5, cfg, NULL, &res));
    const int32_t *ids = NULL;
    size_t n = 0;
    npg_decoded_results_get_ids(res, &ids, &n);
    CHECK(n == 8 && memcmp(ids, expect, sizeof expect) == 0);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
}

static char *sample_text(npg_llm_pipeline *pipe, uint64_t seed) {
    npg_generation_config *cfg = greedy(40);
    npg_generation_config_set_do_sample(cfg, true);
    npg_generation_config_set_temperature(cfg, 1.0f);
    npg_generation_config_set_top_k(cfg, 40);
    npg_generation_config_set_top_p(cfg, 0.95f);
    npg_generation_config_set_rng_seed(cfg, seed);
    npg_decoded_results *res = NULL;
    char *s = NULL;
    if (npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &res) == NPG_OK)
        s = result_text(res);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    return s;
}

static void test_seeded_sampling(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    char *a = sample_text(pipe, 42), *b = sample_text(pipe, 42), *c = sample_text(pipe, 7), *d = sample_text(pipe, 8);
    REQUIRE(a && b && c && d);
    CHECK(strcmp(a, b) == 0);                         /* same seed, same text */
    CHECK(strcmp(a, c) != 0 || strcmp(a, d) != 0);   /* other seeds give other stories */
    free(a), free(b), free(c), free(d);
    npg_llm_pipeline_free(pipe);
}

static void test_stop_strings(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    const char *stops[] = {"Lily"};
    for (int include = 0; include <= 1; include++) {
        npg_generation_config *cfg = greedy(60);
        npg_generation_config_set_stop_strings(cfg, stops, 1);
        npg_generation_config_set_include_stop_str_in_output(cfg, include != 0);
        collect col = {0};
        npg_streamer streamer = {collect_cb, &col};
        npg_decoded_results *res = NULL;
        REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, &streamer, &res));
        char *out = result_text(res);
        const char *want = include ? ", there was a little girl named Lily" : ", there was a little girl named ";
        CHECK(out && strcmp(out, want) == 0);
        CHECK(strcmp(col.buf, want) == 0);
        npg_finish_reason why = NPG_FINISH_NONE;
        npg_decoded_results_get_finish_reason(res, &why);
        CHECK(why == NPG_FINISH_EOS);
        free(out);
        npg_decoded_results_free(res);
        npg_generation_config_free(cfg);
    }
    npg_llm_pipeline_free(pipe);
}

static void test_streamer_stop_and_cancel(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_generation_config *cfg = greedy(50);
    collect col = {.stop_after = 3, .action = NPG_STREAMING_STOP};
    npg_streamer streamer = {collect_cb, &col};
    npg_decoded_results *res = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, &streamer, &res));
    npg_finish_reason why = NPG_FINISH_NONE;
    npg_decoded_results_get_finish_reason(res, &why);
    CHECK(why == NPG_FINISH_STOPPED);
    const int32_t *ids = NULL;
    size_t n = 0;
    npg_decoded_results_get_ids(res, &ids, &n);
    CHECK(n >= 3 && n < 50);
    npg_decoded_results_free(res);
    res = NULL;
    collect col2 = {.stop_after = 2, .action = NPG_STREAMING_CANCEL};
    npg_streamer s2 = {collect_cb, &col2};
    CHECK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, &s2, &res) == NPG_ERR_CANCELLED);
    CHECK(res == NULL);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
}

/* eos from generation_config.json ends generation; stop_token_ids too; ignore_eos runs to the limit. */
static void test_eos_handling(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    /* 383 is the second greedy token after "Once upon a time": as a stop id it ends at once */
    npg_generation_config *cfg = greedy(30);
    const int64_t stop_ids[] = {383};
    npg_generation_config_set_stop_token_ids(cfg, stop_ids, 1);
    npg_decoded_results *res = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &res));
    const int32_t *ids = NULL;
    size_t n = 0;
    npg_decoded_results_get_ids(res, &ids, &n);
    CHECK(n == 2 && ids[0] == 432 && ids[1] == 383);
    npg_finish_reason why = NPG_FINISH_NONE;
    npg_decoded_results_get_finish_reason(res, &why);
    CHECK(why == NPG_FINISH_EOS);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);

    /* an eos id ends generation after emitting it (greedy stories260K never reaches eos 2 within 300
     * tokens, so use 338, the 12th greedy token); with ignore_eos the count is exactly max_new_tokens */
    cfg = greedy(300);
    npg_generation_config_set_eos_token_id(cfg, 338);
    res = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &res));
    npg_decoded_results_get_ids(res, &ids, &n);
    npg_decoded_results_get_finish_reason(res, &why);
    CHECK(why == NPG_FINISH_EOS && n == 12 && ids[n - 1] == 338);
    npg_decoded_results_free(res);
    res = NULL;
    npg_generation_config_set_ignore_eos(cfg, true);
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &res));
    npg_decoded_results_get_ids(res, &ids, &n);
    npg_decoded_results_get_finish_reason(res, &why);
    CHECK(n == 300 && why == NPG_FINISH_LENGTH);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
}

/* max_length counts the prompt; the model's 512 positions end generation with FINISH_CONTEXT. */
static void test_limits(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_generation_config *cfg = NULL;
    REQUIRE_OK(npg_generation_config_create(&cfg));
    npg_generation_config_set_max_length(cfg, 12);
    npg_decoded_results *res = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &res)); /* 5 prompt ids */
    const int32_t *ids = NULL;
    size_t n = 0;
    npg_decoded_results_get_ids(res, &ids, &n);
    CHECK(n == 7);
    npg_decoded_results_free(res);
    res = NULL;
    npg_generation_config_free(cfg);

    cfg = greedy(1000);
    npg_generation_config_set_ignore_eos(cfg, true);
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &res));
    npg_decoded_results_get_ids(res, &ids, &n);
    npg_finish_reason why = NPG_FINISH_NONE;
    npg_decoded_results_get_finish_reason(res, &why);
    CHECK(why == NPG_FINISH_CONTEXT && n == 512 - 5);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
}

/* An empty prompt generates from BOS (the tokenizer adds one), as llama2.c does. */
static void test_empty_prompt_and_echo(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_generation_config *cfg = greedy(10);
    npg_decoded_results *res = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "", cfg, NULL, &res));
    const int32_t *ids = NULL;
    size_t n = 0, n_in = 0;
    npg_decoded_results_get_ids(res, &ids, &n);
    CHECK(n == 10);
    const npg_perf_metrics *m = NULL;
    npg_decoded_results_get_perf_metrics(res, &m);
    npg_perf_metrics_get_num_input_tokens(m, &n_in);
    CHECK(n_in == 1);
    npg_decoded_results_free(res);
    res = NULL;
    npg_generation_config_set_max_new_tokens(cfg, 3);
    npg_generation_config_set_echo(cfg, true);
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, NULL, &res));
    char *out = result_text(res);
    CHECK(out && strcmp(out, "Once upon a time, there was") == 0);
    free(out);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
}

static void test_bad_input(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_decoded_results *res = NULL;
    npg_generation_config *cfg = greedy(4);
    /* invalid UTF-8 */
    CHECK(npg_llm_pipeline_generate(pipe, "abc\xff\xfe", cfg, NULL, &res) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "UTF-8") != NULL);
    /* an out-of-range config names the field */
    npg_generation_config_set_do_sample(cfg, true);
    npg_generation_config_set_top_p(cfg, 1.5f);
    CHECK(npg_llm_pipeline_generate(pipe, "Once", cfg, NULL, &res) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "top_p") != NULL);
    npg_generation_config_set_top_p(cfg, 0.9f);
    npg_generation_config_set_temperature(cfg, -1.0f);
    CHECK(npg_llm_pipeline_generate(pipe, "Once", cfg, NULL, &res) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "temperature") != NULL);
    /* ids out of the vocabulary */
    const int32_t bad_ids[] = {1, 9999};
    npg_generation_config_free(cfg);
    cfg = greedy(4);
    CHECK(npg_llm_pipeline_generate_ids(pipe, bad_ids, 2, cfg, NULL, &res) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "9999") != NULL);
    /* NULL arguments */
    CHECK(npg_llm_pipeline_generate(pipe, NULL, cfg, NULL, &res) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_llm_pipeline_generate(NULL, "x", cfg, NULL, &res) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(res == NULL);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);

    /* unknown property and bad value name the key */
    npg_llm_pipeline *p2 = NULL;
    CHECK(npg_llm_pipeline_create(shared_path("models/stories260K"), "CPU", 2, &p2, "NUM_THREADZ", "2") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "NUM_THREADZ") != NULL);
    CHECK(npg_llm_pipeline_create(shared_path("models/stories260K"), "CPU", 2, &p2, "NUM_THREADS", "many") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "NUM_THREADS") != NULL);
    CHECK(npg_llm_pipeline_create(shared_path("models/stories260K"), "GPU", 0, &p2) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "GPU") != NULL);
    CHECK(npg_llm_pipeline_create(shared_path("models/stories260K"), "CPU", 1, &p2, "NUM_THREADS") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_llm_pipeline_create("/nonexistent/model", "CPU", 0, &p2) != NPG_OK);
    CHECK(strstr(npg_last_error(), "/nonexistent/model") != NULL);
    CHECK(p2 == NULL);
    npg_llm_pipeline_free(NULL);
}

/* The pipeline's config carries generation_config.json (eos 2, max_length 512). */
static void test_config_roundtrip(void) {
    npg_llm_pipeline *pipe = open_stories();
    REQUIRE(pipe);
    npg_generation_config *c = NULL;
    REQUIRE_OK(npg_llm_pipeline_get_generation_config(pipe, &c));
    bool sample = true;
    npg_generation_config_get_do_sample(c, &sample);
    CHECK(!sample);
    npg_generation_config_set_max_new_tokens(c, 3);
    REQUIRE_OK(npg_llm_pipeline_set_generation_config(pipe, c));
    npg_decoded_results *res = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate(pipe, "Once upon a time", NULL, NULL, &res));
    const int32_t *ids = NULL;
    size_t n = 0;
    npg_decoded_results_get_ids(res, &ids, &n);
    CHECK(n == 3);
    /* the two-call getter refuses a short buffer */
    char small[4];
    size_t size = sizeof small;
    CHECK(npg_decoded_results_get_string(res, small, &size) == NPG_ERR_LIMIT);
    npg_decoded_results_free(res);
    npg_generation_config_free(c);
    const npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_llm_pipeline_get_tokenizer(pipe, &tok));
    CHECK(npg_tokenizer_vocab_size(tok) == 512 && npg_tokenizer_bos_token_id(tok) == 1 &&
          npg_tokenizer_eos_token_id(tok) == 2);
    npg_llm_pipeline_free(pipe);
}

int main(void) {
    RUN(test_golden_greedy);
    RUN(test_generate_ids);
    RUN(test_seeded_sampling);
    RUN(test_stop_strings);
    RUN(test_streamer_stop_and_cancel);
    RUN(test_eos_handling);
    RUN(test_limits);
    RUN(test_empty_prompt_and_echo);
    RUN(test_bad_input);
    RUN(test_config_roundtrip);
    return npg_test_summary();
}
