/* test_cli_sequences.c — `npugen generate --num-return-sequences N --json` and
 * `npugen bench --sequences N --json` on stories260K: the JSON shapes, the reproducibility of every
 * sequence, and the refusals (greedy, NPU, --json with --print-ids) with one stderr line. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testcli.h"
#include "testutil.h"

static cJSON *run_json(const char *args) {
    char *out = NULL, *err = NULL;
    int rc = npugen(args, &out, &err);
    cJSON *j = rc == 0 && out ? cJSON_Parse(out) : NULL;
    if (!j)
        fprintf(stderr, "  [%s] rc %d, stdout %s, stderr %s\n", args, rc, out ? out : "(null)", err ? err : "(null)");
    free(out);
    free(err);
    return j;
}

static void test_generate_json(void) {
    char args[1024];
    snprintf(args, sizeof args,
             "generate %s -p 'Once upon a time' -n 16 -t 2 --temperature 1.0 --seed 99 "
             "--num-return-sequences 3 --json",
             shared_path("models/stories260K"));
    cJSON *a = run_json(args), *b = run_json(args);
    REQUIRE(a && b);
    cJSON *texts = cJSON_GetObjectItem(a, "texts"), *ids = cJSON_GetObjectItem(a, "ids");
    cJSON *fin = cJSON_GetObjectItem(a, "finish_reasons"), *seed = cJSON_GetObjectItem(a, "seed");
    cJSON *perf = cJSON_GetObjectItem(a, "perf");
    CHECK(cJSON_GetArraySize(texts) == 3 && cJSON_GetArraySize(ids) == 3 && cJSON_GetArraySize(fin) == 3);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(a, "scores")) == 3);
    CHECK(seed && cJSON_IsNumber(seed) && seed->valuedouble == 99.0);
    CHECK(perf && cJSON_IsNumber(cJSON_GetObjectItem(perf, "generated_tokens")));
    size_t total = 0;
    for (int i = 0; i < 3; i++) {
        cJSON *f = cJSON_GetArrayItem(fin, i);
        CHECK(cJSON_IsString(f) && (strcmp(f->valuestring, "length") == 0 || strcmp(f->valuestring, "eos") == 0));
        total += (size_t)cJSON_GetArraySize(cJSON_GetArrayItem(ids, i));
    }
    CHECK(perf && (size_t)cJSON_GetObjectItem(perf, "generated_tokens")->valuedouble == total);
    /* a rerun prints the same texts and ids */
    char *ja = cJSON_PrintUnformatted(texts), *jb = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, "texts"));
    char *ia = cJSON_PrintUnformatted(ids), *ib = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, "ids"));
    CHECK(ja && jb && strcmp(ja, jb) == 0);
    CHECK(ia && ib && strcmp(ia, ib) == 0);
    /* sequence 1 is the one-sequence run with seed 100 */
    snprintf(args, sizeof args, "generate %s -p 'Once upon a time' -n 16 -t 2 --temperature 1.0 --seed 100 --json",
             shared_path("models/stories260K"));
    cJSON *one = run_json(args);
    CHECK(one && cJSON_GetArraySize(cJSON_GetObjectItem(one, "texts")) == 1);
    if (one) {
        char *t1 = cJSON_PrintUnformatted(cJSON_GetArrayItem(texts, 1));
        char *t2 = cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItem(one, "texts"), 0));
        CHECK(t1 && t2 && strcmp(t1, t2) == 0);
        free(t1);
        free(t2);
    }
    free(ja);
    free(jb);
    free(ia);
    free(ib);
    cJSON_Delete(one);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_refusals(void) {
    char args[1024];
    const char *m = shared_path("models/stories260K");
    snprintf(args, sizeof args, "generate %s -p Once -n 4 --num-return-sequences 3", m);
    expect_error(args, 2, "needs sampling");
    snprintf(args, sizeof args, "generate %s -p Once -n 4 --num-return-sequences 0", m);
    expect_error(args, 2, "--num-return-sequences");
    snprintf(args, sizeof args, "generate %s -p Once -n 4 --json --print-ids", m);
    expect_error(args, 2, "--json");
    snprintf(args, sizeof args, "generate %s -p Once -n 4 --temperature 1 --num-return-sequences 2 --device NPU", m);
    expect_error(args, 1, "NPU");
    snprintf(args, sizeof args, "bench %s -p 8 -n 4 --sequences 0", m);
    expect_error(args, 2, "--sequences");
}

static void test_bench_sequences(void) {
    char args[1024];
    snprintf(args, sizeof args, "bench %s -p 8 -n 6 -t 2 --no-bandwidth --sequences 3 --json",
             shared_path("models/stories260K"));
    cJSON *j = run_json(args);
    REQUIRE(j);
    cJSON *seqs = cJSON_GetObjectItem(j, "sequences"), *gen = cJSON_GetObjectItem(j, "gen_tokens");
    cJSON *dec = cJSON_GetObjectItem(j, "decode_tok_s");
    CHECK(seqs && seqs->valuedouble == 3.0);
    CHECK(gen && gen->valuedouble == 6.0); /* per sequence; ignore_eos makes every sequence run to the end */
    CHECK(dec && dec->valuedouble > 0.0);
    cJSON_Delete(j);
}

int main(void) {
    RUN(test_generate_json);
    RUN(test_refusals);
    RUN(test_bench_sequences);
    return npg_test_summary();
}
