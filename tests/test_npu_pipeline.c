/* test_npu_pipeline.c — the NPU device through the public API and the CLI: greedy equality with CPU,
 * context exhaustion, over-long prompts, chat keeping its KV cache across turns, property key
 * validation, perf metrics of compiled and imported plans, and `npugen compile` with AES-256-GCM. */
#include "../tools/cli_crypto.c"
#include "../tools/cli_util.c"
#include "device/npu/npu_blob.h"
#include "test_npu_util.h"

static npg_llm_pipeline *pipe_of(const char *model, const char *device, npg_properties *props) {
    npg_llm_pipeline *p = NULL;
    npg_status st = npg_llm_pipeline_create_with_properties(model_dir(model), device, props, &p);
    if (st != NPG_OK)
        fprintf(stderr, "  create %s on %s: %s\n", model, device, npg_last_error());
    npg_properties_free(props);
    return p;
}

/* The result's text (malloc'd) through the two-call getter. */
static char *text_of(const npg_decoded_results *r) {
    size_t n = 0;
    if (npg_decoded_results_get_string(r, NULL, &n) != NPG_OK)
        return NULL;
    char *s = malloc(n);
    if (s && npg_decoded_results_get_string(r, s, &n) != NPG_OK) {
        free(s);
        return NULL;
    }
    return s;
}

static bool same_text(const npg_decoded_results *a, const npg_decoded_results *b) {
    char *x = text_of(a), *y = text_of(b);
    bool same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

static npg_generation_config *config_of(size_t max_new, bool ignore_eos) {
    npg_generation_config *c = NULL;
    if (npg_generation_config_create(&c) != NPG_OK)
        return NULL;
    npg_generation_config_set_max_new_tokens(c, max_new);
    npg_generation_config_set_ignore_eos(c, ignore_eos);
    return c;
}

static void test_generate_equals_cpu(void) {
    const char *models[] = {"stories260K", "random-gemma3", "random-llama-chat"};
    for (int i = 0; i < 3; i++) {
        npg_llm_pipeline *cpu = pipe_of(models[i], "CPU", NULL);
        npg_llm_pipeline *npu = pipe_of(models[i], "NPU", props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64",
                                                                   "NPUW_LLM_PREFILL_CHUNK_SIZE", "16", NULL));
        npg_generation_config *cfg = config_of(40, false);
        npg_decoded_results *a = NULL, *b = NULL;
        CHECK(cpu && npu && cfg);
        if (cpu && npu && cfg) {
            CHECK(npg_llm_pipeline_generate(cpu, "Once upon a time", cfg, NULL, &a) == NPG_OK);
            CHECK(npg_llm_pipeline_generate(npu, "Once upon a time", cfg, NULL, &b) == NPG_OK);
        }
        if (a && b) {
            const int32_t *ia, *ib;
            size_t na, nb;
            npg_decoded_results_get_ids(a, &ia, &na);
            npg_decoded_results_get_ids(b, &ib, &nb);
            CHECK(na == nb && na > 0 && memcmp(ia, ib, na * sizeof *ia) == 0);
            CHECK(same_text(a, b));
            fprintf(stderr, "  %s: %zu ids, NPU %s CPU\n", models[i], nb,
                    na == nb && memcmp(ia, ib, na * sizeof *ia) == 0 ? "==" : "!=");
            const npg_perf_metrics *pm = NULL;
            float compile_ms = -1;
            bool imported = true;
            npg_decoded_results_get_perf_metrics(b, &pm);
            npg_perf_metrics_get_compile_time(pm, &compile_ms);
            npg_perf_metrics_get_plan_imported(pm, &imported);
            CHECK(compile_ms > 0.0f && !imported);
        }
        npg_decoded_results_free(a);
        npg_decoded_results_free(b);
        npg_generation_config_free(cfg);
        npg_llm_pipeline_free(cpu);
        npg_llm_pipeline_free(npu);
    }
}

static void test_context_and_prompt_limits(void) {
    npg_llm_pipeline *p = pipe_of("stories260K", "NPU", props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", NULL));
    REQUIRE(p);
    int32_t ids[65];
    test_prompt(512, ids, 65);
    npg_generation_config *cfg = config_of(1000, true);
    npg_decoded_results *r = NULL;
    /* 20 prompt tokens: up to 128 - 20 = 108 new ones, then the context is full */
    REQUIRE_OK(npg_llm_pipeline_generate_ids(p, ids, 20, cfg, NULL, &r));
    npg_finish_reason why = NPG_FINISH_NONE;
    const int32_t *out;
    size_t n = 0;
    npg_decoded_results_get_finish_reason(r, &why);
    npg_decoded_results_get_ids(r, &out, &n);
    CHECK(why == NPG_FINISH_CONTEXT);
    CHECK(n == 108);
    npg_decoded_results_free(r);
    r = NULL;
    CHECK(npg_llm_pipeline_generate_ids(p, ids, 65, cfg, NULL, &r) == NPG_ERR_LIMIT);
    CHECK(contains(npg_last_error(), "65") && contains(npg_last_error(), "MAX_PROMPT_LEN"));
    CHECK(r == NULL);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(p);
}

static void test_chat_keeps_cache(void) {
    npg_llm_pipeline *npu = pipe_of("random-llama-chat", "NPU", props_of("MAX_PROMPT_LEN", "128", "MIN_RESPONSE_LEN",
                                                                         "64", "NPUW_LLM_PREFILL_CHUNK_SIZE", "32", NULL));
    npg_llm_pipeline *cpu = pipe_of("random-llama-chat", "CPU", NULL);
    REQUIRE(npu && cpu);
    npg_generation_config *cfg = config_of(8, true);
    REQUIRE_OK(npg_llm_pipeline_start_chat(npu, "You are terse."));
    REQUIRE_OK(npg_llm_pipeline_start_chat(cpu, "You are terse."));
    const char *turns[] = {"Hello there", "Tell me more", "And then?", "Why?", "Go on", "More", "Again", "Once more",
                           "Continue", "Next"};
    bool overflowed = false;
    size_t prev_total = 0;
    for (int t = 0; t < 10 && !overflowed; t++) {
        npg_decoded_results *a = NULL, *b = NULL;
        npg_status st = npg_llm_pipeline_generate(npu, turns[t], cfg, NULL, &b);
        if (st == NPG_ERR_LIMIT) { /* history + new turn beyond 128 + 64 positions */
            CHECK(contains(npg_last_error(), "no longer fits") || contains(npg_last_error(), "MAX_PROMPT_LEN"));
            overflowed = true;
            break;
        }
        REQUIRE_OK(st);
        REQUIRE_OK(npg_llm_pipeline_generate(cpu, turns[t], cfg, NULL, &a));
        CHECK(same_text(a, b));
        const npg_perf_metrics *pm = NULL;
        size_t n_in = 0;
        npg_decoded_results_get_perf_metrics(b, &pm);
        npg_perf_metrics_get_num_input_tokens(pm, &n_in);
        if (t > 0) /* only the new turn is prefilled: far fewer tokens than the whole history */
            CHECK(n_in < prev_total);
        prev_total += n_in + 8;
        npg_decoded_results_free(a);
        npg_decoded_results_free(b);
    }
    CHECK(overflowed);
    /* after finish_chat a fresh conversation fits again */
    REQUIRE_OK(npg_llm_pipeline_finish_chat(npu));
    REQUIRE_OK(npg_llm_pipeline_start_chat(npu, NULL));
    npg_decoded_results *r = NULL;
    CHECK(npg_llm_pipeline_generate(npu, "Hello", cfg, NULL, &r) == NPG_OK);
    npg_decoded_results_free(r);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(npu);
    npg_llm_pipeline_free(cpu);
}

/* Item 5 of issue 13: NPU chat refuses a turn only when its new tokens exceed MAX_PROMPT_LEN or the
 * KV capacity (MAX_PROMPT_LEN + MIN_RESPONSE_LEN) is exhausted, says which, and leaves the history as
 * it was: a history longer than MAX_PROMPT_LEN is fine while each turn fits. */
static void test_chat_refusals(void) {
    npg_llm_pipeline *npu = pipe_of("random-llama-chat", "NPU", props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN",
                                                                         "128", "NPUW_LLM_PREFILL_CHUNK_SIZE", "32", NULL));
    npg_llm_pipeline *cpu = pipe_of("random-llama-chat", "CPU", NULL);
    REQUIRE(npu && cpu);
    npg_generation_config *cfg = config_of(8, true);
    REQUIRE_OK(npg_llm_pipeline_start_chat(npu, NULL));
    REQUIRE_OK(npg_llm_pipeline_start_chat(cpu, NULL));
    char long_turn[1024] = "";
    for (int i = 0; i < 100; i++)
        strcat(long_turn, "and ");
    size_t history = 0;
    bool over_prompt_len = false, long_refused = false, full = false;
    for (int t = 0; t < 40 && !full; t++) {
        const char *turn = t % 2 ? "Tell me more about it" : "Why is that so";
        if (history > 64 && !long_refused) { /* a turn of ~100 new tokens: over MAX_PROMPT_LEN alone */
            npg_decoded_results *r = NULL;
            CHECK(npg_llm_pipeline_generate(npu, long_turn, cfg, NULL, &r) == NPG_ERR_LIMIT);
            CHECK(contains(npg_last_error(), "new chat turn") && contains(npg_last_error(), "MAX_PROMPT_LEN"));
            CHECK(r == NULL);
            long_refused = true;
        }
        npg_decoded_results *a = NULL, *b = NULL;
        npg_status st = npg_llm_pipeline_generate(npu, turn, cfg, NULL, &b);
        if (st == NPG_ERR_LIMIT) { /* the context: history + this turn no longer fit 64 + 128 positions */
            CHECK(contains(npg_last_error(), "no longer fits") && contains(npg_last_error(), "MIN_RESPONSE_LEN"));
            CHECK(history > 192 - 64); /* refused only near the end of the context */
            full = true;
            break;
        }
        REQUIRE_OK(st);
        /* the same conversation on CPU (which never saw the refused turn): same answer, so the refusal
         * left the NPU's history as it was */
        REQUIRE_OK(npg_llm_pipeline_generate(cpu, turn, cfg, NULL, &a));
        npg_finish_reason why = NPG_FINISH_NONE;
        npg_decoded_results_get_finish_reason(b, &why);
        if (why == NPG_FINISH_CONTEXT) { /* the answer ran into the end of the context: CPU's, cut short */
            char *x = text_of(a), *y = text_of(b);
            CHECK(x && y && strlen(y) < strlen(x) && strncmp(x, y, strlen(y)) == 0);
            free(x);
            free(y);
        } else {
            CHECK(why == NPG_FINISH_LENGTH);
            CHECK(same_text(a, b));
        }
        const npg_perf_metrics *pm = NULL;
        size_t n_in = 0;
        npg_decoded_results_get_perf_metrics(b, &pm);
        npg_perf_metrics_get_num_input_tokens(pm, &n_in);
        history += n_in + 8;
        over_prompt_len = over_prompt_len || history > 64;
        npg_decoded_results_free(a);
        npg_decoded_results_free(b);
    }
    CHECK(over_prompt_len && long_refused && full);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(npu);
    npg_llm_pipeline_free(cpu);
}

static void test_property_keys(void) {
    npg_llm_pipeline *p = NULL;
    CHECK(npg_llm_pipeline_create(model_dir("stories260K"), "NPU", 2, &p, "MAX_PROMPT_LENGTH", "64") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "MAX_PROMPT_LENGTH") && contains(npg_last_error(), "MAX_PROMPT_LEN,") &&
          contains(npg_last_error(), "CACHE_DIR"));
    CHECK(npg_llm_pipeline_create(model_dir("stories260K"), "CPU", 2, &p, "MAX_PROMPT_LEN", "64") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "NPU device only"));
    CHECK(npg_llm_pipeline_create(model_dir("stories260K"), "NPU", 2, &p, "GENERATE_HINT", "FASTEST") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "GENERATE_HINT") && contains(npg_last_error(), "BEST_PERF"));
    CHECK(p == NULL);
    /* an unknown key on CPU names the CPU's valid keys (and none of the NPU's) */
    CHECK(npg_llm_pipeline_create(model_dir("stories260K"), "CPU", 2, &p, "NUM_THREAD", "2") ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "'NUM_THREAD'") && contains(npg_last_error(), "NUM_THREADS") &&
          contains(npg_last_error(), "KERNEL_ISA") && !contains(npg_last_error(), "MAX_PROMPT_LEN"));
    /* unknown devices list the registered ones */
    CHECK(npg_llm_pipeline_create(model_dir("stories260K"), "GPU", 0, &p) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "'GPU'") && contains(npg_last_error(), "\"CPU\"") &&
          contains(npg_last_error(), "\"NPU\""));
    CHECK(p == NULL);
}

/* The public facts tools read instead of reaching into the pipeline. */
static void test_info_getters(void) {
    const char *devices[] = {"CPU", "NPU"};
    for (int d = 0; d < 2; d++) {
        npg_llm_pipeline *p = NULL;
        npg_status st = d == 0 ? npg_llm_pipeline_create(model_dir("stories260K"), devices[d], 0, &p)
                               : npg_llm_pipeline_create(model_dir("stories260K"), devices[d], 4, &p, "MAX_PROMPT_LEN",
                                                         "64", "MIN_RESPONSE_LEN", "64");
        REQUIRE_OK(st);
        const char *arch = NULL;
        size_t vocab = 0, ctx = 0;
        uint64_t bytes = 0;
        CHECK(npg_llm_pipeline_get_architecture(p, &arch) == NPG_OK && arch && strcmp(arch, "LlamaForCausalLM") == 0);
        CHECK(npg_llm_pipeline_get_vocab_size(p, &vocab) == NPG_OK && vocab == 512);
        /* stories260K, f32: 5 layers of q,o [64,64], k,v [32,64] (4 kv heads), gate,up,down [172,64];
         * lm_head tied [512,64]; one embedding row */
        uint64_t want = (uint64_t)(5 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 172 * 64) + 512 * 64 + 64) * 4;
        CHECK(npg_llm_pipeline_get_weight_bytes(p, &bytes) == NPG_OK);
        if (bytes != want)
            fprintf(stderr, "  %s: weight bytes %llu, expected %llu\n", devices[d], (unsigned long long)bytes,
                    (unsigned long long)want);
        CHECK(bytes == want);
        CHECK(npg_llm_pipeline_get_context_length(p, &ctx) == NPG_OK && ctx == (d == 0 ? 512u : 128u));
        CHECK(npg_llm_pipeline_get_vocab_size(p, NULL) == NPG_ERR_INVALID_ARGUMENT);
        CHECK(npg_llm_pipeline_get_architecture(NULL, &arch) == NPG_ERR_INVALID_ARGUMENT);
        npg_llm_pipeline_free(p);
    }
}

/* Device names are case-insensitive; the pipeline reports the canonical spelling. */
static void test_device_names_case_insensitive(void) {
    const char *names[] = {"npu", "Npu", "cpu"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        npg_llm_pipeline *p = NULL;
        npg_status st = npg_llm_pipeline_create(model_dir("stories260K"), names[i], 4, &p, "MAX_PROMPT_LEN", "64",
                                                "MIN_RESPONSE_LEN", "64");
        if (names[i][0] == 'c') { /* the NPU's keys are refused on CPU whatever the spelling */
            CHECK(st == NPG_ERR_INVALID_ARGUMENT && contains(npg_last_error(), "NPU device only"));
            st = npg_llm_pipeline_create(model_dir("stories260K"), names[i], 0, &p);
        }
        if (st != NPG_OK)
            fprintf(stderr, "  %s: %s\n", names[i], npg_last_error());
        CHECK(st == NPG_OK);
        npg_decoded_results *r = NULL;
        npg_generation_config *cfg = config_of(4, true);
        CHECK(p && npg_llm_pipeline_generate(p, "Once", cfg, NULL, &r) == NPG_OK);
        npg_generation_config_free(cfg);
        npg_decoded_results_free(r);
        npg_llm_pipeline_free(p);
    }
}

static bool blob_imported(const char *blob, npg_crypt_callback dec, void *key, npg_status *st_out) {
    npg_properties *props = props_of("BLOB_PATH", blob, NULL);
    if (dec)
        npg_properties_set_encryption_callbacks(props, NULL, dec, key);
    npg_llm_pipeline *p = NULL;
    npg_status st = npg_llm_pipeline_create_with_properties(model_dir("stories260K"), "NPU", props, &p);
    npg_properties_free(props);
    *st_out = st;
    bool imported = false;
    npg_decoded_results *r = NULL;
    npg_generation_config *cfg = config_of(4, true);
    if (st == NPG_OK && npg_llm_pipeline_generate(p, "Once", cfg, NULL, &r) == NPG_OK) {
        const npg_perf_metrics *pm = NULL;
        npg_decoded_results_get_perf_metrics(r, &pm);
        npg_perf_metrics_get_plan_imported(pm, &imported);
    }
    npg_generation_config_free(cfg);
    npg_decoded_results_free(r);
    npg_llm_pipeline_free(p);
    return imported;
}

static void test_cli_compile(void) {
    char *tmp = make_temp_dir();
    char cmd[4096], blob[1024], keyf[1024], badkey[1024];
    snprintf(blob, sizeof blob, "%s/s.blob", tmp);
    snprintf(keyf, sizeof keyf, "%s/k.key", tmp);
    snprintf(badkey, sizeof badkey, "%s/bad.key", tmp);
    cli_crypto_key key, other;
    for (int i = 0; i < 32; i++) {
        key.key[i] = (uint8_t)(i * 7 + 1);
        other.key[i] = (uint8_t)(i * 7 + 2);
    }
    write_file(keyf, key.key, 32);
    write_file(badkey, key.key, 31);
    char *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s compile %s --device NPU -o %s -c MAX_PROMPT_LEN=64 -c MIN_RESPONSE_LEN=64", NPG_CLI,
             model_dir("stories260K"), blob);
    CHECK(run_cmd(cmd, &out, &err) == 0);
    CHECK(contains(out, "weightless"));
    free(out);
    free(err);
    npg_status st;
    CHECK(blob_imported(blob, NULL, NULL, &st) && st == NPG_OK);
    /* encrypted, with weights */
    snprintf(cmd, sizeof cmd, "%s compile %s -o %s -c CACHE_MODE=OPTIMIZE_SPEED -c MAX_PROMPT_LEN=64 --encrypt-key-file %s",
             NPG_CLI, model_dir("stories260K"), blob, keyf);
    CHECK(run_cmd(cmd, &out, &err) == 0);
    CHECK(contains(out, "with weights, encrypted"));
    free(out);
    free(err);
    CHECK(!blob_imported(blob, NULL, NULL, &st) && st == NPG_ERR_INVALID_ARGUMENT);
    CHECK(!blob_imported(blob, cli_aes_gcm_decrypt, &other, &st) && st == NPG_ERR_CHECKSUM);
    CHECK(blob_imported(blob, cli_aes_gcm_decrypt, &key, &st) && st == NPG_OK);
    /* a full blob needs no weights or config.json: a folder with only the tokenizer files suffices */
    char tokdir[1024], src[1024], dst[1100];
    snprintf(tokdir, sizeof tokdir, "%s/tok", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tokdir);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    const char *files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "generation_config.json"};
    for (int i = 0; i < 4; i++) {
        snprintf(src, sizeof src, "%s/%s", model_dir("stories260K"), files[i]);
        snprintf(dst, sizeof dst, "%s/%s", tokdir, files[i]);
        size_t n = 0;
        char *data = read_all(src, &n);
        if (data)
            write_file(dst, data, n);
        free(data);
    }
    npg_properties *props = props_of("BLOB_PATH", blob, NULL);
    npg_properties_set_encryption_callbacks(props, NULL, cli_aes_gcm_decrypt, &key);
    npg_llm_pipeline *p = NULL;
    CHECK(npg_llm_pipeline_create_with_properties(tokdir, "NPU", props, &p) == NPG_OK);
    npg_generation_config *cfg = config_of(8, true);
    npg_decoded_results *r = NULL;
    if (p)
        CHECK(npg_llm_pipeline_generate(p, "Once upon a time", cfg, NULL, &r) == NPG_OK);
    if (r) {
        const npg_perf_metrics *pm = NULL;
        bool imported = false;
        npg_decoded_results_get_perf_metrics(r, &pm);
        npg_perf_metrics_get_plan_imported(pm, &imported);
        CHECK(imported);
    }
    npg_decoded_results_free(r);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(p);
    npg_properties_free(props);
    /* usage errors exit 2 with one line; runtime failures exit 1 */
    const char *bad[] = {"compile", "compile MODEL", "--device CPU -o x", "-o x --bogus", "-o x -c BLOB_PATH=y",
                         "-o x --encrypt-key-file "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (i < 2)
            snprintf(cmd, sizeof cmd, "%s %s", NPG_CLI, bad[i]);
        else
            snprintf(cmd, sizeof cmd, "%s compile %s %s%s", NPG_CLI, model_dir("stories260K"), bad[i],
                     i == 5 ? badkey : "");
        int rc = run_cmd(cmd, &out, &err);
        CHECK(rc == 2);
        CHECK(contains(err, "npugen compile: "));
        free(out);
        free(err);
    }
    snprintf(cmd, sizeof cmd, "%s compile %s -o %s -c PREFILL_HINT=SOMETIMES", NPG_CLI, model_dir("stories260K"), blob);
    CHECK(run_cmd(cmd, &out, &err) == 1);
    CHECK(contains(err, "PREFILL_HINT") && contains(err, "DYNAMIC, STATIC"));
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "%s compile --help", NPG_CLI);
    CHECK(run_cmd(cmd, &out, &err) == 0 && contains(out, "--encrypt-key-file"));
    free(out);
    free(err);
    rm_rf(tmp);
    free(tmp);
}

/* docs/npu.md: a weightless blob + WEIGHTS_PATH (the model folder or its weights file) + a folder with
 * only the tokenizer files works, and generates what the model folder itself does. */
static void test_weightless_tokenizer_only(void) {
    char *tmp = make_temp_dir();
    char cmd[4096], blob[1024], tokdir[1024], src[1024], dst[1100], wfile[1024];
    snprintf(blob, sizeof blob, "%s/wl.blob", tmp);
    snprintf(tokdir, sizeof tokdir, "%s/tok", tmp);
    snprintf(wfile, sizeof wfile, "%s/model.safetensors", model_dir("random-llama-gqa"));
    snprintf(cmd, sizeof cmd, "%s compile %s -o %s -c MAX_PROMPT_LEN=64 -c MIN_RESPONSE_LEN=64 && mkdir -p %s", NPG_CLI,
             model_dir("random-llama-gqa"), blob, tokdir);
    char *out = NULL, *err = NULL;
    CHECK(run_cmd(cmd, &out, &err) == 0 && contains(out, "weightless"));
    free(out);
    free(err);
    const char *files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(src, sizeof src, "%s/%s", model_dir("random-llama-gqa"), files[i]);
        snprintf(dst, sizeof dst, "%s/%s", tokdir, files[i]);
        size_t n = 0;
        char *data = read_all(src, &n);
        if (data)
            write_file(dst, data, n);
        free(data);
    }
    npg_generation_config *cfg = config_of(12, true);
    npg_decoded_results *want = NULL;
    npg_llm_pipeline *ref = pipe_of("random-llama-gqa", "NPU", props_of("BLOB_PATH", blob, NULL));
    REQUIRE(ref && cfg);
    CHECK(npg_llm_pipeline_generate(ref, "Hello world", cfg, NULL, &want) == NPG_OK);
    const char *weights[] = {model_dir("random-llama-gqa"), wfile};
    for (int i = 0; i < 2 && want; i++) {
        npg_properties *props = props_of("BLOB_PATH", blob, "WEIGHTS_PATH", weights[i], NULL);
        npg_llm_pipeline *p = NULL;
        npg_decoded_results *r = NULL;
        npg_status st = npg_llm_pipeline_create_with_properties(tokdir, "npu", props, &p);
        if (st != NPG_OK)
            fprintf(stderr, "  WEIGHTS_PATH=%s: %s\n", weights[i], npg_last_error());
        CHECK(st == NPG_OK);
        if (p)
            CHECK(npg_llm_pipeline_generate(p, "Hello world", cfg, NULL, &r) == NPG_OK);
        CHECK(r && same_text(r, want));
        npg_decoded_results_free(r);
        npg_llm_pipeline_free(p);
        npg_properties_free(props);
    }
    /* other weights are still refused by the blob's checks */
    npg_properties *props = props_of("BLOB_PATH", blob, "WEIGHTS_PATH", model_dir("random-qwen3"), NULL);
    npg_llm_pipeline *p = NULL;
    CHECK(npg_llm_pipeline_create_with_properties(tokdir, "NPU", props, &p) == NPG_ERR_INVALID_ARGUMENT);
    npg_properties_free(props);
    npg_decoded_results_free(want);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(ref);
    rm_rf(tmp);
    free(tmp);
}

/* A full blob's weights are verified as the first forward pass reaches them (docs/npu.md): one flipped
 * byte in the last layer's weights is reported (NPG_ERR_CHECKSUM naming the tensor) and no token comes
 * out, through the API and the CLI; the intact blob generates what the model folder does. */
static void test_full_blob_corrupt_late_layer(void) {
    char *tmp = make_temp_dir();
    char cmd[4096], blob[1024];
    snprintf(blob, sizeof blob, "%s/full.blob", tmp);
    snprintf(cmd, sizeof cmd, "%s compile %s -o %s -c CACHE_MODE=OPTIMIZE_SPEED -c MAX_PROMPT_LEN=64 -c MIN_RESPONSE_LEN=64",
             NPG_CLI, model_dir("stories260K"), blob);
    char *out = NULL, *err = NULL;
    CHECK(run_cmd(cmd, &out, &err) == 0);
    free(out);
    free(err);
    npg_generation_config *cfg = config_of(6, true);
    npg_decoded_results *want = NULL, *got = NULL;
    npg_llm_pipeline *ref = pipe_of("stories260K", "NPU", props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", NULL));
    npg_llm_pipeline *p = pipe_of("stories260K", "NPU", props_of("BLOB_PATH", blob, NULL));
    REQUIRE(cfg && ref && p);
    CHECK(npg_llm_pipeline_generate(ref, "Once upon", cfg, NULL, &want) == NPG_OK);
    CHECK(npg_llm_pipeline_generate(p, "Once upon", cfg, NULL, &got) == NPG_OK);
    CHECK(want && got && same_text(want, got));
    npg_decoded_results_free(want);
    npg_decoded_results_free(got);
    npg_llm_pipeline_free(ref);
    npg_llm_pipeline_free(p);

    /* flip one byte in the middle of the last layer's down projection */
    size_t size = 0;
    uint8_t *bytes = (uint8_t *)read_all(blob, &size);
    REQUIRE(bytes && size > sizeof(npu_blob_header));
    const npu_blob_header *h = (const npu_blob_header *)bytes;
    const npu_blob_meta *m = (const npu_blob_meta *)(bytes + sizeof *h);
    const npu_blob_tensor *t = (const npu_blob_tensor *)(bytes + sizeof *h + sizeof *m + (m->config_bytes + 7) / 8 * 8);
    const npu_blob_tensor *target = NULL;
    char last[64];
    snprintf(last, sizeof last, "layers.%d.", 4); /* stories260K has 5 layers */
    for (uint32_t i = 0; i < m->n_tensors; i++)
        if (strstr(t[i].name, last) && strstr(t[i].name, "down_proj"))
            target = &t[i];
    REQUIRE(target);
    bytes[h->weights_offset + target->data_offset + target->data_bytes / 2] ^= 0x10;
    write_file(blob, (const char *)bytes, size);
    p = pipe_of("stories260K", "NPU", props_of("BLOB_PATH", blob, NULL));
    REQUIRE(p);
    got = NULL;
    CHECK(npg_llm_pipeline_generate(p, "Once upon", cfg, NULL, &got) == NPG_ERR_CHECKSUM);
    CHECK(got == NULL);
    CHECK(contains(npg_last_error(), target->name) && contains(npg_last_error(), "checksum"));
    npg_llm_pipeline_free(p);
    snprintf(cmd, sizeof cmd, "%s generate %s --device NPU -c BLOB_PATH=%s -p 'Once upon' -n 6", NPG_CLI,
             model_dir("stories260K"), blob);
    out = err = NULL;
    CHECK(run_cmd(cmd, &out, &err) == 1);
    CHECK(out && out[0] == '\0'); /* no token printed */
    CHECK(err && contains(err, "checksum") && contains(err, target->name));
    free(out);
    free(err);
    free(bytes);
    npg_generation_config_free(cfg);
    rm_rf(tmp);
    free(tmp);
}

int main(void) {
    RUN(test_generate_equals_cpu);
    RUN(test_context_and_prompt_limits);
    RUN(test_chat_keeps_cache);
    RUN(test_chat_refusals);
    RUN(test_property_keys);
    RUN(test_device_names_case_insensitive);
    RUN(test_info_getters);
    RUN(test_cli_compile);
    RUN(test_weightless_tokenizer_only);
    RUN(test_full_blob_corrupt_late_layer);
    return npg_test_summary();
}
