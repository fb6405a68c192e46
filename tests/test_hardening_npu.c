/* test_hardening_npu.c — regression tests for the NPU-plan defects of issue 15 (docs/reliability.md):
 *   defect 7:  a full blob of another model ran silently on a folder it does not belong to
 *   defect 8:  blob flags loaded raw (value 255 into a bool), max_prompt + min_response overflowing,
 *              a misaligned uint16 load repacking BF16 weights whose safetensors header has odd length
 *   defect 10: a CACHE_DIR entry that cannot be written is reported through the log callback */
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"
#include "device/npu/npu_blob.h"
#include "test_npu_util.h"

static char *g_tmp;

/* `cp -rL a b` */
static int copy(const char *a, const char *b) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp -rL %s %s", a, b);
    return system(cmd);
}

/* Runs `npugen ARGS`; exit status, stderr in *err. */
static int cli(const char *args, char **err) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout 300 %s %s", NPG_CLI, args);
    return run_cmd(cmd, NULL, err);
}

static void test_defect07_blob_of_another_folder(void) {
    char blob[1024], args[4096], *err = NULL;
    snprintf(blob, sizeof blob, "%s/stories.blob", g_tmp);
    snprintf(args, sizeof args,
             "compile %s --device NPU -o %s -c CACHE_MODE=OPTIMIZE_SPEED -c MAX_PROMPT_LEN=32 -c MIN_RESPONSE_LEN=16",
             model_dir("stories260K"), blob);
    REQUIRE(cli(args, NULL) == 0);
    /* its own folder, and a folder holding only its tokenizer files, run it */
    snprintf(args, sizeof args, "generate %s --device NPU -c BLOB_PATH=%s -p Once -n 4", model_dir("stories260K"), blob);
    CHECK(cli(args, NULL) == 0);
    char tok_only[1100];
    snprintf(tok_only, sizeof tok_only, "%s/tok-only", g_tmp);
    REQUIRE(mkdir(tok_only, 0755) == 0);
    char tok_src[1100];
    snprintf(tok_src, sizeof tok_src, "%s/tokenizer.json", model_dir("stories260K"));
    REQUIRE(copy(tok_src, tok_only) == 0);
    snprintf(args, sizeof args, "generate %s --device NPU -c BLOB_PATH=%s -p Once -n 4", tok_only, blob);
    CHECK(cli(args, &err) == 0);
    free(err);
    /* another model's folder (same tokenizer, other config and weights): refused */
    snprintf(args, sizeof args, "generate %s --device NPU -c BLOB_PATH=%s -p Once -n 4", model_dir("random-llama-gqa"),
             blob);
    CHECK(cli(args, &err) == 1);
    CHECK(err && strstr(err, "compiled from another model folder") && strstr(err, "config.json"));
    free(err);
    /* the same config and tokenizer with other weights (a fine-tune): refused on the weights */
    char other[1100], st[1200];
    snprintf(other, sizeof other, "%s/finetune", g_tmp);
    REQUIRE(copy(model_dir("stories260K"), other) == 0);
    snprintf(st, sizeof st, "%s/model.safetensors", other);
    size_t len = 0;
    char *bytes = read_all(st, &len);
    REQUIRE(bytes && len > 100000);
    bytes[len - 8] ^= 0x40; /* the last window is always sampled */
    write_file(st, bytes, len);
    free(bytes);
    snprintf(args, sizeof args, "generate %s --device NPU -c BLOB_PATH=%s -p Once -n 4", other, blob);
    CHECK(cli(args, &err) == 1);
    CHECK(err && strstr(err, "weights files"));
    free(err);
}

/* Re-seals a plain blob after editing its meta section (the hashes are not signatures). */
static void reseal(char *bytes) {
    npu_blob_header *h = (npu_blob_header *)bytes;
    uint8_t *meta = (uint8_t *)bytes + sizeof *h;
    ((npu_blob_meta *)meta)->plain_hash = npg_hash64(meta + 8, h->meta_size - 8, 0);
    h->meta_hash = npg_hash64(meta, h->meta_size, 0);
    h->header_hash = npg_hash64(h, offsetof(npu_blob_header, header_hash), 0);
}

static npg_status open_edited(const char *path, const char *orig, size_t size, size_t at, const void *v, size_t n) {
    char *bytes = malloc(size);
    memcpy(bytes, orig, size);
    memcpy(bytes + at, v, n);
    reseal(bytes);
    write_file(path, bytes, size);
    free(bytes);
    npu_blob b;
    memset(&b, 0, sizeof b);
    npg_status st = npu_blob_open(path, NULL, 1, &b);
    npu_blob_close(&b);
    return st;
}

/* The offset in the config record (npu_blob_config.c) of the first byte where configs a and b differ:
 * the record's own writer says where a field sits, so the test does not restate its layout. */
static size_t record_diff_at(const npg_model_config *a, const npg_model_config *b) {
    uint8_t *ra = NULL, *rb = NULL;
    size_t la = 0, lb = 0, i = 0;
    if (npu_config_record_write(a, &ra, &la) == NPG_OK && npu_config_record_write(b, &rb, &lb) == NPG_OK)
        while (i < la && i < lb && ra[i] == rb[i])
            i++;
    free(ra);
    free(rb);
    return i;
}

static void test_defect08_crafted_blob_flags_and_sizes(void) {
    char blob[1024], bad[1100], args[4096];
    snprintf(blob, sizeof blob, "%s/qwen2.blob", g_tmp);
    snprintf(bad, sizeof bad, "%s/crafted.blob", g_tmp);
    snprintf(args, sizeof args,
             "compile %s --device NPU -o %s -c CACHE_MODE=OPTIMIZE_SPEED -c MAX_PROMPT_LEN=32 -c MIN_RESPONSE_LEN=16",
             model_dir("random-qwen2"), blob);
    REQUIRE(cli(args, NULL) == 0);
    size_t size = 0;
    char *orig = read_all(blob, &size);
    REQUIRE(orig);
    npu_blob b;
    memset(&b, 0, sizeof b);
    CHECK(npu_blob_open(blob, NULL, 1, &b) == NPG_OK);
    const npg_model_config c = b.config; /* where a field sits in the record: where toggling it changes it */
    npu_blob_close(&b);
    npg_model_config tie = c, qkv = c, sliding = c, act_cfg = c;
    tie.tie_embeddings = !c.tie_embeddings;
    qkv.qkv_bias = !c.qkv_bias;
    sliding.layer_sliding[1] = !c.layer_sliding[1];
    act_cfg.act = c.act == NPG_ACT_SILU ? NPG_ACT_GELU_TANH : NPG_ACT_SILU;
    const size_t meta = sizeof(npu_blob_header), cfg = meta + sizeof(npu_blob_meta);
    const uint8_t v255 = 255;
    const size_t flag_at[] = {meta + offsetof(npu_blob_meta, best_perf), meta + offsetof(npu_blob_meta, to_f32),
                              cfg + record_diff_at(&c, &tie), cfg + record_diff_at(&c, &qkv),
                              cfg + record_diff_at(&c, &sliding)};
    for (size_t i = 0; i < sizeof flag_at / sizeof flag_at[0]; i++) {
        CHECK(open_edited(bad, orig, size, flag_at[i], &v255, 1) == NPG_ERR_FORMAT);
        CHECK(strstr(npg_last_error(), "neither 0 nor 1") != NULL);
    }
    /* max_prompt + min_response would overflow int64 */
    const int64_t huge = INT64_MAX - 4;
    CHECK(open_edited(bad, orig, size, meta + offsetof(npu_blob_meta, max_prompt), &huge, sizeof huge) ==
          NPG_ERR_FORMAT);
    CHECK(open_edited(bad, orig, size, meta + offsetof(npu_blob_meta, min_response), &huge, sizeof huge) ==
          NPG_ERR_FORMAT);
    /* an activation outside the enum */
    const int32_t act = 77;
    CHECK(open_edited(bad, orig, size, cfg + record_diff_at(&c, &act_cfg), &act, sizeof act) == NPG_ERR_FORMAT);
    free(orig);
}

/* random-llama-gqa (BF16) with its safetensors header one byte longer, so every tensor starts at an
 * odd address; BEST_PERF repacks (converts) the halves there: same greedy ids as the original. */
static void test_defect08_unaligned_bf16_repack(void) {
    char dir[1100], st[1200];
    snprintf(dir, sizeof dir, "%s/odd-header", g_tmp);
    REQUIRE(copy(model_dir("random-llama-gqa"), dir) == 0);
    snprintf(st, sizeof st, "%s/model.safetensors", dir);
    size_t len = 0;
    uint8_t *bytes = (uint8_t *)read_all(st, &len);
    REQUIRE(bytes && len > 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | bytes[i];
    uint64_t pad = (hl % 2 == 0) ? 1 : 2; /* data must start at an odd offset: 8 + header */
    uint8_t *nb = malloc(len + pad);
    uint64_t nhl = hl + pad;
    for (int i = 0; i < 8; i++)
        nb[i] = (uint8_t)(nhl >> (8 * i));
    memcpy(nb + 8, bytes + 8, hl);
    memset(nb + 8 + hl, ' ', pad);
    memcpy(nb + 8 + hl + pad, bytes + 8 + hl, len - 8 - hl);
    REQUIRE((8 + nhl) % 2 == 1);
    write_file(st, nb, len + pad);
    free(nb);
    free(bytes);
    npg_model *m0 = NULL, *m1 = NULL;
    REQUIRE_OK(npg_model_load(model_dir("random-llama-gqa"), &m0));
    npg_status lst = npg_model_load(dir, &m1);
    CHECK(lst == NPG_OK);
    int32_t prompt[12], a[8], b[8];
    test_prompt(m0->cfg.vocab, prompt, 12);
    for (int k = 0; k < 2 && lst == NPG_OK; k++) {
        npg_model *m = k ? m1 : m0;
        npg_engine *e = NULL;
        npg_properties *p = props_of("MAX_PROMPT_LEN", "32", "MIN_RESPONSE_LEN", "16", "GENERATE_HINT", "BEST_PERF", NULL);
        npg_status est = npg_npu_engine_create(m, k ? dir : model_dir("random-llama-gqa"), p, &e);
        CHECK(est == NPG_OK);
        if (est == NPG_OK)
            CHECK(greedy(e, prompt, 12, 8, k ? b : a, NULL) == NPG_OK);
        if (e)
            e->ops->free(e);
        npg_properties_free(p);
    }
    if (lst == NPG_OK)
        CHECK(memcmp(a, b, sizeof a) == 0);
    npg_model_free(m0);
    npg_model_free(m1);
}

typedef struct log_capture {
    int warnings;
    char last[1024];
} log_capture;

static void capture(void *user, npg_log_level level, const char *msg) {
    log_capture *c = user;
    if (level <= NPG_LOG_WARNING) {
        c->warnings++;
        snprintf(c->last, sizeof c->last, "%s", msg);
    }
}

static void test_defect10_cache_dir_reports(void) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(model_dir("stories260K"), &m));
    char cache[1100];
    snprintf(cache, sizeof cache, "%s/cache", g_tmp);
    /* first run writes the entry */
    npg_engine *e = NULL;
    npg_properties *p = props_of("MAX_PROMPT_LEN", "32", "MIN_RESPONSE_LEN", "16", "CACHE_DIR", cache, NULL);
    REQUIRE_OK(npg_npu_engine_create(m, model_dir("stories260K"), p, &e));
    e->ops->free(e);
    npg_properties_free(p);
    /* the entry replaced by a folder of that name: it can neither be read nor rewritten; the plan
     * still compiles and both problems reach the log callback */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd %s && for f in *.npuplan; do rm \"$f\" && mkdir \"$f\"; done", cache);
    REQUIRE(system(cmd) == 0);
    log_capture c = {0};
    p = props_of("MAX_PROMPT_LEN", "32", "MIN_RESPONSE_LEN", "16", "CACHE_DIR", cache, NULL);
    REQUIRE_OK(npg_properties_set_log_callback(p, capture, &c));
    CHECK(npg_npu_engine_create(m, model_dir("stories260K"), p, &e) == NPG_OK);
    if (e)
        e->ops->free(e);
    npg_properties_free(p);
    CHECK(c.warnings >= 1);
    CHECK(strstr(c.last, "CACHE_DIR") != NULL);
    /* a CACHE_DIR that is a file: an error naming it */
    char file[1100];
    snprintf(file, sizeof file, "%s/not-a-dir", g_tmp);
    write_file(file, "x", 1);
    p = props_of("CACHE_DIR", file, NULL);
    e = NULL;
    CHECK(npg_npu_engine_create(m, model_dir("stories260K"), p, &e) == NPG_ERR_IO);
    CHECK(strstr(npg_last_error(), "not a folder") != NULL);
    npg_properties_free(p);
    npg_model_free(m);
}

int main(void) {
    g_tmp = make_temp_dir();
    RUN(test_defect07_blob_of_another_folder);
    RUN(test_defect08_crafted_blob_flags_and_sizes);
    RUN(test_defect08_unaligned_bf16_repack);
    RUN(test_defect10_cache_dir_reports);
    rm_rf(g_tmp);
    free(g_tmp);
    return npg_test_summary();
}
