/* test_safetensors_writer.c — the writer's contract (call order, sizes, names, the temporary file)
 * and npg-random-model end to end: the tiny-llama preset written, opened and checked. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/file.h"
#include "core/half.h"
#include "core/json.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "testutil.h"

/* A malloc'd formatted string (the paths here have no fixed bound). */
static char *xprintf(const char *fmt, ...) NPG_PRINTF(1, 2);
static char *xprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* The status must be `want` and the message hold `phrase`. */
#define CHECK_FAILS(expr, want, phrase)                                                                   \
    do {                                                                                                  \
        npg_status s_ = (expr);                                                                           \
        if (s_ != (want) || !strstr(npg_last_error(), (phrase))) {                                        \
            fprintf(stderr, "%s:%d: %s gave %s \"%s\", want %s with \"%s\"\n", __FILE__, __LINE__, #expr, \
                    npg_status_name(s_), npg_last_error(), npg_status_name(want), (phrase));              \
            npg_test_failures++;                                                                          \
        }                                                                                                 \
    } while (0)

static void test_writer_misuse(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char *path = npg_path_join(dir, "w.safetensors");
    int64_t shape[2] = {2, 3};
    npg_safetensors_writer *w = NULL;
    REQUIRE_OK(npg_safetensors_writer_create(path, &w));
    CHECK(count_dir_entries(dir, NULL) == 1); /* the temporary file */
    CHECK(!npg_path_exists(path));
    /* bad declarations change nothing */
    CHECK_FAILS(npg_safetensors_writer_declare(w, "", NPG_DT_F32, 2, shape), NPG_ERR_INVALID_ARGUMENT,
                "invalid tensor name ''");
    CHECK_FAILS(npg_safetensors_writer_declare(w, "__metadata__", NPG_DT_F32, 2, shape), NPG_ERR_INVALID_ARGUMENT,
                "invalid tensor name '__metadata__'");
    CHECK_FAILS(npg_safetensors_writer_declare(w, "a", NPG_DT_COUNT, 2, shape), NPG_ERR_INVALID_ARGUMENT,
                "tensor 'a' has unknown dtype");
    CHECK_FAILS(npg_safetensors_writer_declare(w, "a", NPG_DT_F32, NPG_MAX_DIMS + 1, shape), NPG_ERR_INVALID_ARGUMENT,
                "tensor 'a' has 9 dimensions");
    int64_t negative[1] = {-2};
    CHECK_FAILS(npg_safetensors_writer_declare(w, "a", NPG_DT_F32, 1, negative), NPG_ERR_INVALID_ARGUMENT,
                "tensor 'a' dimension 0 is negative (-2)");
    int64_t huge[3] = {INT64_MAX, INT64_MAX, 4};
    CHECK_FAILS(npg_safetensors_writer_declare(w, "a", NPG_DT_F32, 3, huge), NPG_ERR_INVALID_ARGUMENT,
                "tensor 'a' byte size overflows");
    CHECK(npg_safetensors_writer_tensor_count(w) == 0);
    CHECK_FAILS(npg_safetensors_writer_add_metadata(w, "k", NULL), NPG_ERR_INVALID_ARGUMENT, "metadata value");
    CHECK(npg_safetensors_writer_add_metadata(w, "k", "v") == NPG_OK);
    CHECK_FAILS(npg_safetensors_writer_add_metadata(w, "k", "v2"), NPG_ERR_INVALID_ARGUMENT,
                "metadata key 'k' given twice");
    /* data before the header */
    CHECK_FAILS(npg_safetensors_writer_write(w, "x", 1), NPG_ERR_INVALID_ARGUMENT,
                "write called before the header is written");
    CHECK(npg_safetensors_writer_declare(w, "a", NPG_DT_F32, 2, shape) == NPG_OK); /* 24 bytes */
    CHECK(npg_safetensors_writer_declare(w, "b", NPG_DT_U8, 1, shape) == NPG_OK);  /* 2 bytes */
    CHECK(npg_safetensors_writer_tensor_bytes(w, 0) == 24 && npg_safetensors_writer_tensor_bytes(w, 1) == 2);
    REQUIRE_OK(npg_safetensors_writer_write_header(w));
    CHECK_FAILS(npg_safetensors_writer_declare(w, "c", NPG_DT_F32, 2, shape), NPG_ERR_INVALID_ARGUMENT,
                "declare called after the header is written");
    uint8_t bytes[32] = {0};
    /* write_tensor checks order and size */
    CHECK_FAILS(npg_safetensors_writer_write_tensor(w, "b", bytes, 2), NPG_ERR_INVALID_ARGUMENT,
                "tensor 'b' written out of order (expected 'a' next)");
    CHECK_FAILS(npg_safetensors_writer_write_tensor(w, "a", bytes, 20), NPG_ERR_INVALID_ARGUMENT,
                "tensor 'a' given 20 bytes, declared 24");
    CHECK(npg_safetensors_writer_write(w, bytes, 10) == NPG_OK);
    CHECK_FAILS(npg_safetensors_writer_write_tensor(w, "b", bytes, 2), NPG_ERR_INVALID_ARGUMENT,
                "tensor 'b' written while 'a' is incomplete (10 of 24 bytes)");
    /* finishing early names the incomplete tensor and leaves no file behind */
    CHECK_FAILS(npg_safetensors_writer_finish(w), NPG_ERR_INVALID_ARGUMENT,
                "tensor 'a' is incomplete (10 of 24 bytes written) at finish");
    CHECK_FAILS(npg_safetensors_writer_write(w, bytes, 1), NPG_ERR_INVALID_ARGUMENT, "after an earlier failure");
    npg_safetensors_writer_free(w);
    CHECK(count_dir_entries(dir, NULL) == 0);

    /* too many bytes: nothing of the extra is accepted */
    REQUIRE_OK(npg_safetensors_writer_create(path, &w));
    CHECK(npg_safetensors_writer_declare(w, "a", NPG_DT_F32, 2, shape) == NPG_OK);
    REQUIRE_OK(npg_safetensors_writer_write_header(w));
    CHECK_FAILS(npg_safetensors_writer_write(w, bytes, 25), NPG_ERR_INVALID_ARGUMENT,
                "write of 25 bytes runs 1 bytes past the last tensor 'a'");
    npg_safetensors_writer_free(w);
    CHECK(count_dir_entries(dir, NULL) == 0);

    /* duplicate names are found when the header is written */
    REQUIRE_OK(npg_safetensors_writer_create(path, &w));
    CHECK(npg_safetensors_writer_declare(w, "x", NPG_DT_F32, 2, shape) == NPG_OK);
    CHECK(npg_safetensors_writer_declare(w, "y", NPG_DT_F32, 2, shape) == NPG_OK);
    CHECK(npg_safetensors_writer_declare(w, "x", NPG_DT_U8, 1, shape) == NPG_OK);
    CHECK_FAILS(npg_safetensors_writer_write_header(w), NPG_ERR_INVALID_ARGUMENT, "tensor 'x' declared twice");
    npg_safetensors_writer_free(w);

    /* an empty file and zero-byte tensors are fine; finishing twice is not */
    int64_t zero[1] = {0};
    REQUIRE_OK(npg_safetensors_writer_create(path, &w));
    CHECK(npg_safetensors_writer_declare(w, "z0", NPG_DT_F32, 1, zero) == NPG_OK);
    CHECK(npg_safetensors_writer_declare(w, "one", NPG_DT_U8, 0, NULL) == NPG_OK);
    CHECK(npg_safetensors_writer_declare(w, "z1", NPG_DT_F16, 1, zero) == NPG_OK);
    REQUIRE_OK(npg_safetensors_writer_write_header(w));
    CHECK(npg_safetensors_writer_write_tensor(w, "z0", NULL, 0) == NPG_OK);
    CHECK(npg_safetensors_writer_write_tensor(w, "one", "\x2a", 1) == NPG_OK);
    CHECK(npg_safetensors_writer_write_tensor(w, "z1", NULL, 0) == NPG_OK);
    CHECK_FAILS(npg_safetensors_writer_write_tensor(w, "z2", NULL, 0), NPG_ERR_INVALID_ARGUMENT,
                "written after all declared tensors");
    CHECK(npg_safetensors_writer_finish(w) == NPG_OK);
    CHECK_FAILS(npg_safetensors_writer_finish(w), NPG_ERR_INVALID_ARGUMENT, "after the file is finished");
    npg_safetensors_writer_free(w);
    npg_tensor_store *ts = NULL;
    CHECK(npg_tensor_store_open_file(path, &ts) == NPG_OK);
    const npg_tensor_info *one = npg_tensor_store_find(ts, "one");
    CHECK(npg_tensor_store_count(ts) == 3 && one && one->n_dims == 0 && one->n_bytes == 1 && one->data[0] == 0x2a);
    npg_tensor_store_free(ts);
    CHECK(count_dir_entries(dir, NULL) == 1);

    /* a folder that does not exist: the failure comes at create */
    char *bad = npg_path_join(dir, "no/such/dir/w.safetensors");
    w = NULL;
    CHECK_FAILS(npg_safetensors_writer_create(bad, &w), NPG_ERR_IO, "no/such/dir/w.safetensors");
    CHECK(w == NULL);
    npg_safetensors_writer_free(NULL);
    free(bad);
    free(path);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* npg-random-model                                                                               */
/* ---------------------------------------------------------------------------------------------- */

#define RANDOM_MODEL NPG_BUILD_DIR "/npg-random-model"

static bool same_file(const char *a, const char *b) {
    size_t la = 0, lb = 0;
    char *da = read_all(a, &la), *db = read_all(b, &lb);
    bool same = da && db && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

/* Runs the tool; returns its exit code, stderr in *err (caller frees). */
static int run_tool(const char *args, char **err) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s", RANDOM_MODEL, args);
    char *out = NULL;
    int rc = run_cmd(cmd, &out, err);
    free(out);
    return rc;
}

/* Every value of a BF16 tensor: finite, inside [lo, hi]. */
static bool bf16_values_in(const npg_tensor_info *t, float lo, float hi) {
    for (int64_t i = 0; i < t->n_elements; i++) {
        uint16_t h;
        memcpy(&h, t->data + 2 * i, 2);
        float v = npg_bf16_to_f32(h);
        if (!isfinite(v) || v < lo || v > hi)
            return false;
    }
    return true;
}

static void check_tiny_llama(const char *m) {
    char *cfg_path = npg_path_join(m, "config.json");
    cJSON *cfg = NULL;
    npg_status st = npg_json_parse_file(cfg_path, &cfg);
    if (st != NPG_OK) {
        fprintf(stderr, "%s\n", npg_last_error());
        npg_test_failures++;
        free(cfg_path);
        return;
    }
    int64_t v = 0;
    CHECK(npg_json_require_int(cfg, "hidden_size", cfg_path, &v) == NPG_OK && v == 64);
    CHECK(npg_json_require_int(cfg, "num_hidden_layers", cfg_path, &v) == NPG_OK && v == 2);
    CHECK(npg_json_require_int(cfg, "num_key_value_heads", cfg_path, &v) == NPG_OK && v == 2);
    CHECK(npg_json_require_int(cfg, "vocab_size", cfg_path, &v) == NPG_OK && v == 32000);
    const char *arch = cJSON_GetArrayItem(npg_json_get(cfg, "architectures"), 0)->valuestring;
    CHECK(strcmp(arch, "LlamaForCausalLM") == 0);
    CHECK(strcmp(npg_json_get_string(cfg, "torch_dtype"), "bfloat16") == 0);
    cJSON_Delete(cfg);
    free(cfg_path);
    /* tokenizer files byte for byte; generation_config.json equal to the published TinyLlama one */
    static const char *const copied[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                         "generation_config.json"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        char *path_a = npg_path_join(m, copied[i]);
        char *path_b = xprintf("tokenizers/tinyllama-chat/%s", copied[i]);
        CHECK(same_file(path_a, shared_path(path_b)));
        free(path_a);
        free(path_b);
    }

    npg_tensor_store *ts = NULL;
    REQUIRE_OK(npg_tensor_store_open_dir(m, &ts));
    CHECK(npg_tensor_store_count(ts) == 2 + 2 * 9 + 1);
    struct {
        const char *name;
        int64_t d0, d1;
        float lo, hi; /* value range */
    } want[] = {
        {"model.embed_tokens.weight", 32000, 64, -1.75f, 1.75f},
        {"model.layers.0.input_layernorm.weight", 64, 0, 0.9f, 1.1f},
        {"model.layers.0.self_attn.q_proj.weight", 64, 64, -0.22f, 0.22f},
        {"model.layers.0.self_attn.k_proj.weight", 32, 64, -0.22f, 0.22f},
        {"model.layers.1.self_attn.v_proj.weight", 32, 64, -0.22f, 0.22f},
        {"model.layers.1.self_attn.o_proj.weight", 64, 64, -0.22f, 0.22f},
        {"model.layers.1.post_attention_layernorm.weight", 64, 0, 0.9f, 1.1f},
        {"model.layers.1.mlp.gate_proj.weight", 128, 64, -0.22f, 0.22f},
        {"model.layers.1.mlp.up_proj.weight", 128, 64, -0.22f, 0.22f},
        {"model.layers.1.mlp.down_proj.weight", 64, 128, -0.16f, 0.16f},
        {"model.norm.weight", 64, 0, 0.9f, 1.1f},
        {"lm_head.weight", 32000, 64, -0.22f, 0.22f},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const npg_tensor_info *t = npg_tensor_store_find(ts, want[i].name);
        CHECK(t != NULL);
        if (!t)
            continue;
        CHECK(t->dtype == NPG_DT_BF16 && t->n_dims == (want[i].d1 ? 2 : 1) && t->shape[0] == want[i].d0);
        CHECK(!want[i].d1 || t->shape[1] == want[i].d1);
        if (!bf16_values_in(t, want[i].lo, want[i].hi)) {
            fprintf(stderr, "%s: values outside [%g, %g]\n", want[i].name, (double)want[i].lo, (double)want[i].hi);
            npg_test_failures++;
        }
    }
    /* the weights are random, not constant: the std of q_proj is about 1/sqrt(64) */
    const npg_tensor_info *q = npg_tensor_store_find(ts, "model.layers.0.self_attn.q_proj.weight");
    if (q) {
        double s2 = 0;
        for (int64_t i = 0; i < q->n_elements; i++) {
            uint16_t h;
            memcpy(&h, q->data + 2 * i, 2);
            s2 += (double)npg_bf16_to_f32(h) * (double)npg_bf16_to_f32(h);
        }
        double std = sqrt(s2 / (double)q->n_elements);
        CHECK(std > 0.12 && std < 0.13);
    }
    npg_tensor_store_free(ts);
}

static void test_random_model(void) {
    struct stat sb;
    if (stat(RANDOM_MODEL, &sb) != 0) {
        fprintf(stderr, "%s is not built (build all targets, e.g. `make`)\n", RANDOM_MODEL);
        npg_test_failures++;
        return;
    }
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char args[1536], a[1024], b[1024];
    char *err = NULL;
    snprintf(args, sizeof args, "tiny-llama '%s/m' --shared '%s' --seed 7", dir, NPG_SHARED_DIR);
    int rc = run_tool(args, &err);
    CHECK(rc == 0);
    if (rc != 0)
        fprintf(stderr, "npg-random-model: %s\n", err ? err : "");
    free(err);
    snprintf(a, sizeof a, "%s/m", dir);
    check_tiny_llama(a);
    CHECK(count_dir_entries(dir, NULL) == 1); /* m.tmp was renamed away */

    /* the same seed gives the same bytes; another seed, other bytes; --force replaces */
    snprintf(args, sizeof args, "tiny-llama '%s/m2/' --shared '%s' --seed 7 --quiet", dir, NPG_SHARED_DIR);
    CHECK(run_tool(args, NULL) == 0);
    snprintf(a, sizeof a, "%s/m/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/m2/model.safetensors", dir);
    CHECK(same_file(a, b));
    snprintf(args, sizeof args, "tiny-llama '%s/m2' --shared '%s' --seed 8 --quiet", dir, NPG_SHARED_DIR);
    err = NULL;
    CHECK(run_tool(args, &err) == 1);
    CHECK(err && strstr(err, "already exists") && strchr(err, '\n') == strrchr(err, '\n')); /* one line */
    free(err);
    snprintf(args, sizeof args, "tiny-llama '%s/m2' --shared '%s' --seed 8 --quiet --force --dtype f32", dir,
             NPG_SHARED_DIR);
    CHECK(run_tool(args, NULL) == 0);
    npg_tensor_store *ts = NULL;
    snprintf(a, sizeof a, "%s/m2", dir);
    CHECK(npg_tensor_store_open_dir(a, &ts) == NPG_OK);
    const npg_tensor_info *emb = npg_tensor_store_find(ts, "model.embed_tokens.weight");
    CHECK(emb && emb->dtype == NPG_DT_F32 && emb->n_bytes == 32000u * 64u * 4u);
    npg_tensor_store_free(ts);

    /* bad command lines: one line on stderr, non-zero exit, nothing written */
    static const struct {
        const char *args;
        int rc;
        const char *phrase;
    } bad[] = {
        {"", 2, "missing PRESET and OUT_DIR"},
        {"gpt-17 x", 2, "unknown preset 'gpt-17'"},
        {"tiny-llama x --dtype q4", 2, "--dtype 'q4' is not bf16, f16 or f32"},
        {"tiny-llama x --seed -1", 2, "--seed '-1' is not a non-negative integer"},
        {"tiny-llama x --seed", 2, "--seed needs a value"},
        {"tiny-llama x --bogus", 2, "unknown option '--bogus'"},
        {"tiny-llama x y", 2, "unexpected argument 'y'"},
        {"tiny-llama m3 --shared /nonexistent-npg-shared", 1, "/nonexistent-npg-shared: shared folder not found"},
        {"tiny-llama /nonexistent-npg-dir/m --shared /tmp", 1, "/nonexistent-npg-dir/m.tmp: cannot create"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        rc = run_tool(bad[i].args, &err);
        bool ok = rc == bad[i].rc && err && strstr(err, bad[i].phrase) && strchr(err, '\n') == strrchr(err, '\n');
        if (!ok) {
            fprintf(stderr, "npg-random-model %s: exit %d, stderr \"%s\"; want %d with \"%s\"\n", bad[i].args, rc,
                    err ? err : "", bad[i].rc, bad[i].phrase);
            npg_test_failures++;
        }
        free(err);
    }
    char *out = NULL;
    CHECK(run_cmd("'" RANDOM_MODEL "' --help", &out, NULL) == 0);
    CHECK(out && strstr(out, "tinyllama-1.1b") && strstr(out, "qwen2.5-0.5b"));
    free(out);
    rm_rf(dir);
    free(dir);
}

/* The whisper-tiny preset: HF Whisper names and real dimensions (the tensor set of
 * ../shared/models/random-whisper at 384 wide, 4 + 4 layers), F16 by default, the real tokenizer and
 * preprocessor files, a generation_config.json with the 99 languages and OpenAI's suppress list. */
static void test_random_model_whisper(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char args[1536], m[1024];
    char *err = NULL;
    snprintf(m, sizeof m, "%s/w", dir);
    snprintf(args, sizeof args, "whisper-tiny '%s' --shared '%s' --quiet", m, NPG_SHARED_DIR);
    int rc = run_tool(args, &err);
    CHECK(rc == 0);
    if (rc != 0)
        fprintf(stderr, "npg-random-model: %s\n", err ? err : "");
    free(err);
    static const char *const copied[] = {"tokenizer.json", "vocab.json", "merges.txt", "added_tokens.json",
                                         "special_tokens_map.json", "tokenizer_config.json"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        char *a = npg_path_join(m, copied[i]);
        char *b = xprintf("tokenizers/whisper_multilingual/%s", copied[i]);
        CHECK(same_file(a, shared_path(b)));
        free(a);
        free(b);
    }
    char *pp = npg_path_join(m, "preprocessor_config.json");
    CHECK(same_file(pp, shared_path("models/random-whisper/preprocessor_config.json")));
    free(pp);
    char *cfg_path = npg_path_join(m, "config.json"), *gen_path = npg_path_join(m, "generation_config.json");
    cJSON *cfg = NULL, *gen = NULL;
    CHECK(npg_json_parse_file(cfg_path, &cfg) == NPG_OK);
    CHECK(npg_json_parse_file(gen_path, &gen) == NPG_OK);
    int64_t v = 0;
    CHECK(cfg && npg_json_require_int(cfg, "d_model", cfg_path, &v) == NPG_OK && v == 384);
    CHECK(cfg && npg_json_require_int(cfg, "encoder_layers", cfg_path, &v) == NPG_OK && v == 4);
    CHECK(cfg && npg_json_require_int(cfg, "decoder_attention_heads", cfg_path, &v) == NPG_OK && v == 6);
    CHECK(cfg && npg_json_require_int(cfg, "vocab_size", cfg_path, &v) == NPG_OK && v == 51865);
    CHECK(cfg && strcmp(npg_json_get_string(cfg, "torch_dtype"), "float16") == 0);
    const cJSON *langs = gen ? npg_json_get(gen, "lang_to_id") : NULL;
    CHECK(cJSON_GetArraySize(langs) == 99);
    const cJSON *en = langs ? npg_json_get(langs, "<|en|>") : NULL;
    CHECK(en && cJSON_IsNumber(en) && en->valueint == 50259);
    CHECK(gen && cJSON_GetArraySize(npg_json_get(gen, "suppress_tokens")) == 88);
    CHECK(gen && cJSON_GetArraySize(npg_json_get(gen, "alignment_heads")) == 6);
    cJSON_Delete(cfg);
    cJSON_Delete(gen);
    free(cfg_path);
    free(gen_path);

    npg_tensor_store *ts = NULL, *ref = NULL;
    REQUIRE_OK(npg_tensor_store_open_dir(m, &ts));
    CHECK(npg_tensor_store_count(ts) == 11 + 4 * 15 + 4 * 24);
    /* every name of the small reference folder exists here (its 2 layers are layers 0 and 1 here) */
    CHECK(npg_tensor_store_open_dir(shared_path("models/random-whisper"), &ref) == NPG_OK);
    for (size_t i = 0; ref && i < npg_tensor_store_count(ref); i++) {
        const npg_tensor_info *r = npg_tensor_store_at(ref, i);
        const npg_tensor_info *t = npg_tensor_store_find(ts, r->name);
        if (!t || t->dtype != NPG_DT_F16 || t->n_dims != r->n_dims) {
            fprintf(stderr, "whisper-tiny: %s missing or of another dtype/rank\n", r->name);
            npg_test_failures++;
        }
    }
    const npg_tensor_info *c1 = npg_tensor_store_find(ts, "model.encoder.conv1.weight");
    CHECK(c1 && c1->n_dims == 3 && c1->shape[0] == 384 && c1->shape[1] == 80 && c1->shape[2] == 3);
    const npg_tensor_info *fc1 = npg_tensor_store_find(ts, "model.decoder.layers.3.fc1.weight");
    CHECK(fc1 && fc1->shape[0] == 1536 && fc1->shape[1] == 384);
    CHECK(npg_tensor_store_find(ts, "model.encoder.layers.0.self_attn.k_proj.bias") == NULL);
    CHECK(npg_tensor_store_find(ts, "proj_out.weight") == NULL); /* tied */
    npg_tensor_store_free(ref);
    npg_tensor_store_free(ts);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_writer_misuse);
    RUN(test_random_model);
    RUN(test_random_model_whisper);
    return npg_test_summary();
}
