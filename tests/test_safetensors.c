/* test_safetensors.c — the safetensors reader against the writer (single file, mixed dtypes,
 * sharded folders) and against every kind of malformed file and folder: each must fail with the right
 * status and a message naming the file and the problem, without crashing or leaking (ASan CI). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "testutil.h"

/* ---------------------------------------------------------------------------------------------- */
/* Round trip through the writer                                                                  */
/* ---------------------------------------------------------------------------------------------- */

typedef struct test_tensor {
    const char *name;
    npg_dtype dtype;
    int n_dims;
    int64_t shape[3];
} test_tensor;

/* Mixed dtypes, a scalar, a zero-size tensor and a name that needs JSON escaping. */
static const test_tensor round_trip_tensors[] = {
    {"w.f32", NPG_DT_F32, 2, {3, 4, 0}},          {"b.bf16", NPG_DT_BF16, 1, {5, 0, 0}},
    {"scalar.i64", NPG_DT_I64, 0, {0, 0, 0}},     {"empty.f16", NPG_DT_F16, 3, {2, 0, 3}},
    {"we\"ird\\name\n", NPG_DT_U8, 1, {7, 0, 0}}, {"last.i32", NPG_DT_I32, 2, {2, 3, 0}},
};
enum { N_ROUND_TRIP = sizeof round_trip_tensors / sizeof round_trip_tensors[0] };

static size_t tensor_bytes(const test_tensor *t) {
    size_t n = npg_dtype_size(t->dtype);
    for (int d = 0; d < t->n_dims; d++)
        n *= (size_t)t->shape[d];
    return n;
}

/* Byte j of the whole data section: a pattern that shows any shift or mix-up between tensors. */
static uint8_t pattern(size_t j) { return (uint8_t)(j * 131u + 7u); }

static void test_round_trip(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char *path = npg_path_join(dir, "model.safetensors");
    npg_safetensors_writer *w = NULL;
    REQUIRE_OK(npg_safetensors_writer_create(path, &w));
    CHECK(npg_safetensors_writer_add_metadata(w, "format", "pt") == NPG_OK);
    CHECK(npg_safetensors_writer_add_metadata(w, "note", "quote \" and \\") == NPG_OK);
    size_t total = 0;
    for (int i = 0; i < N_ROUND_TRIP; i++) {
        const test_tensor *t = &round_trip_tensors[i];
        CHECK(npg_safetensors_writer_declare(w, t->name, t->dtype, t->n_dims, t->shape) == NPG_OK);
        total += tensor_bytes(t);
    }
    CHECK(npg_safetensors_writer_data_bytes(w) == total);
    REQUIRE_OK(npg_safetensors_writer_write_header(w));
    uint8_t *data = malloc(total);
    for (size_t j = 0; j < total; j++)
        data[j] = pattern(j);
    /* the first two tensors whole (write_tensor), the rest in 5-byte chunks across tensor boundaries */
    size_t first2 = tensor_bytes(&round_trip_tensors[0]) + tensor_bytes(&round_trip_tensors[1]);
    CHECK(npg_safetensors_writer_write_tensor(w, "w.f32", data, tensor_bytes(&round_trip_tensors[0])) == NPG_OK);
    CHECK(npg_safetensors_writer_current_tensor(w) == 1);
    CHECK(npg_safetensors_writer_write_tensor(w, "b.bf16", data + tensor_bytes(&round_trip_tensors[0]),
                                              tensor_bytes(&round_trip_tensors[1])) == NPG_OK);
    for (size_t j = first2; j < total; j += 5)
        CHECK(npg_safetensors_writer_write(w, data + j, total - j < 5 ? total - j : 5) == NPG_OK);
    CHECK(npg_safetensors_writer_bytes_written(w) == total);
    CHECK(!npg_path_exists(path)); /* only the temporary file so far */
    REQUIRE_OK(npg_safetensors_writer_finish(w));
    npg_safetensors_writer_free(w);
    CHECK(npg_path_exists(path));

    /* the header: length a multiple of 8, padded with spaces, metadata kept */
    size_t len = 0;
    uint8_t *raw = (uint8_t *)read_all(path, &len);
    REQUIRE(raw && len >= 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | raw[i];
    CHECK(hlen % 8 == 0);
    CHECK(8 + hlen + total == len);
    cJSON *root = NULL;
    CHECK(npg_json_parse((const char *)raw + 8, (size_t)hlen, path, &root) == NPG_OK);
    const cJSON *meta = npg_json_get(root, "__metadata__");
    CHECK(meta && strcmp(npg_json_get_string(meta, "format"), "pt") == 0);
    CHECK(meta && strcmp(npg_json_get_string(meta, "note"), "quote \" and \\") == 0);
    cJSON_Delete(root);
    free(raw);

    npg_tensor_store *ts = NULL;
    REQUIRE_OK(npg_tensor_store_open_file(path, &ts));
    CHECK(npg_tensor_store_count(ts) == N_ROUND_TRIP);
    CHECK(npg_tensor_store_data_bytes(ts) == total);
    size_t offset = 0;
    for (int i = 0; i < N_ROUND_TRIP; i++) {
        const test_tensor *t = &round_trip_tensors[i];
        const npg_tensor_info *ti = npg_tensor_store_find(ts, t->name);
        CHECK(ti != NULL);
        if (!ti)
            continue;
        CHECK(ti->dtype == t->dtype && ti->n_dims == t->n_dims && ti->n_bytes == tensor_bytes(t));
        int64_t count = 1;
        for (int d = 0; d < t->n_dims; d++) {
            CHECK(ti->shape[d] == t->shape[d]);
            count *= t->shape[d];
        }
        CHECK(ti->n_elements == count);
        CHECK(ti->n_bytes == 0 || memcmp(ti->data, data + offset, ti->n_bytes) == 0);
        offset += ti->n_bytes;
    }
    npg_tensor_store_free(ts);
    free(data);
    free(path);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Sharded folders                                                                                */
/* ---------------------------------------------------------------------------------------------- */

/* Writes one shard holding f32 tensors names[i] of shape [i + 2] filled with `base + i`. */
static npg_status write_shard(const char *path, const char *const *names, int n, float base) {
    npg_safetensors_writer *w = NULL;
    NPG_TRY(npg_safetensors_writer_create(path, &w));
    npg_status st = NPG_OK;
    for (int i = 0; i < n && st == NPG_OK; i++) {
        int64_t shape[1] = {i + 2};
        st = npg_safetensors_writer_declare(w, names[i], NPG_DT_F32, 1, shape);
    }
    if (st == NPG_OK)
        st = npg_safetensors_writer_write_header(w);
    for (int i = 0; i < n && st == NPG_OK; i++) {
        float v[16];
        for (int j = 0; j < i + 2; j++)
            v[j] = base + (float)i;
        st = npg_safetensors_writer_write_tensor(w, names[i], v, (size_t)(i + 2) * sizeof(float));
    }
    if (st == NPG_OK)
        st = npg_safetensors_writer_finish(w);
    npg_safetensors_writer_free(w);
    return st;
}

static const char *const shard1_names[] = {"model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight"};
static const char *const shard2_names[] = {"model.layers.1.mlp.up_proj.weight", "model.norm.weight", "lm_head.weight"};

/* A two-shard folder as HF writes it; `extra` is spliced into the weight_map (may be ""). */
static void make_sharded_folder(const char *dir, const char *extra) {
    char *p1 = npg_path_join(dir, "model-00001-of-00002.safetensors");
    char *p2 = npg_path_join(dir, "model-00002-of-00002.safetensors");
    CHECK(write_shard(p1, shard1_names, 2, 10.0f) == NPG_OK);
    CHECK(write_shard(p2, shard2_names, 3, 20.0f) == NPG_OK);
    npg_strbuf sb = {0};
    CHECK(npg_strbuf_printf(&sb, "{\n  \"metadata\": {\"total_size\": 56},\n  \"weight_map\": {\n") == NPG_OK);
    for (int i = 0; i < 2; i++)
        npg_strbuf_printf(&sb, "    \"%s\": \"model-00001-of-00002.safetensors\",\n", shard1_names[i]);
    for (int i = 0; i < 3; i++)
        npg_strbuf_printf(&sb, "    \"%s\": \"model-00002-of-00002.safetensors\"%s\n", shard2_names[i],
                          i < 2 || *extra ? "," : "");
    npg_strbuf_printf(&sb, "%s  }\n}\n", extra);
    char *index = npg_path_join(dir, "model.safetensors.index.json");
    write_file(index, sb.data, sb.len);
    npg_strbuf_free(&sb);
    free(index);
    free(p1);
    free(p2);
}

static void test_sharded(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    make_sharded_folder(dir, "");
    npg_tensor_store *ts = NULL;
    REQUIRE_OK(npg_tensor_store_open_dir(dir, &ts));
    CHECK(npg_tensor_store_count(ts) == 5);
    CHECK(npg_tensor_store_data_bytes(ts) == (2 + 3 + 2 + 3 + 4) * sizeof(float));
    for (int s = 0; s < 2; s++) {
        const char *const *names = s == 0 ? shard1_names : shard2_names;
        for (int i = 0; i < (s == 0 ? 2 : 3); i++) {
            const npg_tensor_info *ti = npg_tensor_store_find(ts, names[i]);
            CHECK(ti != NULL);
            if (!ti)
                continue;
            CHECK(strstr(npg_tensor_store_shard_path(ts, ti->shard), s == 0 ? "00001-of" : "00002-of") != NULL);
            CHECK(ti->n_elements == i + 2);
            float v;
            memcpy(&v, ti->data + (size_t)(ti->n_elements - 1) * sizeof v, sizeof v);
            CHECK(v == (s == 0 ? 10.0f : 20.0f) + (float)i);
        }
    }
    CHECK(npg_tensor_store_find(ts, "model.layers.0.mlp.down_proj.weight") == NULL);
    npg_tensor_store_free(ts);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Malformed single files                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* Writes u64 `hlen` + `header` + `data_len` zero bytes; hlen UINT64_MAX means strlen(header). */
static void write_raw(const char *path, uint64_t hlen, const char *header, size_t data_len) {
    size_t h = strlen(header);
    if (hlen == UINT64_MAX)
        hlen = h;
    uint8_t *buf = calloc(1, 8 + h + data_len);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + 8, header, h);
    write_file(path, buf, 8 + h + data_len);
    free(buf);
}

/* Opens `path`; the call must fail with `want` and a message holding the path and `phrase`. */
static void expect_open_fails(const char *path, npg_status want, const char *phrase, int line) {
    npg_tensor_store *ts = NULL;
    npg_status st = npg_tensor_store_open_file(path, &ts);
    const char *msg = npg_last_error();
    if (st != want || ts != NULL || !strstr(msg, path) || !strstr(msg, phrase)) {
        fprintf(stderr, "line %d: got %s \"%s\", want %s with \"%s\"\n", line, npg_status_name(st), msg,
                npg_status_name(want), phrase);
        npg_test_failures++;
    }
    npg_tensor_store_free(ts);
}

typedef struct bad_file {
    const char *header; /* JSON text */
    uint64_t hlen;      /* UINT64_MAX: the header's length */
    size_t data_len;
    npg_status want;
    const char *phrase; /* must appear in the message */
} bad_file;

#define T1(fields) "{\"t\":{" fields "}}"
static const bad_file bad_files[] = {
    /* header length past the end of the file */
    {"{}", 1000, 0, NPG_ERR_FORMAT, "header length 1000 runs past the end"},
    {"{}", UINT64_MAX - 1, 0, NPG_ERR_FORMAT, "runs past the end"},
    /* data cut short: 16 bytes declared, 8 present */
    {T1("\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]"), UINT64_MAX, 8, NPG_ERR_FORMAT, "out of range"},
    /* data offsets out of range */
    {T1("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[100,104]"), UINT64_MAX, 16, NPG_ERR_FORMAT,
     "tensor 't' data offsets [100, 104] are out of range"},
    {T1("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]"), UINT64_MAX, 16, NPG_ERR_FORMAT, "out of range"},
    {T1("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]"), UINT64_MAX, 16, NPG_ERR_FORMAT, "out of range"},
    {T1("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]"), UINT64_MAX, 16, NPG_ERR_FORMAT, "out of range"},
    /* shape x dtype does not match the byte size */
    {T1("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]"), UINT64_MAX, 16, NPG_ERR_FORMAT,
     "tensor 't' holds 12 bytes but shape and dtype F32 need 16"},
    {T1("\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,4]"), UINT64_MAX, 16, NPG_ERR_FORMAT, "need 6"},
    {T1("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"a\",\"b\"]"), UINT64_MAX, 16, NPG_ERR_FORMAT,
     "tensor 't'"},
    /* unknown dtype */
    {T1("\"dtype\":\"F8_E9M9\",\"shape\":[1],\"data_offsets\":[0,1]"), UINT64_MAX, 16, NPG_ERR_UNSUPPORTED,
     "tensor 't' has unsupported dtype 'F8_E9M9'"},
    /* malformed JSON header, a header that is not an object, missing or mistyped fields */
    {"{\"t\": {\"dtype\": ", UINT64_MAX, 16, NPG_ERR_FORMAT, "malformed JSON at line 1"},
    {"", UINT64_MAX, 16, NPG_ERR_FORMAT, "malformed JSON"},
    {"[1, 2]", UINT64_MAX, 16, NPG_ERR_FORMAT, "header is not a JSON object"},
    {T1("\"dtype\":\"F32\",\"shape\":[1]"), UINT64_MAX, 16, NPG_ERR_FORMAT,
     "tensor 't' lacks dtype, shape or data_offsets"},
    {T1("\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]"), UINT64_MAX, 16, NPG_ERR_FORMAT, "lacks"},
    {T1("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]"), UINT64_MAX, 16, NPG_ERR_FORMAT, "lacks"},
    {T1("\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]"), UINT64_MAX, 16, NPG_ERR_FORMAT,
     "tensor 't' has an invalid shape"},
    {T1("\"dtype\":\"F32\",\"shape\":[\"x\"],\"data_offsets\":[0,4]"), UINT64_MAX, 16, NPG_ERR_FORMAT, "invalid shape"},
    {T1("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]"), UINT64_MAX, 16, NPG_ERR_FORMAT,
     "has 9 dimensions"},
    {T1("\"dtype\":\"U8\",\"shape\":[1000000000000,1000000000000],\"data_offsets\":[0,4]"), UINT64_MAX, 16,
     NPG_ERR_FORMAT, "shape overflows"},
    /* duplicate tensor names */
    {"{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
     "\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
     UINT64_MAX, 2, NPG_ERR_FORMAT, "tensor 't' appears twice"},
};
#undef T1

static void test_malformed_files(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char *path = npg_path_join(dir, "bad.safetensors");
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        const bad_file *b = &bad_files[i];
        write_raw(path, b->hlen, b->header, b->data_len);
        expect_open_fails(path, b->want, b->phrase, (int)i);
    }
    /* truncated before the 8-byte header length: empty, and 5 bytes */
    write_file(path, "", 0);
    expect_open_fails(path, NPG_ERR_FORMAT, "truncated safetensors file (0 bytes", __LINE__);
    write_file(path, "\x10\0\0\0\0", 5);
    expect_open_fails(path, NPG_ERR_FORMAT, "truncated safetensors file (5 bytes", __LINE__);
    /* not a file at all */
    char *missing = npg_path_join(dir, "missing.safetensors");
    expect_open_fails(missing, NPG_ERR_NOT_FOUND, "cannot open", __LINE__);
    expect_open_fails(dir, NPG_ERR_IO, "not a regular file", __LINE__);
    free(missing);
    /* a well-formed file still opens after all that (the failures left nothing behind) */
    write_raw(path, UINT64_MAX,
              "{\"__metadata__\":{\"a\":\"b\"},\"t\":{\"dtype\":\"U8\",\"shape\":[2],"
              "\"data_offsets\":[0,2]}}",
              2);
    npg_tensor_store *ts = NULL;
    CHECK(npg_tensor_store_open_file(path, &ts) == NPG_OK);
    CHECK(npg_tensor_store_count(ts) == 1 && npg_tensor_store_find(ts, "t") != NULL);
    npg_tensor_store_free(ts);
    free(path);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Malformed folders                                                                              */
/* ---------------------------------------------------------------------------------------------- */

/* open_dir must fail with `want` and a message holding `phrase1` and `phrase2`. */
static void expect_dir_fails(const char *dir, npg_status want, const char *phrase1, const char *phrase2, int line) {
    npg_tensor_store *ts = NULL;
    npg_status st = npg_tensor_store_open_dir(dir, &ts);
    const char *msg = npg_last_error();
    if (st != want || ts != NULL || !strstr(msg, phrase1) || !strstr(msg, phrase2)) {
        fprintf(stderr, "line %d: got %s \"%s\", want %s with \"%s\" and \"%s\"\n", line, npg_status_name(st), msg,
                npg_status_name(want), phrase1, phrase2);
        npg_test_failures++;
    }
    npg_tensor_store_free(ts);
}

static void write_index(const char *dir, const char *text) {
    char *index = npg_path_join(dir, "model.safetensors.index.json");
    write_file(index, text, strlen(text));
    free(index);
}

static void test_malformed_folders(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    /* an empty folder, and one that does not exist */
    expect_dir_fails(dir, NPG_ERR_NOT_FOUND, dir, "no model.safetensors or model.safetensors.index.json", __LINE__);
    char *nowhere = npg_path_join(dir, "nowhere");
    expect_dir_fails(nowhere, NPG_ERR_NOT_FOUND, nowhere, "no model.safetensors", __LINE__);
    free(nowhere);

    /* the index names a tensor its shard lacks */
    make_sharded_folder(dir, "    \"model.layers.0.self_attn.q_proj.weight\": \"model-00001-of-00002.safetensors\"\n");
    expect_dir_fails(dir, NPG_ERR_FORMAT, "model.safetensors.index.json",
                     "tensor 'model.layers.0.self_attn.q_proj.weight' is listed but missing from "
                     "model-00001-of-00002.safetensors",
                     __LINE__);
    /* the index names a shard file that is not there */
    make_sharded_folder(dir, "    \"extra.weight\": \"model-00003-of-00003.safetensors\"\n");
    expect_dir_fails(dir, NPG_ERR_NOT_FOUND, "model-00003-of-00003.safetensors", "cannot open", __LINE__);
    /* a shard that is itself malformed: the message names the shard */
    make_sharded_folder(dir, "");
    char *shard2 = npg_path_join(dir, "model-00002-of-00002.safetensors");
    write_raw(shard2, 4096, "{}", 0);
    expect_dir_fails(dir, NPG_ERR_FORMAT, shard2, "runs past the end", __LINE__);
    free(shard2);
    /* malformed index files */
    write_index(dir, "{\"weight_map\": {\"a\": ");
    expect_dir_fails(dir, NPG_ERR_FORMAT, "model.safetensors.index.json", "malformed JSON at line 1", __LINE__);
    write_index(dir, "{\"metadata\": {}}");
    expect_dir_fails(dir, NPG_ERR_FORMAT, "model.safetensors.index.json", "missing object 'weight_map'", __LINE__);
    write_index(dir, "{\"weight_map\": {}}");
    expect_dir_fails(dir, NPG_ERR_FORMAT, "model.safetensors.index.json", "'weight_map' is empty", __LINE__);
    write_index(dir, "{\"weight_map\": {\"a\": \"../elsewhere/model.safetensors\"}}");
    expect_dir_fails(dir, NPG_ERR_FORMAT, "model.safetensors.index.json", "weight_map entry 'a' is not a file name",
                     __LINE__);
    write_index(dir, "{\"weight_map\": {\"a\": 3}}");
    expect_dir_fails(dir, NPG_ERR_FORMAT, "model.safetensors.index.json", "entry 'a'", __LINE__);
    /* model.safetensors wins over an index when both exist, and is checked like any file */
    char *single = npg_path_join(dir, "model.safetensors");
    write_file(single, "abc", 3);
    expect_dir_fails(dir, NPG_ERR_FORMAT, single, "truncated", __LINE__);
    free(single);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_round_trip);
    RUN(test_sharded);
    RUN(test_malformed_files);
    RUN(test_malformed_folders);
    return npg_test_summary();
}
