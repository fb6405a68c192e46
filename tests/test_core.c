/* test_core.c — error messages, JSON errors with positions, atomic files, thread pool. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/half.h"
#include "core/json.h"
#include "core/threadpool.h"
#include "testutil.h"

static void test_error_message(void) {
    CHECK(npg_fail(NPG_ERR_FORMAT, "%s: bad key '%s'", "config.json", "x") == NPG_ERR_FORMAT);
    CHECK(strcmp(npg_last_error(), "config.json: bad key 'x'") == 0);
    CHECK(strcmp(npg_status_name(NPG_ERR_LIMIT), "NPG_ERR_LIMIT") == 0);
}

static void test_json_error_position(void) {
    cJSON *root = NULL;
    const char *bad = "{\n  \"a\": 1,\n  \"b\": ]\n}";
    CHECK(npg_json_parse(bad, strlen(bad), "x.json", &root) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "x.json: malformed JSON at line 3") != NULL);
    const char *good = "{\"n\": 5, \"s\": \"t\"}";
    REQUIRE_OK(npg_json_parse(good, strlen(good), "y.json", &root));
    int64_t n = 0;
    REQUIRE_OK(npg_json_require_int(root, "n", "y.json", &n));
    CHECK(n == 5);
    CHECK(npg_json_require_int(root, "m", "y.json", &n) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "'m'") != NULL);
    cJSON_Delete(root);
}

static void test_atomic_file(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char *path = npg_path_join(dir, "out.bin");
    npg_atomic_file af;
    REQUIRE_OK(npg_atomic_open(path, &af));
    REQUIRE_OK(npg_atomic_write(&af, "abc", 3));
    CHECK(!npg_path_exists(path)); /* nothing visible before commit */
    REQUIRE_OK(npg_atomic_commit(&af));
    char *data = NULL;
    size_t len = 0;
    REQUIRE_OK(npg_read_file(path, &data, &len));
    CHECK(len == 3 && memcmp(data, "abc", 3) == 0);
    free(data);
    npg_atomic_file af2;
    REQUIRE_OK(npg_atomic_open(path, &af2));
    npg_atomic_abort(&af2);
    /* larger than the writer's 2 MiB buffer, in pieces that straddle it; mapped back whole */
    size_t big = (size_t)5 << 20;
    unsigned char *src = malloc(big);
    REQUIRE(src);
    for (size_t i = 0; i < big; i++)
        src[i] = (unsigned char)(i * 2654435761u >> 13);
    npg_atomic_file af3;
    REQUIRE_OK(npg_atomic_open(path, &af3));
    const size_t pieces[] = {7, (size_t)2 << 20, 100000, (size_t)3 << 20};
    size_t at = 0;
    for (size_t i = 0; at < big; i = (i + 1) % 4) {
        size_t n = big - at < pieces[i] ? big - at : pieces[i];
        REQUIRE_OK(npg_atomic_write(&af3, src + at, n));
        at += n;
    }
    REQUIRE_OK(npg_atomic_commit(&af3));
    npg_mapped_file mf;
    REQUIRE_OK(npg_map_file(path, &mf));
    CHECK(mf.size == big && memcmp(mf.data, src, big) == 0);
    npg_unmap_file(&mf);
    free(src);
    free(path);
    rm_rf(dir);
    free(dir);
}

typedef struct sum_ctx {
    int *hits;
} sum_ctx;

static void add_task(void *ctx, int task, int thread) {
    (void)thread;
    ((sum_ctx *)ctx)->hits[task]++;
}

static void test_threadpool(void) {
    npg_threadpool *tp = NULL;
    REQUIRE_OK(npg_threadpool_create(3, &tp));
    int hits[1000] = {0};
    sum_ctx ctx = {hits};
    for (int rep = 0; rep < 50; rep++)
        npg_threadpool_run(tp, 1000, add_task, &ctx);
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= hits[i] == 50;
    CHECK(ok);
    npg_threadpool_free(tp);
    npg_threadpool_free(NULL);
}

static void test_half(void) {
    float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333333f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        float back = npg_f16_to_f32(npg_f32_to_f16(vals[i]));
        float tol = vals[i] < 0 ? -vals[i] * 1e-3f : vals[i] * 1e-3f;
        CHECK(back - vals[i] <= tol && vals[i] - back <= tol);
    }
    CHECK(npg_bf16_to_f32(npg_f32_to_bf16(1.5f)) == 1.5f);
    CHECK(npg_f16_to_f32(0x3c00) == 1.0f);
}

int main(void) {
    RUN(test_error_message);
    RUN(test_json_error_position);
    RUN(test_atomic_file);
    RUN(test_threadpool);
    RUN(test_half);
    return npg_test_summary();
}
