/* test_tokenizer.c — the tokenizer against Hugging Face tokenizers' own output:
 *   - every case of ../shared/goldens/tokenizers/ (one JSON per tokenizer): ids with and without special tokens, and
 *     the three decodes (with / without skipping specials, and of the plain ids);
 *   - llama.cpp's vectors (../shared/tokenizers/llamacpp-tests, produced with HF tokenizers);
 *   - ../shared/goldens/stories260K/tokenizer_cases.json;
 *   - BOS / EOS / chat template metadata from tokenizer_config.json.
 * Streaming detokenization and error cases live in test_tokenizer_stream.c / test_tokenizer_errors.c. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "tokenizer/tokenizer.h"

static const char *const GOLDENS[] = {"gemma3",  "gpt2",       "llama3_2",       "mistral_nemo", "qwen2_5",
                                      "qwen3",   "stories260K_hf", "tinyllama-chat", "whisper_en",
                                      "whisper_multilingual"};

static cJSON *load_json(const char *path) {
    char *text = read_all(path, NULL);
    if (!text)
        return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

/* ids of a JSON array into a malloc'd array. */
static int32_t *json_ids(const cJSON *arr, size_t *n) {
    *n = (size_t)cJSON_GetArraySize(arr);
    int32_t *v = malloc((*n + 1) * sizeof *v);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) v[i++] = (int32_t)it->valuedouble;
    return v;
}

static bool ids_equal(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void print_ids(const char *what, const int32_t *v, size_t n) {
    fprintf(stderr, "    %s:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %d", v[i]);
    fprintf(stderr, "\n");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Checks one encode; returns true when equal. */
static bool check_encode(const npg_tokenizer *tok, const char *name, size_t ci, const char *text, bool special,
                         const cJSON *expected) {
    size_t n_exp;
    int32_t *exp = json_ids(expected, &n_exp);
    int32_t *ids = NULL;
    size_t n = 0;
    npg_status st = npg_tokenizer_encode(tok, text, special, &ids, &n);
    bool ok = st == NPG_OK && ids_equal(ids, n, exp, n_exp);
    if (!ok) {
        fprintf(stderr, "  %s case %zu (special=%d) text \"%s\": %s\n", name, ci, special, text,
                st == NPG_OK ? "ids differ" : npg_last_error());
        print_ids("expected", exp, n_exp);
        if (st == NPG_OK)
            print_ids("got     ", ids, n);
    }
    npg_free(ids);
    free(exp);
    return ok;
}

static bool check_decode(const npg_tokenizer *tok, const char *name, size_t ci, const cJSON *ids_json, bool skip,
                         const char *expected) {
    size_t n;
    int32_t *ids = json_ids(ids_json, &n);
    char *text = NULL;
    npg_status st = npg_tokenizer_decode(tok, ids, n, skip, &text);
    bool ok = st == NPG_OK && strcmp(text, expected) == 0;
    if (!ok)
        fprintf(stderr, "  %s case %zu decode(skip=%d): expected \"%s\" got \"%s\"\n", name, ci, skip, expected,
                st == NPG_OK ? text : npg_last_error());
    npg_free(text);
    free(ids);
    return ok;
}

static void golden_file(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "goldens/tokenizers/%s.json", name);
    cJSON *g = load_json(shared_path(rel));
    REQUIRE(g);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(g, "tokenizer_files");
    REQUIRE(cJSON_IsString(files));
    npg_tokenizer *tok = NULL;
    double t0 = now_s();
    npg_status st = npg_tokenizer_create(shared_path(files->valuestring), &tok);
    double t1 = now_s();
    if (st != NPG_OK) {
        fprintf(stderr, "  %s: load failed: %s\n", name, npg_last_error());
        cJSON_Delete(g);
        REQUIRE(st == NPG_OK);
    }
    fprintf(stderr, "  %s: loaded in %.3f s, vocab %zu\n", name, t1 - t0, npg_tokenizer_vocab_size(tok));
    size_t n_cases = 0, n_bad = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(g, "cases")) {
        const char *text = cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring;
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(c, "ids");
        const cJSON *ids_sp = cJSON_GetObjectItemCaseSensitive(c, "ids_with_special");
        bool ok = check_encode(tok, name, n_cases, text, false, ids);
        ok = check_encode(tok, name, n_cases, text, true, ids_sp) && ok;
        ok = check_decode(tok, name, n_cases, ids_sp, false,
                          cJSON_GetObjectItemCaseSensitive(c, "decoded")->valuestring) && ok;
        ok = check_decode(tok, name, n_cases, ids_sp, true,
                          cJSON_GetObjectItemCaseSensitive(c, "decoded_skip_special")->valuestring) && ok;
        ok = check_decode(tok, name, n_cases, ids, false,
                          cJSON_GetObjectItemCaseSensitive(c, "decoded_plain")->valuestring) && ok;
        n_bad += !ok;
        n_cases++;
    }
    fprintf(stderr, "  %s: %zu/%zu cases agree\n", name, n_cases - n_bad, n_cases);
    CHECK(n_cases > 100);
    CHECK(n_bad == 0);
    npg_tokenizer_free(tok);
    cJSON_Delete(g);
}

static void test_goldens(void) {
    for (size_t i = 0; i < sizeof GOLDENS / sizeof GOLDENS[0]; i++)
        golden_file(GOLDENS[i]);
}

/* llama.cpp vectors: "*.inp" strings split by "\n__ggml_vocab_test__\n", "*.out" one line of ids
 * (no BOS) per string. */
static void llamacpp_vectors(const char *vocab, const char *dir) {
    char rel[256];
    snprintf(rel, sizeof rel, "tokenizers/llamacpp-tests/ggml-vocab-%s.gguf.inp", vocab);
    char *inp = read_all(shared_path(rel), NULL);
    snprintf(rel, sizeof rel, "tokenizers/llamacpp-tests/ggml-vocab-%s.gguf.out", vocab);
    char *out = read_all(shared_path(rel), NULL);
    npg_tokenizer *tok = NULL;
    if (!inp || !out) {
        free(inp);
        free(out);
        REQUIRE(inp && out);
    }
    npg_status st = npg_tokenizer_create(shared_path(dir), &tok);
    if (st != NPG_OK) {
        fprintf(stderr, "  %s: %s\n", vocab, npg_last_error());
        free(inp);
        free(out);
        REQUIRE(st == NPG_OK);
    }
    static const char SEP[] = "\n__ggml_vocab_test__\n";
    char *p = inp, *line = out;
    size_t n_cases = 0, n_bad = 0;
    while (*p && *line) {
        char *end = strstr(p, SEP);
        if (end)
            *end = '\0';
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        int32_t exp[1024];
        size_t n_exp = 0;
        for (char *q = line; *q && n_exp < 1024;) {
            char *e;
            long v = strtol(q, &e, 10);
            if (e == q)
                break;
            exp[n_exp++] = (int32_t)v;
            q = e;
        }
        int32_t *ids = NULL;
        size_t n = 0;
        st = npg_tokenizer_encode(tok, p, false, &ids, &n);
        bool ok = st == NPG_OK && ids_equal(ids, n, exp, n_exp);
        if (!ok) {
            fprintf(stderr, "  %s vector %zu \"%s\": %s\n", vocab, n_cases, p, st == NPG_OK ? "differs" : npg_last_error());
            print_ids("expected", exp, n_exp);
            if (st == NPG_OK)
                print_ids("got     ", ids, n);
        }
        n_bad += !ok;
        n_cases++;
        npg_free(ids);
        if (!end || !eol)
            break;
        p = end + strlen(SEP);
        line = eol + 1;
    }
    fprintf(stderr, "  llama.cpp %s: %zu/%zu vectors agree\n", vocab, n_cases - n_bad, n_cases);
    CHECK(n_cases >= 40);
    CHECK(n_bad == 0);
    npg_tokenizer_free(tok);
    free(inp);
    free(out);
}

static void test_llamacpp(void) {
    llamacpp_vectors("llama-spm", "tokenizers/tinyllama-chat");
    llamacpp_vectors("llama-bpe", "tokenizers/llama3_2");
    llamacpp_vectors("qwen2", "tokenizers/qwen2_5");
    llamacpp_vectors("gpt-2", "tokenizers/gpt2");
    /* phi-3 uses the Llama-2 SentencePiece vocabulary with the same 32000 pieces */
    llamacpp_vectors("phi-3", "tokenizers/tinyllama-chat");
}

static void test_stories260k_cases(void) {
    cJSON *g = load_json(shared_path("goldens/stories260K/tokenizer_cases.json"));
    REQUIRE(g);
    npg_tokenizer *tok = NULL;
    npg_status st = npg_tokenizer_create(shared_path("models/stories260K"), &tok);
    if (st != NPG_OK) {
        cJSON_Delete(g);
        REQUIRE_OK(st);
    }
    size_t n_cases = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(g, "cases")) {
        const char *text = cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring;
        bool add_bos = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "add_bos"));
        CHECK(check_encode(tok, "stories260K", n_cases, text, add_bos, cJSON_GetObjectItemCaseSensitive(c, "ids")));
        CHECK(check_decode(tok, "stories260K", n_cases, cJSON_GetObjectItemCaseSensitive(c, "ids"), true,
                           cJSON_GetObjectItemCaseSensitive(c, "decoded")->valuestring));
        n_cases++;
    }
    CHECK(n_cases >= 10);
    CHECK(npg_tokenizer_bos_token_id(tok) == 1);
    CHECK(npg_tokenizer_eos_token_id(tok) == 2);
    CHECK(npg_tokenizer_adds_bos(tok));
    CHECK(npg_tokenizer_vocab_size(tok) == 512);
    npg_tokenizer_free(tok);
    cJSON_Delete(g);
}

/* Metadata: special token strings, ids, chat templates, specials. */
static void test_metadata(void) {
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/tinyllama-chat"), &tok));
    CHECK(strcmp(npg_tokenizer_bos_token(tok), "<s>") == 0);
    CHECK(strcmp(npg_tokenizer_eos_token(tok), "</s>") == 0);
    CHECK(strcmp(npg_tokenizer_pad_token(tok), "</s>") == 0);
    CHECK(npg_tokenizer_bos_token_id(tok) == 1 && npg_tokenizer_eos_token_id(tok) == 2);
    CHECK(npg_tokenizer_chat_template(tok) && strstr(npg_tokenizer_chat_template(tok), "<|user|>"));
    CHECK(npg_tokenizer_is_special(tok, 1) && !npg_tokenizer_is_special(tok, 100));
    CHECK(npg_tokenizer_token_to_id(tok, "<unk>") == 0);
    CHECK(npg_tokenizer_token_to_id(tok, "\xE2\x96\x81the") == 278);
    CHECK(npg_tokenizer_token_to_id(tok, "no such token here") == -1);
    CHECK(strstr(npg_tokenizer_dir(tok), "tinyllama-chat") != NULL);
    npg_tokenizer_free(tok);

    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/qwen3"), &tok));
    CHECK(npg_tokenizer_bos_token(tok) == NULL && npg_tokenizer_bos_token_id(tok) == -1);
    CHECK(!npg_tokenizer_adds_bos(tok));
    CHECK(npg_tokenizer_eos_token_id(tok) == npg_tokenizer_token_to_id(tok, "<|im_end|>"));
    CHECK(strcmp(npg_tokenizer_pad_token(tok), "<|endoftext|>") == 0);
    CHECK(npg_tokenizer_chat_template(tok) != NULL);
    npg_tokenizer_free(tok);

    /* a model folder whose tokenizer files are links stored as text (relative target paths) */
    REQUIRE_OK(npg_tokenizer_create(shared_path("models/random-whisper"), &tok));
    CHECK(npg_tokenizer_vocab_size(tok) == 51865);
    CHECK(npg_tokenizer_token_to_id(tok, "<|startoftranscript|>") == 50258);
    CHECK(npg_tokenizer_eos_token_id(tok) == 50257);
    npg_tokenizer_free(tok);

    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/gpt2"), &tok));
    CHECK(npg_tokenizer_chat_template(tok) == NULL);
    CHECK(npg_tokenizer_bos_token_id(tok) == 50256);
    CHECK(npg_tokenizer_vocab_size(tok) == 50257);
    npg_tokenizer_free(tok);
}

int main(void) {
    RUN(test_goldens);
    RUN(test_llamacpp);
    RUN(test_stories260k_cases);
    RUN(test_metadata);
    return npg_test_summary();
}
