/* test_npu_blob.c — ahead-of-time blobs, CACHE_DIR entries and their encryption.
 *
 * Round trips (full; weightless with WEIGHTS_PATH as a file and as a folder; weightless with the
 * model passed in) reproduce the compiled plan's greedy ids; a cache hit shows as an imported plan;
 * mismatched weights, truncation, single flipped bytes, a missing decrypt callback and a wrong key
 * are refused with the documented status, and a bad CACHE_DIR entry is recompiled. */
#include <sys/stat.h>

#include <stddef.h>

#include "device/npu/npu_blob.h"
#include "core/hash.h"
#include "test_npu_util.h"

enum { N_PROMPT = 19, N_GEN = 16 };

typedef struct fixture {
    npg_model *m;
    char *tmp;
    char blob[1024];
    int32_t prompt[N_PROMPT];
    int32_t ref[N_GEN]; /* greedy ids of a freshly compiled plan */
} fixture;

static bool setup(fixture *f, const char *model) {
    memset(f, 0, sizeof *f);
    if (npg_model_load(model_dir(model), &f->m) != NPG_OK)
        return false;
    f->tmp = make_temp_dir();
    snprintf(f->blob, sizeof f->blob, "%s/plan.blob", f->tmp);
    test_prompt(f->m->cfg.vocab, f->prompt, N_PROMPT);
    npg_engine *e = NULL;
    npg_properties *p = props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", NULL);
    bool ok = npg_npu_engine_create(f->m, model_dir(model), p, &e) == NPG_OK &&
              greedy(e, f->prompt, N_PROMPT, N_GEN, f->ref, NULL) == NPG_OK;
    if (e)
        e->ops->free(e);
    npg_properties_free(p);
    return ok;
}

static void teardown(fixture *f) {
    npg_model_free(f->m);
    if (f->tmp)
        rm_rf(f->tmp);
    free(f->tmp);
}

/* Creates an engine with `props` (freed here); when it succeeds, checks greedy ids against the
 * reference and reports whether the plan was imported. */
static npg_status run(fixture *f, const char *model, npg_properties *props, bool *imported) {
    npg_engine *e = NULL;
    npg_status st = npg_npu_engine_create(f->m, model_dir(model), props, &e);
    npg_properties_free(props);
    if (st != NPG_OK)
        return st;
    int32_t ids[N_GEN];
    /* a full BLOB_PATH blob's weights are verified as the first pass reaches them: corruption there
     * fails the generation (the caller checks the status), not the creation */
    st = greedy(e, f->prompt, N_PROMPT, N_GEN, ids, NULL);
    if (st == NPG_OK)
        CHECK(memcmp(ids, f->ref, sizeof ids) == 0);
    if (imported)
        *imported = e->imported;
    e->ops->free(e);
    return st;
}

static void test_full_blob(void) {
    fixture f;
    REQUIRE(setup(&f, "random-qwen3"));
    bool imported = false;
    REQUIRE_OK(run(&f, "random-qwen3",
                   props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "GENERATE_HINT", "BEST_PERF",
                            "EXPORT_BLOB", "YES", "BLOB_PATH", f.blob, "CACHE_MODE", "OPTIMIZE_SPEED", NULL),
                   &imported));
    CHECK(!imported);
    size_t size = 0;
    char *bytes = read_all(f.blob, &size);
    REQUIRE(bytes);
    CHECK(((const npu_blob_header *)bytes)->flags & NPU_BLOB_WEIGHTS);
    /* BLOB_PATH alone imports, with the plan's shapes (no MAX_PROMPT_LEN needed) */
    REQUIRE_OK(run(&f, "random-qwen3", props_of("BLOB_PATH", f.blob, NULL), &imported));
    CHECK(imported);
    /* a property asking for another plan is refused: the blob is stale for it */
    CHECK(run(&f, "random-qwen3", props_of("BLOB_PATH", f.blob, "MAX_PROMPT_LEN", "128", NULL), NULL) ==
          NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "MAX_PROMPT_LEN=128"));
    /* another model's folder */
    npg_model *other = NULL;
    REQUIRE_OK(npg_model_load(model_dir("random-llama-gqa"), &other));
    npg_engine *e = NULL;
    npg_properties *p = props_of("BLOB_PATH", f.blob, NULL);
    CHECK(npg_npu_engine_create(other, model_dir("random-llama-gqa"), p, &e) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(contains(npg_last_error(), "another model"));
    npg_properties_free(p);
    npg_model_free(other);
    /* truncated: every cut is refused (never a crash) */
    size_t cuts[] = {0, 10, 64, 100, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file(f.blob, bytes, cuts[i]);
        npg_status st = run(&f, "random-qwen3", props_of("BLOB_PATH", f.blob, NULL), NULL);
        CHECK(st == NPG_ERR_FORMAT);
    }
    CHECK(contains(npg_last_error(), "truncated"));
    /* one flipped byte: in the header, the plan section, the weights section, the last byte */
    size_t flips[] = {9, 70, size / 2, size - 1};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        bytes[flips[i]] ^= 0x10;
        write_file(f.blob, bytes, size);
        npg_status st = run(&f, "random-qwen3", props_of("BLOB_PATH", f.blob, NULL), NULL);
        CHECK(st == NPG_ERR_CHECKSUM);
        bytes[flips[i]] ^= 0x10;
    }
    CHECK(contains(npg_last_error(), "checksum"));
    free(bytes);
    teardown(&f);
}

static void test_weightless_blob(void) {
    fixture f;
    REQUIRE(setup(&f, "random-llama-gqa"));
    bool imported = false;
    REQUIRE_OK(run(&f, "random-llama-gqa",
                   props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "EXPORT_BLOB", "YES", "BLOB_PATH", f.blob,
                            NULL),
                   NULL));
    size_t size = 0;
    char *bytes = read_all(f.blob, &size);
    REQUIRE(bytes);
    CHECK(size < 32768); /* weightless: the plan only (mostly the model config and its RoPE factor tables) */
    CHECK(!(((const npu_blob_header *)bytes)->flags & NPU_BLOB_WEIGHTS));
    char weights[1024];
    snprintf(weights, sizeof weights, "%s/model.safetensors", model_dir("random-llama-gqa"));
    REQUIRE_OK(run(&f, "random-llama-gqa", props_of("BLOB_PATH", f.blob, "WEIGHTS_PATH", weights, NULL), &imported));
    CHECK(imported);
    REQUIRE_OK(run(&f, "random-llama-gqa",
                   props_of("BLOB_PATH", f.blob, "WEIGHTS_PATH", model_dir("random-llama-gqa"), NULL), &imported));
    CHECK(imported);
    /* the model handle passed in (the pipeline's model folder) */
    REQUIRE_OK(run(&f, "random-llama-gqa", props_of("BLOB_PATH", f.blob, NULL), &imported));
    CHECK(imported);
    /* mismatched weights: the same config with one weight byte changed */
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/other", f.tmp);
    mkdir(dir, 0755);
    size_t n = 0;
    char *cfg = read_all(shared_path("models/random-llama-gqa/config.json"), &n);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path, cfg, n);
    free(cfg);
    char *st_bytes = read_all(weights, &n);
    REQUIRE(st_bytes);
    st_bytes[n - 3] ^= 0x01;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_file(path, st_bytes, n);
    free(st_bytes);
    CHECK(run(&f, "random-llama-gqa", props_of("BLOB_PATH", f.blob, "WEIGHTS_PATH", path, NULL), NULL) ==
          NPG_ERR_CHECKSUM);
    CHECK(contains(npg_last_error(), "not the ones"));
    CHECK(run(&f, "random-llama-gqa", props_of("BLOB_PATH", f.blob, "WEIGHTS_PATH", "/nonexistent/model.safetensors",
                                               NULL),
              NULL) == NPG_ERR_NOT_FOUND);
    /* a flipped byte in the plan section */
    bytes[80] ^= 0x01;
    write_file(f.blob, bytes, size);
    CHECK(run(&f, "random-llama-gqa", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_CHECKSUM);
    free(bytes);
    /* not a blob at all */
    write_file(f.blob, "hello", 5);
    CHECK(run(&f, "random-llama-gqa", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_FORMAT);
    CHECK(run(&f, "random-llama-gqa", props_of("BLOB_PATH", "/nonexistent.blob", NULL), NULL) != NPG_OK);
    teardown(&f);
}

static size_t count_entries(const char *dir) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c npuplan", dir);
    char *out = NULL;
    run_cmd(cmd, &out, NULL);
    size_t n = out ? (size_t)atoi(out) : 0;
    free(out);
    return n;
}

static void test_cache_dir(void) {
    fixture f;
    REQUIRE(setup(&f, "stories260K"));
    char cache[1024];
    snprintf(cache, sizeof cache, "%s/cache", f.tmp);
    const char *modes[] = {"OPTIMIZE_SPEED", "OPTIMIZE_SIZE"};
    for (int i = 0; i < 2; i++) {
        bool imported = true;
        REQUIRE_OK(run(&f, "stories260K",
                       props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "CACHE_DIR", cache, "CACHE_MODE",
                                modes[i], NULL),
                       &imported));
        CHECK(!imported);
        CHECK(count_entries(cache) == (size_t)i + 1);
        REQUIRE_OK(run(&f, "stories260K",
                       props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "CACHE_DIR", cache, "CACHE_MODE",
                                modes[i], NULL),
                       &imported));
        CHECK(imported);
    }
    /* another plan property: another entry */
    bool imported = true;
    REQUIRE_OK(run(&f, "stories260K",
                   props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "CACHE_DIR", cache, "GENERATE_HINT",
                            "BEST_PERF", NULL),
                   &imported));
    CHECK(!imported);
    CHECK(count_entries(cache) == 3);
    /* corrupt every entry: the next creation recompiles (and rewrites), never fails */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "for f in '%s'/*.npuplan; do printf 'XXXX' | dd of=\"$f\" bs=1 seek=100 conv=notrunc 2>/dev/null; done", cache);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    REQUIRE_OK(run(&f, "stories260K",
                   props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "CACHE_DIR", cache, NULL), &imported));
    CHECK(!imported);
    REQUIRE_OK(run(&f, "stories260K",
                   props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "CACHE_DIR", cache, NULL), &imported));
    CHECK(imported);
    CHECK(count_entries(cache) == 3); /* rewritten in place, no temporary files left */
    teardown(&f);
}

/* A trivial XOR "cipher" with a one-byte key in user_data, the way the guide's example passes the
 * bytes through; with a wrong key the plan's own checksum catches the garbage. */
static int xor_crypt(void *user, const uint8_t *in, size_t n, uint8_t **out, size_t *out_n) {
    uint8_t key = *(const uint8_t *)user;
    *out = malloc(n ? n : 1);
    if (!*out)
        return 1;
    for (size_t i = 0; i < n; i++)
        (*out)[i] = in[i] ^ key;
    *out_n = n;
    return 0;
}

static int failing_crypt(void *user, const uint8_t *in, size_t n, uint8_t **out, size_t *out_n) {
    (void)user, (void)in, (void)n, (void)out, (void)out_n;
    return 1;
}

static npg_properties *with_crypt(npg_properties *p, npg_crypt_callback enc, npg_crypt_callback dec, uint8_t *key) {
    npg_properties_set_encryption_callbacks(p, enc, dec, key);
    return p;
}

static void test_encryption(void) {
    fixture f;
    REQUIRE(setup(&f, "stories260K"));
    uint8_t key = 0x5a, wrong = 0x33;
    const char *modes[] = {"OPTIMIZE_SIZE", "OPTIMIZE_SPEED"};
    for (int i = 0; i < 2; i++) {
        bool imported = false;
        REQUIRE_OK(run(&f, "stories260K",
                       with_crypt(props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "EXPORT_BLOB", "YES",
                                           "BLOB_PATH", f.blob, "CACHE_MODE", modes[i], NULL),
                                  xor_crypt, NULL, &key),
                       NULL));
        size_t size = 0;
        char *bytes = read_all(f.blob, &size);
        REQUIRE(bytes);
        const npu_blob_header *h = (const npu_blob_header *)bytes;
        CHECK(h->flags & NPU_BLOB_ENCRYPTED);
        /* the architecture name sits in the plain plan; encrypted it must not appear */
        CHECK(memmem(bytes, size, "LlamaForCausalLM", 16) == NULL);
        if (i == 1) { /* weights stay plain: the final norm's bytes are found as they are */
            CHECK(h->weights_offset > 0);
            CHECK(memmem(bytes + h->weights_offset, size - h->weights_offset, f.m->final_norm,
                         (size_t)f.m->cfg.hidden * 4) != NULL);
        }
        free(bytes);
        CHECK(run(&f, "stories260K", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_INVALID_ARGUMENT);
        CHECK(contains(npg_last_error(), "encrypted") && contains(npg_last_error(), "decrypt"));
        CHECK(run(&f, "stories260K", with_crypt(props_of("BLOB_PATH", f.blob, NULL), NULL, xor_crypt, &wrong), NULL) ==
              NPG_ERR_CHECKSUM);
        CHECK(contains(npg_last_error(), "wrong decryption key"));
        CHECK(run(&f, "stories260K", with_crypt(props_of("BLOB_PATH", f.blob, NULL), NULL, failing_crypt, &key),
                  NULL) == NPG_ERR_CHECKSUM);
        REQUIRE_OK(run(&f, "stories260K", with_crypt(props_of("BLOB_PATH", f.blob, NULL), NULL, xor_crypt, &key),
                       &imported));
        CHECK(imported);
    }
    teardown(&f);
}

/* Re-seals a plain blob after editing its meta section, so the edit passes every checksum. */
static void reseal(char *bytes) {
    npu_blob_header *h = (npu_blob_header *)bytes;
    uint8_t *meta = (uint8_t *)bytes + sizeof *h;
    ((npu_blob_meta *)meta)->plain_hash = npg_hash64(meta + 8, h->meta_size - 8, 0);
    h->meta_hash = npg_hash64(meta, h->meta_size, 0);
    h->header_hash = npg_hash64(h, offsetof(npu_blob_header, header_hash), 0);
}

/* Whether the blob's bytes hold `name` (the tensor table of a plain blob is readable as is). */
static bool blob_has_name(const char *bytes, size_t size, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(bytes + i, name, n) == 0)
            return true;
    return false;
}

/* The blob names its tensors with the architecture's table, including the matrices the plan stacked,
 * and its model config is the explicit record (which decodes to the model's config). */
static void test_tensor_names_and_config_record(void) {
    fixture f;
    REQUIRE(setup(&f, "random-qwen2"));
    REQUIRE_OK(run(&f, "random-qwen2",
                   props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "GENERATE_HINT", "BEST_PERF",
                            "EXPORT_BLOB", "YES", "BLOB_PATH", f.blob, "CACHE_MODE", "OPTIMIZE_SPEED", NULL),
                   NULL));
    size_t size = 0;
    char *bytes = read_all(f.blob, &size);
    REQUIRE(bytes);
    CHECK(((const npu_blob_header *)bytes)->version == NPU_BLOB_VERSION && NPU_BLOB_VERSION == 4);
    CHECK(blob_has_name(bytes, size, "model.embed_tokens.weight"));
    CHECK(blob_has_name(bytes, size, "model.layers.1.self_attn.qkv_proj.weight")); /* stacked by BEST_PERF */
    CHECK(blob_has_name(bytes, size, "model.layers.1.self_attn.q_proj.bias"));
    CHECK(blob_has_name(bytes, size, "model.layers.1.mlp.down_proj.weight"));
    CHECK(blob_has_name(bytes, size, "model.layers.0.post_attention_layernorm.weight"));
    const npu_blob_meta *m = (const npu_blob_meta *)(bytes + sizeof(npu_blob_header));
    npg_model_config cfg;
    REQUIRE_OK(npu_config_record_read((const uint8_t *)bytes + sizeof(npu_blob_header) + sizeof *m, m->config_bytes,
                                      "blob", &cfg));
    const npg_model_config *want = &f.m->cfg;
    CHECK(cfg.arch == want->arch && strcmp(cfg.arch_name, want->arch_name) == 0 && cfg.hidden == want->hidden &&
          cfg.n_layers == want->n_layers && cfg.vocab == want->vocab && cfg.head_dim == want->head_dim &&
          cfg.qkv_bias == want->qkv_bias && cfg.rope.theta == want->rope.theta && cfg.n_eos == want->n_eos &&
          strcmp(cfg.tensor_prefix, want->tensor_prefix) == 0 && strcmp(cfg.lm_head_name, want->lm_head_name) == 0);
    /* the record round-trips field by field: writing the decoded config gives the same bytes */
    uint8_t *again = NULL;
    size_t again_len = 0;
    REQUIRE_OK(npu_config_record_write(&cfg, &again, &again_len));
    CHECK(again_len == m->config_bytes &&
          memcmp(again, bytes + sizeof(npu_blob_header) + sizeof *m, again_len) == 0);
    free(again);
    free(bytes);
    teardown(&f);
}

/* A blob of an earlier format version is refused with the way out in the message. */
static void test_old_version_refused(void) {
    fixture f;
    REQUIRE(setup(&f, "stories260K"));
    REQUIRE_OK(run(&f, "stories260K",
                   props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "EXPORT_BLOB", "YES", "BLOB_PATH", f.blob,
                            "CACHE_MODE", "OPTIMIZE_SPEED", NULL),
                   NULL));
    size_t size = 0;
    char *bytes = read_all(f.blob, &size);
    REQUIRE(bytes);
    npu_blob_header *h = (npu_blob_header *)bytes;
    for (uint32_t v = 1; v < NPU_BLOB_VERSION; v++) {
        h->version = v;
        h->header_hash = npg_hash64(h, offsetof(npu_blob_header, header_hash), 0);
        write_file(f.blob, bytes, size);
        CHECK(run(&f, "stories260K", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_UNSUPPORTED);
        CHECK(contains(npg_last_error(), "recompile with `npugen compile`"));
        /* the pipeline (the model comes from the blob) says the same */
        npg_llm_pipeline *p = NULL;
        CHECK(npg_llm_pipeline_create(model_dir("stories260K"), "NPU", 2, &p, "BLOB_PATH", f.blob) ==
              NPG_ERR_UNSUPPORTED);
        CHECK(contains(npg_last_error(), "recompile with `npugen compile`"));
        CHECK(p == NULL);
    }
    free(bytes);
    teardown(&f);
}

/* A crafted plan with valid checksums (the hash is not a signature) is still refused, never run. */
static void test_crafted_plan(void) {
    fixture f;
    REQUIRE(setup(&f, "random-qwen2"));
    REQUIRE_OK(run(&f, "random-qwen2",
                   props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "EXPORT_BLOB", "YES", "BLOB_PATH", f.blob,
                            "CACHE_MODE", "OPTIMIZE_SPEED", NULL),
                   NULL));
    size_t size = 0;
    char *orig = read_all(f.blob, &size);
    REQUIRE(orig);
    char *bytes = malloc(size);
    REQUIRE(bytes);
    size_t cfg_at = sizeof(npu_blob_header) + sizeof(npu_blob_meta);
    size_t cfg_len = ((const npu_blob_meta *)(orig + sizeof(npu_blob_header)))->config_bytes;
    npg_model_config cfg;
    REQUIRE_OK(npu_config_record_read((const uint8_t *)orig + cfg_at, cfg_len, "blob", &cfg));
    /* impossible shapes in an otherwise well-formed config record */
    for (int i = 0; i < 4; i++) {
        npg_model_config bad = cfg;
        if (i == 0)
            bad.n_heads = 0;
        else if (i == 1)
            bad.head_dim = 0;
        else if (i == 2)
            bad.n_kv_heads = 0;
        else
            bad.rotary_dim = 1 << 20;
        uint8_t *rec = NULL;
        size_t len = 0;
        REQUIRE_OK(npu_config_record_write(&bad, &rec, &len));
        CHECK(len == cfg_len);
        memcpy(bytes, orig, size);
        memcpy(bytes + cfg_at, rec, len < cfg_len ? len : cfg_len);
        free(rec);
        reseal(bytes);
        write_file(f.blob, bytes, size);
        CHECK(run(&f, "random-qwen2", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_FORMAT);
    }
    /* a config record of another version: refused with the way out */
    memcpy(bytes, orig, size);
    bytes[cfg_at] = 7;
    reseal(bytes);
    write_file(f.blob, bytes, size);
    CHECK(run(&f, "random-qwen2", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_UNSUPPORTED);
    CHECK(contains(npg_last_error(), "recompile with `npugen compile`"));
    /* the context shape disagreeing with its parts; a tensor pointing past the weights */
    memcpy(bytes, orig, size);
    ((npu_blob_meta *)(bytes + sizeof(npu_blob_header)))->context = 1 << 20;
    reseal(bytes);
    write_file(f.blob, bytes, size);
    CHECK(run(&f, "random-qwen2", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_FORMAT);
    memcpy(bytes, orig, size);
    npu_blob_tensor *t = (npu_blob_tensor *)(bytes + cfg_at + (cfg_len + 7) / 8 * 8);
    t[1].data_offset = (uint64_t)1 << 40;
    reseal(bytes);
    write_file(f.blob, bytes, size);
    CHECK(run(&f, "random-qwen2", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_FORMAT);
    /* a tensor whose name is not one of the architecture's, and one for a layer the model lacks */
    const char *bad_names[] = {"model.layers.0.self_attn.bogus.weight", "model.layers.9.mlp.down_proj.weight"};
    for (size_t i = 0; i < 2; i++) {
        memcpy(bytes, orig, size);
        t = (npu_blob_tensor *)(bytes + cfg_at + (cfg_len + 7) / 8 * 8);
        memset(t[2].name, 0, sizeof t[2].name);
        snprintf(t[2].name, sizeof t[2].name, "%s", bad_names[i]);
        reseal(bytes);
        write_file(f.blob, bytes, size);
        CHECK(run(&f, "random-qwen2", props_of("BLOB_PATH", f.blob, NULL), NULL) == NPG_ERR_FORMAT);
        CHECK(contains(npg_last_error(), bad_names[i]));
    }
    free(bytes);
    free(orig);
    teardown(&f);
}

int main(void) {
    RUN(test_full_blob);
    RUN(test_weightless_blob);
    RUN(test_cache_dir);
    RUN(test_encryption);
    RUN(test_crafted_plan);
    RUN(test_tensor_names_and_config_record);
    RUN(test_old_version_refused);
    return npg_test_summary();
}
