/* test_mistral.c — MistralForCausalLM with a sliding window against an independent reference.
 *
 * The folder is built in a temp dir from random-llama-gqa's weights and tokenizer (links) with a Mistral
 * config.json, sliding_window 4. Expected logits [12 × 512] for a 12-token prompt come from the pure-Python
 * forward tests/reference/llama_ref.py (float64, BF16 weights upcast), which follows transformers'
 * Mistral masking: a query at position q sees keys q - W < kv <= q (masking_utils.sliding_window_overlay),
 * i.e. its last W positions including itself. Regenerate the data file with:
 *
 *   python3 tests/reference/llama_ref.py ../shared/models/random-llama-gqa \
 *       1,403,407,261,378,432,383,286,261,376,298,315 --sliding-window 4 \
 *       --out tests/data/mistral_sliding4_logits.txt
 *
 * (The same script without --sliding-window reproduces goldens/random-llama-gqa/logits_ref.f32 to 8e-6.)
 * Checked: one prefill, token by token through the KV cache, and uneven chunks; and that the window
 * matters (without it the logits differ by far more than the tolerance, and match the Llama golden). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "models/model.h"
#include "testutil.h"

enum { N = 12, V = 512 };
static const int32_t prompt[N] = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};

/* Links random-llama-gqa's files into dir and writes a Mistral config.json (sliding_window as JSON text). */
static void make_mistral(const char *dir, const char *sliding_window) {
    const char *files[] = {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "generation_config.json"};
    char src[512], dst[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(src, sizeof src, "%s/%s", shared_path("models/random-llama-gqa"), files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        CHECK(symlink(src, dst) == 0);
    }
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"MistralForCausalLM\"], \"model_type\": \"mistral\", \"hidden_size\": 64,\n"
             " \"intermediate_size\": 128, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 16,\n"
             " \"num_hidden_layers\": 2, \"vocab_size\": 512, \"max_position_embeddings\": 256, \"bos_token_id\": 1,\n"
             " \"eos_token_id\": 2, \"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0,\n"
             " \"sliding_window\": %s, \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\"}\n",
             sliding_window);
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    write_file(dst, cfg, strlen(cfg));
}

/* tests/data/mistral_sliding4_logits.txt: a '#' line, then N rows of V numbers. NULL if malformed. */
static float *read_expected(void) {
    char *text = read_all(NPG_SOURCE_DIR "/tests/data/mistral_sliding4_logits.txt", NULL);
    if (!text)
        return NULL;
    float *out = malloc(sizeof(float) * N * V);
    char *p = text;
    bool ok = strncmp(p, "# llama_ref.py random-llama-gqa ids=1,403,", 42) == 0 &&
              strstr(p, "sliding_window=4 rows=12 vocab=512\n") != NULL;
    if (ok)
        p = strchr(p, '\n') + 1;
    for (int i = 0; ok && i < N * V; i++) {
        char *end = NULL;
        out[i] = strtof(p, &end);
        ok = end != p;
        p = end;
    }
    free(text);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

/* Logits of the prompt fed in chunks of `chunk` tokens (N = one prefill, 1 = token by token). */
static npg_status logits_chunked(const npg_model *m, int64_t chunk, float *out) {
    npg_threadpool *pool = NULL;
    NPG_TRY(npg_threadpool_create(2, &pool));
    npg_forward_state *s = NULL;
    npg_status st = npg_forward_state_create(m, chunk, N, pool, npg_isa_detect(), &s);
    for (int64_t done = 0; st == NPG_OK && done < N; done += chunk) {
        int64_t n = N - done < chunk ? N - done : chunk;
        st = npg_model_forward(m, s, prompt + done, n, done, true);
        if (st == NPG_OK)
            memcpy(out + done * V, s->logits, (size_t)(n * V) * sizeof(float));
    }
    npg_forward_state_free(s);
    npg_threadpool_free(pool);
    return st;
}

static void test_mistral_sliding_window(void) {
    float *expected = read_expected();
    REQUIRE(expected != NULL);
    char *dir = make_temp_dir();
    make_mistral(dir, "4");
    npg_model *m = NULL;
    npg_status st = npg_model_load(dir, &m);
    CHECK(st == NPG_OK);
    float *got = malloc(sizeof(float) * N * V);
    if (st == NPG_OK) {
        CHECK(m->cfg.arch == NPG_ARCH_MISTRAL);
        CHECK(m->cfg.sliding_window == 4 && m->cfg.layer_sliding[0] && m->cfg.layer_sliding[1]);
        const int64_t chunks[] = {N, 1, 5};
        for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
            CHECK(logits_chunked(m, chunks[i], got) == NPG_OK);
            float d = max_abs_diff(got, expected, (size_t)N * V);
            fprintf(stderr, "  chunks of %lld: max |logit diff| vs reference = %.3g (tol 1e-3)\n", (long long)chunks[i],
                    (double)d);
            CHECK(d <= 1e-3f);
        }
    }
    npg_model_free(m);
    rm_rf(dir);
    free(dir);
    free(got);
    free(expected);
}

static void test_window_matters(void) {
    float *expected = read_expected();
    REQUIRE(expected != NULL);
    char *dir = make_temp_dir();
    make_mistral(dir, "null");
    npg_model *m = NULL;
    npg_status st = npg_model_load(dir, &m);
    CHECK(st == NPG_OK);
    float *got = malloc(sizeof(float) * N * V);
    size_t ng = 0;
    float *golden = read_f32(shared_path("goldens/random-llama-gqa/logits_ref.f32"), &ng);
    if (st == NPG_OK && golden && ng >= (size_t)N * V) {
        CHECK(m->cfg.sliding_window == 0);
        CHECK(logits_chunked(m, N, got) == NPG_OK);
        /* the first 4 positions see at most 4 keys: the window changes nothing there */
        float d_head = max_abs_diff(got, expected, (size_t)4 * V);
        float d_tail = max_abs_diff(got + 4 * V, expected + 4 * V, (size_t)(N - 4) * V);
        /* without the window, Mistral is Llama: the first 12 golden rows (same weights and prompt) */
        float d_llama = max_abs_diff(got, golden, (size_t)N * V);
        fprintf(stderr, "  no window: rows 0-3 diff %.3g, rows 4-11 diff %.3g (must be large), vs llama golden %.3g\n",
                (double)d_head, (double)d_tail, (double)d_llama);
        CHECK(d_head <= 1e-3f);
        CHECK(d_tail > 1.0f);
        CHECK(d_llama <= 1e-3f);
    } else {
        CHECK(golden != NULL);
    }
    npg_model_free(m);
    rm_rf(dir);
    free(dir);
    free(got);
    free(golden);
    free(expected);
}

int main(void) {
    RUN(test_mistral_sliding_window);
    RUN(test_window_matters);
    return npg_test_summary();
}
