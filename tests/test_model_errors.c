/* test_model_errors.c — every malformed model folder is refused with a message that names the file,
 * key or tensor and the problem; no crash, no leak (the ASan build runs this too). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "models/model.h"
#include "testutil.h"

/* A temp folder holding a copy of stories260K's config.json and model.safetensors. */
static char *copy_model(void) {
    char *dir = make_temp_dir();
    const char *files[] = {"config.json", "model.safetensors", "generation_config.json"};
    for (size_t i = 0; i < 3; i++) {
        size_t len = 0;
        char src[512], dst[512];
        snprintf(src, sizeof src, "models/stories260K/%s", files[i]);
        char *data = read_all(shared_path(src), &len);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        write_file(dst, data, len);
        free(data);
    }
    return dir;
}

static void expect_load_error(const char *dir, npg_status want, const char *needle1, const char *needle2) {
    npg_model *m = NULL;
    npg_status st = npg_model_load(dir, &m);
    if (st != want || !strstr(npg_last_error(), needle1) || (needle2 && !strstr(npg_last_error(), needle2)))
        fprintf(stderr, "  got %s: %s\n", npg_status_name(st), npg_last_error());
    CHECK(st == want);
    CHECK(m == NULL);
    CHECK(strstr(npg_last_error(), needle1) != NULL);
    if (needle2)
        CHECK(strstr(npg_last_error(), needle2) != NULL);
    npg_model_free(m);
}

static void replace_in_config(const char *dir, const char *from, const char *to) {
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    size_t len = 0;
    char *cfg = read_all(path, &len);
    char *at = strstr(cfg, from);
    if (!at) {
        free(cfg);
        return;
    }
    size_t out_len = len - strlen(from) + strlen(to);
    char *out = malloc(out_len + 1);
    size_t pre = (size_t)(at - cfg);
    memcpy(out, cfg, pre);
    memcpy(out + pre, to, strlen(to));
    strcpy(out + pre + strlen(to), at + strlen(from));
    write_file(path, out, out_len);
    free(out);
    free(cfg);
}

static void test_missing_config(void) {
    char *dir = copy_model();
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    expect_load_error(dir, NPG_ERR_NOT_FOUND, "config.json", NULL);
    expect_load_error("/nonexistent/folder", NPG_ERR_NOT_FOUND, "/nonexistent/folder", NULL);
    rm_rf(dir);
    free(dir);
}

static void test_malformed_config(void) {
    char *dir = copy_model();
    replace_in_config(dir, "\"hidden_size\": 64,", "\"hidden_size\": 64,,");
    expect_load_error(dir, NPG_ERR_FORMAT, "config.json", "malformed JSON at line");
    rm_rf(dir);
    free(dir);
}

static void test_unknown_architecture(void) {
    char *dir = copy_model();
    replace_in_config(dir, "LlamaForCausalLM", "FancyNetForCausalLM");
    expect_load_error(dir, NPG_ERR_UNSUPPORTED, "FancyNetForCausalLM", "not supported");
    rm_rf(dir);
    free(dir);
}

static void test_shape_contradicts_config(void) {
    char *dir = copy_model();
    replace_in_config(dir, "\"intermediate_size\": 172", "\"intermediate_size\": 128");
    expect_load_error(dir, NPG_ERR_FORMAT, "mlp.gate_proj.weight", "config.json implies [128, 64]");
    rm_rf(dir);
    free(dir);
}

static void test_bad_config_values(void) {
    char *dir = copy_model();
    replace_in_config(dir, "\"num_key_value_heads\": 4", "\"num_key_value_heads\": 3");
    expect_load_error(dir, NPG_ERR_FORMAT, "num_key_value_heads", NULL);
    rm_rf(dir);
    free(dir);
    dir = copy_model();
    replace_in_config(dir, "\"hidden_size\": 64", "\"hidden_size\": \"big\"");
    expect_load_error(dir, NPG_ERR_FORMAT, "hidden_size", NULL);
    rm_rf(dir);
    free(dir);
}

static void test_truncated_weights(void) {
    char *dir = copy_model();
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    size_t len = 0;
    char *data = read_all(path, &len);
    write_file(path, data, len / 2); /* data section cut short: offsets run past the end */
    expect_load_error(dir, NPG_ERR_FORMAT, "model.safetensors", "out of range");
    write_file(path, data, 5); /* not even the header length */
    expect_load_error(dir, NPG_ERR_FORMAT, "model.safetensors", "truncated");
    /* header length past the end of the file */
    uint64_t huge = 1u << 30;
    memcpy(data, &huge, 8);
    write_file(path, data, 4096);
    expect_load_error(dir, NPG_ERR_FORMAT, "model.safetensors", "header length");
    free(data);
    rm_rf(dir);
    free(dir);
}

/* Rewrites model.safetensors from stories260K with one tensor dropped or its dtype changed. */
static void rewrite_weights(const char *dir, const char *drop, const char *as_i32) {
    npg_tensor_store *ts = NULL;
    if (npg_tensor_store_open_dir(shared_path("models/stories260K"), &ts) != NPG_OK)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    npg_safetensors_writer *w = NULL;
    if (npg_safetensors_writer_create(path, &w) != NPG_OK) {
        npg_tensor_store_free(ts);
        return;
    }
    for (size_t i = 0; i < npg_tensor_store_count(ts); i++) {
        const npg_tensor_info *t = npg_tensor_store_at(ts, i);
        if (drop && strcmp(t->name, drop) == 0)
            continue;
        npg_dtype dt = (as_i32 && strcmp(t->name, as_i32) == 0) ? NPG_DT_I32 : t->dtype;
        npg_safetensors_writer_declare(w, t->name, dt, t->n_dims, t->shape);
    }
    npg_safetensors_writer_write_header(w);
    for (size_t i = 0; i < npg_tensor_store_count(ts); i++) {
        const npg_tensor_info *t = npg_tensor_store_at(ts, i);
        if (drop && strcmp(t->name, drop) == 0)
            continue;
        npg_safetensors_writer_write(w, t->data, t->n_bytes);
    }
    CHECK(npg_safetensors_writer_finish(w) == NPG_OK);
    npg_safetensors_writer_free(w);
    npg_tensor_store_free(ts);
}

static void test_missing_tensor(void) {
    char *dir = copy_model();
    rewrite_weights(dir, "model.layers.3.self_attn.v_proj.weight", NULL);
    expect_load_error(dir, NPG_ERR_NOT_FOUND, "model.layers.3.self_attn.v_proj.weight", "missing");
    rm_rf(dir);
    free(dir);
}

static void test_wrong_dtype(void) {
    char *dir = copy_model();
    rewrite_weights(dir, NULL, "model.layers.0.mlp.up_proj.weight");
    expect_load_error(dir, NPG_ERR_UNSUPPORTED, "model.layers.0.mlp.up_proj.weight", "I32");
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_missing_config);
    RUN(test_malformed_config);
    RUN(test_unknown_architecture);
    RUN(test_shape_contradicts_config);
    RUN(test_bad_config_values);
    RUN(test_truncated_weights);
    RUN(test_missing_tensor);
    RUN(test_wrong_dtype);
    return npg_test_summary();
}
