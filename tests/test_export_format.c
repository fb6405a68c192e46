/* test_export_format.c — the weight container (src/format/npgw*): XXH64 vectors, write/read round
 * trips of every weight type, alignment, and refusal of damaged files; the container weight source. */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "format/npgw.h"
#include "core/hash.h"
#include "format/npgw_writer.h"
#include "models/weight_source.h"
#include "weights/weights.h"
#include "testutil.h"

static void test_xxh64_vectors(void) {
    /* published XXH64 values */
    CHECK(npg_xxh64("", 0, 0) == 0xEF46DB3751D8E999ULL);
    CHECK(npg_xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5BULL);
    CHECK(npg_xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ULL);
    /* streaming in odd pieces equals one shot */
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    npg_xxh64_state s;
    npg_xxh64_init(&s, 42);
    size_t pos = 0, step = 1;
    while (pos < sizeof buf) {
        size_t c = sizeof buf - pos < step ? sizeof buf - pos : step;
        npg_xxh64_update(&s, buf + pos, c);
        pos += c;
        step = step * 3 % 67 + 1;
    }
    CHECK(npg_xxh64_digest(&s) == npg_xxh64(buf, sizeof buf, 42));
    CHECK(npg_xxh64(buf, sizeof buf, 0) != npg_xxh64(buf, sizeof buf, 1));
}

/* Writes a container with one tensor of every type; returns the f32 sources for comparison. */
static char *write_sample(const char *dir, float **src_out) {
    char *path = npg_path_join(dir, NPGW_FILE_NAME);
    int64_t n = 5, k = 256;
    float *src = malloc((size_t)(n * k) * sizeof(float));
    for (int64_t i = 0; i < n * k; i++)
        src[i] = (float)((i * 37) % 101 - 50) / 17.0f;
    npgw_writer *w = NULL;
    if (npgw_writer_create(path, &w) != NPG_OK) {
        free(path);
        free(src);
        return NULL;
    }
    npg_status st = npgw_writer_set_metadata(w, "{\"weight_format\":\"test\"}");
    const npg_wtype types[] = {NPG_W_F32, NPG_W_F16, NPG_W_BF16, NPG_W_Q8_CW, NPG_W_Q4_CW, NPG_W_Q4_G, NPG_W_NF4_CW};
    int64_t shape[2] = {n, k};
    char name[64];
    for (size_t t = 0; t < 7 && st == NPG_OK; t++) {
        snprintf(name, sizeof name, "m.%s.weight", npg_wtype_name(types[t]));
        st = npgw_writer_declare(w, name, types[t], 2, shape, types[t] == NPG_W_Q4_G ? 32 : 0);
    }
    int64_t vshape[1] = {3};
    if (st == NPG_OK)
        st = npgw_writer_declare(w, "norm.weight", NPG_W_F32, 1, vshape, 0);
    if (st == NPG_OK)
        st = npgw_writer_begin(w);
    for (size_t t = 0; t < 7 && st == NPG_OK; t++) {
        size_t db = npg_quant_data_bytes(types[t], n, k);
        int64_t ns = npg_quant_scale_count(types[t], n, k, 32);
        uint8_t *data = malloc(db);
        float *sc = ns ? malloc((size_t)ns * sizeof(float)) : NULL;
        st = npg_quantize_rows(types[t], src, n, k, 32, data, sc);
        /* odd chunk sizes cross the data/scales boundary */
        uint8_t *all = malloc(db + (size_t)ns * 4);
        memcpy(all, data, db);
        if (ns)
            memcpy(all + db, sc, (size_t)ns * 4);
        size_t total = db + (size_t)ns * 4;
        for (size_t off = 0; off < total && st == NPG_OK; off += 77)
            st = npgw_writer_write(w, all + off, total - off < 77 ? total - off : 77);
        free(all);
        free(data);
        free(sc);
    }
    float v[3] = {1.0f, 2.0f, 3.0f};
    if (st == NPG_OK)
        st = npgw_writer_write(w, v, sizeof v);
    if (st == NPG_OK)
        st = npgw_writer_finish(w);
    if (st != NPG_OK)
        fprintf(stderr, "write_sample: %s\n", npg_last_error());
    npgw_writer_free(w);
    *src_out = src;
    if (st != NPG_OK) {
        free(path);
        return NULL;
    }
    return path;
}

static void test_round_trip(void) {
    char *dir = make_temp_dir();
    float *src = NULL;
    char *path = write_sample(dir, &src);
    REQUIRE(path);
    npgw_file *f = NULL;
    REQUIRE_OK(npgw_open(path, &f));
    REQUIRE_OK(npgw_verify_data(f));
    CHECK(npgw_count(f) == 8);
    CHECK(strstr(npgw_metadata(f), "\"test\"") != NULL);
    for (size_t i = 0; i < npgw_count(f); i++) {
        const npgw_tensor *t = npgw_at(f, i);
        CHECK(((uintptr_t)t->data % NPGW_ALIGN) == 0);
        CHECK(!t->scales || ((uintptr_t)t->scales % NPGW_ALIGN) == 0);
        if (t->n_dims != 2)
            continue;
        /* the stored weight dequantizes to what quantizing the source gives directly */
        npg_weight wt = {t->wtype, t->shape[0], t->shape[1], t->group_size, t->data, t->scales};
        size_t db = npg_quant_data_bytes(t->wtype, 5, 256);
        int64_t ns = npg_quant_scale_count(t->wtype, 5, 256, 32);
        uint8_t *data = malloc(db);
        float *sc = ns ? malloc((size_t)ns * 4) : NULL;
        REQUIRE_OK(npg_quantize_rows(t->wtype, src, 5, 256, 32, data, sc));
        npg_weight ref = {t->wtype, 5, 256, t->wtype == NPG_W_Q4_G ? 32 : 0, data, sc};
        float a[256], b[256];
        for (int64_t r = 0; r < 5; r++) {
            npg_dequantize_row(&wt, r, a);
            npg_dequantize_row(&ref, r, b);
            CHECK(memcmp(a, b, sizeof a) == 0);
        }
        free(data);
        free(sc);
    }
    const npgw_tensor *nt = npgw_find(f, "norm.weight");
    REQUIRE(nt && nt->n_dims == 1 && nt->shape[0] == 3);
    CHECK(npgw_find(f, "absent") == NULL);
    npgw_close(f);

    /* the container source hands the same tensors to the model loader */
    npg_weight_source ws;
    CHECK(npg_weight_source_container_present(dir));
    REQUIRE_OK(npg_weight_source_container(dir, &ws));
    npg_weight w;
    char qname[64];
    snprintf(qname, sizeof qname, "m.%s.weight", npg_wtype_name(NPG_W_Q4_G));
    REQUIRE_OK(ws.get_matrix(ws.ctx, qname, 5, 256, &w));
    CHECK(w.type == NPG_W_Q4_G && w.group_size == 32);
    CHECK(ws.get_matrix(ws.ctx, qname, 5, 128, &w) == NPG_ERR_FORMAT);
    CHECK(ws.get_matrix(ws.ctx, "nope", 5, 256, &w) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "nope") != NULL);
    float v[3];
    REQUIRE_OK(ws.get_vector(ws.ctx, "norm.weight", 3, v));
    CHECK(v[0] == 1.0f && v[2] == 3.0f);
    snprintf(qname, sizeof qname, "m.%s.weight", npg_wtype_name(NPG_W_Q8_CW));
    CHECK(ws.get_vector(ws.ctx, qname, 5, v) == NPG_ERR_FORMAT);
    ws.free(ws.ctx);
    free(src);
    free(path);
    rm_rf(dir);
    free(dir);
}

/* Flips one byte at `off` of a copy and expects `want` from open (or verify when at_verify). */
static void expect_damage(const char *path, const char *dir, size_t off, npg_status want, bool at_verify) {
    size_t len = 0;
    char *bytes = read_all(path, &len);
    REQUIRE(bytes && off < len);
    bytes[off] ^= 0x5a;
    char *bad = npg_path_join(dir, "bad.npgw");
    write_file(bad, bytes, len);
    npgw_file *f = NULL;
    npg_status st = npgw_open(bad, &f);
    if (at_verify) {
        CHECK(st == NPG_OK);
        if (st == NPG_OK)
            st = npgw_verify_data(f);
    }
    CHECK(st == want);
    if (st != want)
        fprintf(stderr, "  offset %zu: got %s (%s)\n", off, npg_status_name(st), npg_last_error());
    CHECK(strstr(npg_last_error(), "bad.npgw") != NULL);
    npgw_close(f);
    bytes[off] ^= 0x5a; /* undamaged again: truncation */
    write_file(bad, bytes, len - 1);
    CHECK(npgw_open(bad, &f) == NPG_ERR_FORMAT);
    write_file(bad, bytes, 100);
    CHECK(npgw_open(bad, &f) == NPG_ERR_FORMAT);
    free(bad);
    free(bytes);
}

static void test_damage(void) {
    char *dir = make_temp_dir();
    float *src = NULL;
    char *path = write_sample(dir, &src);
    REQUIRE(path);
    expect_damage(path, dir, 0, NPG_ERR_FORMAT, false);      /* magic */
    expect_damage(path, dir, 9, NPG_ERR_CHECKSUM, false);    /* version byte: header hash */
    expect_damage(path, dir, 130, NPG_ERR_CHECKSUM, false);  /* table */
    npgw_file *f = NULL;
    size_t len = 0, first = 0;
    char *b = read_all(path, &len); /* tensor 0's data offset, from its table entry */
    REQUIRE(b && len > 128 + sizeof(npgw_entry));
    npgw_entry e;
    memcpy(&e, b + 128, sizeof e);
    first = (size_t)e.data_offset;
    free(b);
    expect_damage(path, dir, first + 5, NPG_ERR_CHECKSUM, true); /* tensor bytes */
    CHECK(npgw_open("/nonexistent/x.npgw", &f) == NPG_ERR_NOT_FOUND);
    free(src);
    free(path);
    rm_rf(dir);
    free(dir);
}

static void test_writer_misuse(void) {
    char *dir = make_temp_dir();
    char *path = npg_path_join(dir, "w.npgw");
    npgw_writer *w = NULL;
    REQUIRE_OK(npgw_writer_create(path, &w));
    int64_t shape[2] = {4, 100};
    CHECK(npgw_writer_declare(w, "a", NPG_W_Q4_G, 2, shape, 32) == NPG_ERR_INVALID_ARGUMENT); /* 32 ∤ 100 */
    CHECK(npgw_writer_declare(w, "a", NPG_W_Q4_CW, 3, shape, 0) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npgw_writer_declare(w, "", NPG_W_F32, 2, shape, 0) == NPG_ERR_INVALID_ARGUMENT);
    REQUIRE_OK(npgw_writer_declare(w, "a", NPG_W_F32, 2, shape, 0));
    CHECK(npgw_writer_declare(w, "a", NPG_W_F32, 2, shape, 0) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npgw_writer_write(w, shape, 8) == NPG_ERR_INVALID_ARGUMENT); /* before begin */
    REQUIRE_OK(npgw_writer_begin(w));
    float row[100] = {0};
    REQUIRE_OK(npgw_writer_write(w, row, sizeof row));
    CHECK(npgw_writer_finish(w) == NPG_ERR_INVALID_ARGUMENT); /* 3 rows missing */
    npgw_writer_free(w);
    CHECK(!npg_path_exists(path)); /* nothing left behind */
    free(path);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_xxh64_vectors);
    RUN(test_round_trip);
    RUN(test_damage);
    RUN(test_writer_misuse);
    return npg_test_summary();
}
