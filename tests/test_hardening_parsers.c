/* test_hardening_parsers.c — regression tests for the parser defects of issue 15 (docs/reliability.md):
 * each case builds the crafted input that once crashed or was accepted, and expects a clear error.
 *   defect 1: npgw names whose windows overlap and sum past the copy buffer (heap overflow)
 *   defect 2: TemplateProcessing special-token ids that are not ids (double free)
 *   defect 8: JSON integers >= 2^63 cast to int64_t (undefined behaviour)
 *   defect 9: overlapping / fractional safetensors offsets and shapes, NUL bytes in JSON
 *   item 3:   tensor byte sizes past the file, absurd config sizes, oversized JSON files */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/hash.h"
#include "core/json.h"
#include "format/npgw.h"
#include "format/npgw_writer.h"
#include "format/safetensors.h"
#include "models/config.h"
#include "testutil.h"

static bool msg_has(const char *frag) {
    bool ok = strstr(npg_last_error(), frag) != NULL;
    if (!ok)
        fprintf(stderr, "  message lacks '%s': %s\n", frag, npg_last_error());
    return ok;
}

/* A container of 4 small F32 tensors; returns its path (caller frees). */
static char *write_container(const char *dir) {
    char *path = npg_path_join(dir, NPGW_FILE_NAME);
    npgw_writer *w = NULL;
    npg_status st = npgw_writer_create(path, &w);
    int64_t shape[1] = {16};
    char name[32];
    for (int t = 0; t < 4 && st == NPG_OK; t++) {
        snprintf(name, sizeof name, "layer.%d.weight", t);
        st = npgw_writer_declare(w, name, NPG_W_F32, 1, shape, 0);
    }
    if (st == NPG_OK)
        st = npgw_writer_begin(w);
    float v[16] = {0};
    for (int t = 0; t < 4 && st == NPG_OK; t++)
        st = npgw_writer_write(w, v, sizeof v);
    if (st == NPG_OK)
        st = npgw_writer_finish(w);
    npgw_writer_free(w);
    if (st != NPG_OK) {
        fprintf(stderr, "write_container: %s\n", npg_last_error());
        free(path);
        return NULL;
    }
    return path;
}

/* Recomputes both checksums, as an attacker would: XXH64 is no defence against crafted files. */
static void rehash(char *bytes) {
    npgw_header h;
    memcpy(&h, bytes, sizeof h);
    h.index_hash = npg_xxh64(bytes + h.table_offset, (size_t)(h.data_offset - h.table_offset), 0);
    h.header_hash = npg_xxh64(&h, offsetof(npgw_header, header_hash), 0);
    memcpy(bytes, &h, sizeof h);
}

static void test_defect01_npgw_overlapping_names(void) {
    char *dir = make_temp_dir();
    char *path = write_container(dir);
    REQUIRE(path);
    size_t len = 0;
    char *bytes = read_all(path, &len);
    REQUIRE(bytes);
    npgw_header h;
    memcpy(&h, bytes, sizeof h);
    /* every entry names the whole names section: each window is in bounds, their sum is 4x */
    for (uint64_t i = 0; i < h.n_tensors; i++) {
        npgw_entry e;
        memcpy(&e, bytes + h.table_offset + i * sizeof e, sizeof e);
        e.name_offset = 0;
        e.name_len = (uint32_t)h.names_size;
        memcpy(bytes + h.table_offset + i * sizeof e, &e, sizeof e);
    }
    rehash(bytes);
    char *bad = npg_path_join(dir, "bad.npgw");
    write_file(bad, bytes, len);
    npgw_file *f = NULL;
    CHECK(npgw_open(bad, &f) == NPG_ERR_FORMAT);
    CHECK(f == NULL);
    CHECK(msg_has("names section"));
    /* the untouched file still opens */
    CHECK(npgw_open(path, &f) == NPG_OK);
    npgw_close(f);
    free(bad);
    free(bytes);
    free(path);
    rm_rf(dir);
    free(dir);
}

/* Writes tokenizer.json with a TemplateProcessing whose special token has `ids`. */
static npg_status load_tok_with_ids(const char *dir, const char *ids) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"version\": \"1.0\", \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
             "[{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
             " \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": %s, \"tokens\": [\"<s>\"]}}},"
             " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"<s>\": 2}, \"merges\": []}}",
             ids);
    char *p = npg_path_join(dir, "tokenizer.json");
    write_file(p, json, strlen(json));
    free(p);
    npg_tokenizer *tok = NULL;
    npg_status st = npg_tokenizer_create(dir, &tok);
    npg_tokenizer_free(tok);
    return st;
}

static void test_defect02_tokenizer_post_ids_double_free(void) {
    char *dir = make_temp_dir();
    CHECK(load_tok_with_ids(dir, "[2]") == NPG_OK);
    const char *bad[] = {"[-1]", "[2147483647]", "[\"x\"]", "[1e300]", "[2, 0.5]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(load_tok_with_ids(dir, bad[i]) == NPG_ERR_FORMAT);
        CHECK(msg_has("special_tokens['<s>'].ids"));
    }
    rm_rf(dir);
    free(dir);
}

static void test_defect08_json_int_casts(void) {
    const char *bad[] = {"{\"n\": 1e19}", "{\"n\": 9223372036854775808}", "{\"n\": -1e300}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *root = NULL;
        REQUIRE_OK(npg_json_parse(bad[i], strlen(bad[i]), "t.json", &root));
        int64_t v = 0;
        CHECK(npg_json_require_int(root, "n", "t.json", &v) == NPG_ERR_FORMAT);
        CHECK(msg_has("'n'"));
        cJSON_Delete(root);
    }
    cJSON *root = NULL;
    const char *good = "{\"n\": 4611686018427387904}";
    REQUIRE_OK(npg_json_parse(good, strlen(good), "t.json", &root));
    int64_t v = 0;
    CHECK(npg_json_require_int(root, "n", "t.json", &v) == NPG_OK && v == ((int64_t)1 << 62));
    cJSON_Delete(root);
}

/* config.json from stories260K with one key replaced (a "key": value text edit). */
static npg_status parse_config_with(const char *key, const char *value) {
    size_t len = 0;
    char *text = read_all(shared_path("models/stories260K/config.json"), &len);
    if (!text)
        return NPG_ERR_IO;
    cJSON *root = NULL;
    npg_status st = npg_json_parse(text, len, "config.json", &root);
    free(text);
    if (st != NPG_OK)
        return st;
    cJSON *nv = cJSON_Parse(value);
    cJSON_ReplaceItemInObjectCaseSensitive(root, key, nv);
    npg_model_config c;
    st = npg_model_config_parse(root, "config.json", &c);
    cJSON_Delete(root);
    return st;
}

static void test_defect08_config_casts_and_bounds(void) {
    CHECK(parse_config_with("hidden_size", "64") == NPG_OK);
    CHECK(parse_config_with("max_position_embeddings", "1e19") == NPG_ERR_FORMAT);
    CHECK(msg_has("max_position_embeddings"));
    CHECK(parse_config_with("eos_token_id", "1e30") == NPG_ERR_FORMAT);
    CHECK(msg_has("eos_token_id"));
    CHECK(parse_config_with("bos_token_id", "1e19") == NPG_ERR_FORMAT);
    /* item 3: sizes that would need absurd memory are refused before anything is allocated */
    CHECK(parse_config_with("vocab_size", "1000000000000") == NPG_ERR_FORMAT);
    CHECK(msg_has("vocab_size"));
    CHECK(parse_config_with("intermediate_size", "68719476736") == NPG_ERR_FORMAT);
    CHECK(msg_has("intermediate_size"));
    CHECK(parse_config_with("max_position_embeddings", "1099511627776") == NPG_ERR_FORMAT);
    CHECK(msg_has("max_position_embeddings"));
}

/* A one-file safetensors with the given JSON header and `data_len` zero bytes of data. */
static npg_status open_safetensors(const char *dir, const char *header, size_t data_len) {
    size_t hl = strlen(header), total = 8 + hl + data_len;
    uint8_t *buf = calloc(1, total);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    char *p = npg_path_join(dir, "model.safetensors");
    write_file(p, buf, total);
    free(buf);
    npg_tensor_store *ts = NULL;
    npg_status st = npg_tensor_store_open_file(p, &ts);
    npg_tensor_store_free(ts);
    free(p);
    return st;
}

static void test_defect09_safetensors_lenient(void) {
    char *dir = make_temp_dir();
    CHECK(open_safetensors(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 32) == NPG_OK);
    /* overlapping regions */
    CHECK(open_safetensors(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 32) == NPG_ERR_FORMAT);
    CHECK(msg_has("overlap"));
    /* fractional offsets and shapes, offsets that are not numbers */
    CHECK(open_safetensors(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0.5,16.5]}}", 32) ==
          NPG_ERR_FORMAT);
    CHECK(msg_has("'a'"));
    CHECK(open_safetensors(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4.5],\"data_offsets\":[0,16]}}", 32) ==
          NPG_ERR_FORMAT);
    CHECK(msg_has("shape"));
    CHECK(open_safetensors(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[\"0\",\"0\"]}}", 32) ==
          NPG_ERR_FORMAT);
    /* item 3: a shape whose byte size overflows, or exceeds the file */
    CHECK(open_safetensors(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000,1000000],"
                                "\"data_offsets\":[0,16]}}", 32) == NPG_ERR_FORMAT);
    CHECK(open_safetensors(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", 16) ==
          NPG_ERR_FORMAT);
    rm_rf(dir);
    free(dir);
}

static void test_defect09_json_nul_bytes(void) {
    const char text[] = "{\"a\":\0 1}";
    cJSON *root = NULL;
    CHECK(npg_json_parse(text, sizeof text - 1, "nul.json", &root) == NPG_ERR_FORMAT);
    CHECK(root == NULL);
    CHECK(msg_has("nul.json"));
    CHECK(msg_has("NUL"));
    CHECK(msg_has("column 6"));
    cJSON_Delete(root);
    /* an escaped NUL would end the C string early (a message's content cut short): refused too,
     * except in tokenizer.json, whose tokens keep their lengths */
    const char esc[] = "[{\"role\": \"user\", \"content\": \"hi\\u0000there\"}]";
    CHECK(npg_json_parse(esc, sizeof esc - 1, "messages.json", &root) == NPG_ERR_FORMAT);
    CHECK(msg_has("\\u0000"));
    CHECK(npg_json_parse_opts(esc, sizeof esc - 1, "tokenizer.json", true, &root) == NPG_OK);
    cJSON_Delete(root);
    root = NULL;
    /* a NUL in config.json read from a file */
    char *dir = make_temp_dir();
    char *p = npg_path_join(dir, "config.json");
    write_file(p, "{\"x\": 1}\0", 9);
    CHECK(npg_json_parse_file(p, &root) == NPG_ERR_FORMAT);
    CHECK(msg_has("config.json"));
    free(p);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_defect01_npgw_overlapping_names);
    RUN(test_defect02_tokenizer_post_ids_double_free);
    RUN(test_defect08_json_int_casts);
    RUN(test_defect08_config_casts_and_bounds);
    RUN(test_defect09_safetensors_lenient);
    RUN(test_defect09_json_nul_bytes);
    return npg_test_summary();
}
