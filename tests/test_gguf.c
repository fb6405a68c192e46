/* test_gguf.c — GGUF in: files written from ../shared fixtures by the converter (models/gguf_export.c,
 * the npg-gguf-write tool) load and run like the Hugging Face folder they came from; the tokenizer
 * rebuilt from tokenizer.ggml.* metadata encodes llama.cpp's tokenizer test strings to the same ids as
 * the folder's tokenizer.json; malformed files each get their own error.
 *
 * Weights: F32 gives bit-identical logits (q/k rows permuted llama.cpp's way on write, put back on
 * load); F16 the same greedy ids (the fixtures' weights are exact in f16 or nearly); Q8_0 logits close
 * to the folder's (the fixtures are random models, where a near-tie can flip one greedy id). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "format/gguf.h"
#include "models/gguf_model.h"
#include "models/model.h"
#include "test_npu_util.h"
#include "testutil.h"

static const char *const fixtures[] = {"stories260K", "random-llama-gqa", "random-qwen2", "random-qwen3",
                                       "random-phi3", "random-gemma3", "random-llama-chat"};

static npg_status run_logits(const npg_model *m, const int32_t *ids, int64_t n, bool stepwise, float *out) {
    npg_threadpool *pool = NULL;
    NPG_TRY(npg_threadpool_create(2, &pool));
    npg_forward_state *s = NULL;
    npg_status st = npg_forward_state_create(m, stepwise ? 1 : n, n, pool, npg_isa_detect(), &s);
    int64_t V = m->cfg.vocab;
    if (st == NPG_OK && stepwise) {
        for (int64_t t = 0; t < n && st == NPG_OK; t++) {
            st = npg_model_forward(m, s, &ids[t], 1, t, false);
            memcpy(out + t * V, s->logits, (size_t)V * sizeof(float));
        }
    } else if (st == NPG_OK) {
        st = npg_model_forward(m, s, ids, n, 0, true);
        if (st == NPG_OK)
            memcpy(out, s->logits, (size_t)(n * V) * sizeof(float));
    }
    npg_forward_state_free(s);
    npg_threadpool_free(pool);
    return st;
}

/* greedy continuation of ids[0..n) by `steps` tokens through the cache */
static npg_status model_greedy(const npg_model *m, const int32_t *prompt, int64_t n, int64_t steps, int32_t *out) {
    npg_threadpool *pool = NULL;
    NPG_TRY(npg_threadpool_create(2, &pool));
    npg_forward_state *s = NULL;
    npg_status st = npg_forward_state_create(m, n, n + steps, pool, npg_isa_detect(), &s);
    int64_t V = m->cfg.vocab;
    if (st == NPG_OK)
        st = npg_model_forward(m, s, prompt, n, 0, false);
    for (int64_t t = 0; t < steps && st == NPG_OK; t++) {
        int32_t best = 0;
        for (int64_t v = 1; v < V; v++)
            if (s->logits[v] > s->logits[best])
                best = (int32_t)v;
        out[t] = best;
        st = npg_model_forward(m, s, &best, 1, n + t, false);
    }
    npg_forward_state_free(s);
    npg_threadpool_free(pool);
    return st;
}

static void check_fixture(const char *name, const char *dir) {
    char src[512], path[600];
    snprintf(src, sizeof src, "models/%s", name);
    const char *hf = shared_path(src);
    npg_model *ref = NULL;
    REQUIRE_OK(npg_model_load(hf, &ref));
    enum { N = 12, STEPS = 12 };
    int32_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = (int32_t)((i * 37 + 5) % ref->cfg.vocab);
    int64_t V = ref->cfg.vocab;
    float *lr = malloc((size_t)(N * V) * sizeof(float)), *lg = malloc((size_t)(N * V) * sizeof(float));
    int32_t gr[STEPS], gg[STEPS];
    REQUIRE(lr && lg);
    REQUIRE_OK(run_logits(ref, ids, N, false, lr));
    REQUIRE_OK(model_greedy(ref, ids, N, STEPS, gr));
    float amax = 0.0f;
    for (int64_t i = 0; i < N * V; i++)
        amax = fabsf(lr[i]) > amax ? fabsf(lr[i]) : amax;
    static const char *const types[] = {"F32", "F16", "Q8_0"};
    for (int t = 0; t < 3; t++) {
        snprintf(path, sizeof path, "%s/%s-%s.gguf", dir, name, types[t]);
        REQUIRE_OK(npg_gguf_export(hf, path, types[t], false));
        npg_model *m = NULL;
        REQUIRE_OK(npg_model_load(path, &m));
        CHECK(m->cfg.arch == ref->cfg.arch && m->cfg.vocab == V && m->cfg.n_layers == ref->cfg.n_layers);
        REQUIRE_OK(run_logits(m, ids, N, false, lg));
        float d = max_abs_diff(lr, lg, (size_t)(N * V));
        REQUIRE_OK(model_greedy(m, ids, N, STEPS, gg));
        bool same_ids = memcmp(gr, gg, sizeof gr) == 0;
        fprintf(stderr, "  %s %s: max |logit diff| %.3g of max |logit| %.3g, greedy ids %s\n", name, types[t],
                (double)d, (double)amax, same_ids ? "equal" : "differ");
        if (t == 0)
            CHECK(d == 0.0f); /* the same f32 weights in the same kernels */
        if (t <= 1)
            CHECK(same_ids);
        else
            CHECK(d <= 0.05f * amax);
        if (t == 2) { /* token by token through the decode kernels (int8 activations): close to a prefill */
            float *ls = malloc((size_t)(N * V) * sizeof(float));
            REQUIRE(ls);
            REQUIRE_OK(run_logits(m, ids, N, true, ls));
            CHECK(max_abs_diff(ls, lg, (size_t)(N * V)) <= 0.05f * amax);
            free(ls);
        }
        npg_model_free(m);
    }
    npg_model_free(ref);
    free(lr), free(lg);
}

static void test_models(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        check_fixture(fixtures[i], dir);
    rm_rf(dir);
    free(dir);
}

/* llama.cpp's test strings (one file per vocabulary, cases split by a marker line) */
static void check_tokenizer(const char *tok_dir, const char *inp, const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/vocab.gguf", dir);
    REQUIRE_OK(npg_gguf_export(tok_dir, path, "F16", true));
    npg_tokenizer *a = NULL, *b = NULL;
    REQUIRE_OK(npg_tokenizer_create(tok_dir, &a));
    REQUIRE_OK(npg_tokenizer_create(path, &b));
    CHECK(npg_tokenizer_vocab_size(a) == npg_tokenizer_vocab_size(b));
    CHECK(npg_tokenizer_bos_token_id(a) == npg_tokenizer_bos_token_id(b));
    CHECK(npg_tokenizer_eos_token_id(a) == npg_tokenizer_eos_token_id(b));
    size_t len = 0;
    char *text = read_all(shared_path(inp), &len);
    REQUIRE(text);
    const char *marker = "\n__ggml_vocab_test__\n";
    int cases = 0, equal = 0;
    for (char *p = text; p && *p;) {
        char *e = strstr(p, marker);
        size_t n = e ? (size_t)(e - p) : strlen(p);
        for (int special = 0; special < 2; special++) {
            int32_t *ia = NULL, *ib = NULL;
            size_t na = 0, nb = 0;
            npg_status sa = npg_tokenizer_encode_n(a, p, n, special, &ia, &na);
            npg_status sb = npg_tokenizer_encode_n(b, p, n, special, &ib, &nb);
            cases++;
            if (sa == sb && (sa != NPG_OK || (na == nb && memcmp(ia, ib, na * sizeof *ia) == 0))) {
                equal++;
            } else {
                fprintf(stderr, "  %s: case '%.*s' differs (%zu vs %zu ids)\n", tok_dir, (int)(n > 40 ? 40 : n), p, na, nb);
            }
            if (sa == NPG_OK && sb == NPG_OK) {
                char *da = NULL, *db = NULL;
                if (npg_tokenizer_decode(a, ia, na, false, &da) == NPG_OK && npg_tokenizer_decode(b, ib, nb, false, &db) == NPG_OK)
                    CHECK(strcmp(da, db) == 0);
                npg_free(da), npg_free(db);
            }
            npg_free(ia), npg_free(ib);
        }
        p = e ? e + strlen(marker) : NULL;
    }
    fprintf(stderr, "  %s: %d of %d encodings equal\n", tok_dir, equal, cases);
    CHECK(cases > 40 && equal == cases);
    free(text);
    npg_tokenizer_free(a);
    npg_tokenizer_free(b);
}

static void test_tokenizers(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    const char *inp_spm = "tokenizers/llamacpp-tests/ggml-vocab-llama-spm.gguf.inp";
    check_tokenizer(shared_path("tokenizers/tinyllama-chat"), inp_spm, dir);
    check_tokenizer(shared_path("models/stories260K"), inp_spm, dir);
    check_tokenizer(shared_path("tokenizers/gemma3"), inp_spm, dir); /* no space prefix, user-defined tokens */
    check_tokenizer(shared_path("tokenizers/gpt2"), "tokenizers/llamacpp-tests/ggml-vocab-gpt-2.gguf.inp", dir);
    check_tokenizer(shared_path("tokenizers/qwen2_5"), "tokenizers/llamacpp-tests/ggml-vocab-qwen2.gguf.inp", dir);
    check_tokenizer(shared_path("tokenizers/llama3_2"), "tokenizers/llamacpp-tests/ggml-vocab-llama-bpe.gguf.inp", dir);
    rm_rf(dir);
    free(dir);
}

/* a folder holding one .gguf is a model folder; two are ambiguous */
static void test_folder(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char path[600];
    snprintf(path, sizeof path, "%s/one.gguf", dir);
    REQUIRE_OK(npg_gguf_export(shared_path("models/stories260K"), path, "Q8_0", false));
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(dir, &m));
    npg_model_free(m);
    npg_tokenizer *t = NULL;
    REQUIRE_OK(npg_tokenizer_create(dir, &t));
    npg_tokenizer_free(t);
    snprintf(path, sizeof path, "%s/two.gguf", dir);
    REQUIRE_OK(npg_gguf_export(shared_path("models/stories260K"), path, "Q4_0", false));
    CHECK(npg_model_load(dir, &m) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "several .gguf") != NULL);
    rm_rf(dir);
    free(dir);
}

/* the NPU device on a GGUF file: a blob compiled from it imports with the same greedy ids, and is
 * refused for another GGUF file (the file's sampled contents are the model identity); export refuses
 * a GGUF file with a message saying so */
static void test_npu_blob(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char a[600], b[600], blob[600];
    snprintf(a, sizeof a, "%s/a.gguf", dir);
    snprintf(b, sizeof b, "%s/b.gguf", dir);
    snprintf(blob, sizeof blob, "%s/plan.blob", dir);
    REQUIRE_OK(npg_gguf_export(shared_path("models/stories260K"), a, "Q8_0", false));
    REQUIRE_OK(npg_gguf_export(shared_path("models/stories260K"), b, "Q4_0", false));
    npg_model *ma = NULL, *mb = NULL;
    REQUIRE_OK(npg_model_load(a, &ma));
    REQUIRE_OK(npg_model_load(b, &mb));
    enum { NP = 9, NG = 8 };
    int32_t prompt[NP], ref[NG], ids[NG];
    test_prompt(ma->cfg.vocab, prompt, NP);
    npg_engine *e = NULL;
    npg_properties *p = props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "EXPORT_BLOB", "YES", "BLOB_PATH",
                                 blob, NULL);
    REQUIRE_OK(npg_npu_engine_create(ma, a, p, &e));
    npg_properties_free(p);
    CHECK(!e->imported);
    REQUIRE_OK(greedy(e, prompt, NP, NG, ref, NULL));
    e->ops->free(e);
    p = props_of("BLOB_PATH", blob, NULL);
    REQUIRE_OK(npg_npu_engine_create(ma, a, p, &e));
    CHECK(e->imported);
    REQUIRE_OK(greedy(e, prompt, NP, NG, ids, NULL));
    CHECK(memcmp(ids, ref, sizeof ids) == 0);
    e->ops->free(e);
    e = NULL;
    /* export does not convert a GGUF file, and says so */
    npg_export_options eo;
    npg_export_options_init(&eo);
    char out[700];
    snprintf(out, sizeof out, "%s/exported", dir);
    CHECK(npg_export_model(a, out, &eo) == NPG_ERR_UNSUPPORTED);
    CHECK(contains(npg_last_error(), "a.gguf") && contains(npg_last_error(), "GGUF file"));
    CHECK(!npg_path_exists(out));
    CHECK(npg_npu_engine_create(mb, b, p, &e) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "b.gguf"));
    if (e)
        e->ops->free(e);
    npg_properties_free(p);
    npg_model_free(ma);
    npg_model_free(mb);
    rm_rf(dir);
    free(dir);
}

/* ---- malformed files: a valid image, then one defect at a time ---- */

static uint8_t *img;
static size_t img_len;

static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void expect(const uint8_t *data, size_t len, npg_status want, const char *msg) {
    npg_gguf *g = NULL;
    npg_status st = npg_gguf_open_memory(data, len, "bad.gguf", &g);
    if (st != want || !strstr(npg_last_error(), msg) || !strstr(npg_last_error(), "bad.gguf")) {
        fprintf(stderr, "  want %s '%s', got %s: %s\n", npg_status_name(want), msg, npg_status_name(st), npg_last_error());
        CHECK(0);
    }
    npg_gguf_close(g);
}

static void test_malformed(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char path[600];
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    REQUIRE_OK(npg_gguf_export(shared_path("models/stories260K"), path, "Q8_0", false));
    img = (uint8_t *)read_all(path, &img_len);
    REQUIRE(img && img_len > 64);
    npg_gguf *g = NULL;
    REQUIRE_OK(npg_gguf_open_memory(img, img_len, "good.gguf", &g));
    /* where the first tensor info starts: search for its name in the image */
    const npg_gguf_tensor *t0 = &g->tensors[0];
    size_t nl = strlen(t0->name), info = 0;
    for (size_t i = 24; i + nl < img_len; i++)
        if (memcmp(img + i, t0->name, nl) == 0 && i >= 8) {
            uint64_t l;
            memcpy(&l, img + i - 8, 8);
            if (l == nl) {
                info = i - 8;
                break;
            }
        }
    REQUIRE(info > 0);
    size_t type_at = info + 8 + nl + 4 + 8 * (size_t)t0->n_dims, off_at = type_at + 4;
    npg_gguf_close(g);

    uint8_t *b = malloc(img_len);
    REQUIRE(b);
#define MUTATE(stmt, len, want, msg) \
    do {                             \
        memcpy(b, img, img_len);     \
        stmt;                        \
        expect(b, len, want, msg);   \
    } while (0)
    MUTATE(b[0] = 'X', img_len, NPG_ERR_FORMAT, "not a GGUF file");
    MUTATE(put_u32(b + 4, 1), img_len, NPG_ERR_UNSUPPORTED, "GGUF version 1");
    MUTATE(put_u32(b + 4, 7), img_len, NPG_ERR_FORMAT, "GGUF version 7");
    MUTATE(put_u64(b + 8, (uint64_t)1 << 40), img_len, NPG_ERR_FORMAT, "tensor count");
    MUTATE(put_u64(b + 16, (uint64_t)1 << 40), img_len, NPG_ERR_FORMAT, "metadata count");
    MUTATE(put_u64(b + 24, (uint64_t)1 << 60), img_len, NPG_ERR_FORMAT, "truncated GGUF");
    MUTATE(put_u32(b + type_at, 77), img_len, NPG_ERR_FORMAT, "ggml type 77");
    MUTATE(put_u32(b + type_at, 6), img_len, NPG_ERR_UNSUPPORTED, "Q5_0");
    MUTATE(put_u64(b + off_at, 3), img_len, NPG_ERR_FORMAT, "not a multiple of the alignment");
    MUTATE(put_u64(b + off_at, (uint64_t)img_len), img_len, NPG_ERR_FORMAT, "past the end");
    MUTATE(put_u32(b + info + 8 + nl, 9), img_len, NPG_ERR_FORMAT, "dims");
    MUTATE((void)0, img_len - 100, NPG_ERR_FORMAT, "past the end");
    MUTATE((void)0, 20, NPG_ERR_FORMAT, "truncated GGUF");
#undef MUTATE
    /* a second tensor placed on the first: overlap */
    npg_gguf *g2 = NULL;
    REQUIRE_OK(npg_gguf_open_memory(img, img_len, "good.gguf", &g2));
    memcpy(b, img, img_len);
    size_t p = off_at + 8; /* the second tensor info follows */
    uint64_t l2;
    memcpy(&l2, b + p, 8);
    size_t off2 = p + 8 + (size_t)l2 + 4 + 8 * (size_t)g2->tensors[1].n_dims + 4;
    put_u64(b + off2, 0);
    expect(b, img_len, NPG_ERR_FORMAT, "overlap");
    npg_gguf_close(g2);
    free(b);
    free(img);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_malformed);
    RUN(test_folder);
    RUN(test_npu_blob);
    RUN(test_tokenizers);
    RUN(test_models);
    return npg_test_summary();
}
