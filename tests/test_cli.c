/* test_cli.c — the npugen command line: generate / chat / bench outputs and exit codes, and one
 * clear stderr line for every error. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testcli.h"
#include "testutil.h"

static void test_help_and_version(void) {
    char *out = NULL, *err = NULL;
    CHECK(npugen("--version", &out, &err) == 0);
    CHECK(out && strncmp(out, "npugen ", 7) == 0 && count_lines(out) == 1);
    free(out), free(err);
    /* the other commands' --help is tested with each command (test_cli_*.c) */
    const char *cmds[] = {"--help", "generate --help", "chat --help", "bench --help"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        out = err = NULL;
        CHECK(npugen(cmds[i], &out, &err) == 0);
        CHECK(out && strstr(out, "usage") != NULL);
        free(out), free(err);
    }
    expect_error("frobnicate", 2, "frobnicate");
    out = err = NULL;
    CHECK(npugen("", &out, &err) == 2);
    free(out), free(err);
}

static void test_generate_golden(void) {
    char *json = read_all(shared_path("goldens/stories260K/index.json"), NULL);
    REQUIRE(json);
    cJSON *root = cJSON_Parse(json);
    free(json);
    REQUIRE(root);
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "cases"), 0);
    const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
    const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(c, "generated_ids"));
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "generate %s -p '%s' -n %d --greedy", shared_path("models/stories260K"), prompt, n);
    CHECK(npugen(args, &out, &err) == 0);
    /* stdout: exactly the continuation, then one newline */
    size_t lp = strlen(prompt), lt = strlen(text);
    CHECK(out && strlen(out) == lt - lp + 1 && strncmp(out, text + lp, lt - lp) == 0 && out[lt - lp] == '\n');
    CHECK(err && err[0] == '\0');
    free(out), free(err);

    /* the same prompt from a file, with --perf on stderr */
    char *dir = make_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/prompt.txt", dir);
    write_file(path, prompt, strlen(prompt));
    snprintf(args, sizeof args, "generate %s -f %s -n %d --perf", shared_path("models/stories260K"), path, n);
    out = err = NULL;
    CHECK(npugen(args, &out, &err) == 0);
    CHECK(out && strncmp(out, text + lp, lt - lp) == 0);
    CHECK(err && strstr(err, "TTFT") && strstr(err, "throughput"));
    free(out), free(err);
    rm_rf(dir);
    free(dir);
    cJSON_Delete(root);
}

static void test_generate_ids_and_seed(void) {
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "generate %s --prompt-ids 1,403,407,261,378 -n 8 --print-ids",
             shared_path("models/stories260K"));
    CHECK(npugen(args, &out, &err) == 0);
    CHECK(out && strcmp(out, "432 383 286 261 376 298 315 421\n") == 0);
    free(out), free(err);

    char *a = NULL, *b = NULL;
    snprintf(args, sizeof args, "generate %s -p 'Once' -n 30 --temperature 0.9 --top-k 40 --seed 5",
             shared_path("models/stories260K"));
    CHECK(npugen(args, &a, NULL) == 0);
    CHECK(npugen(args, &b, NULL) == 0);
    CHECK(a && b && strcmp(a, b) == 0 && strlen(a) > 10);
    free(a), free(b);

    snprintf(args, sizeof args, "generate %s -p 'Once upon a time' -n 60 --stop Lily",
             shared_path("models/stories260K"));
    out = NULL;
    CHECK(npugen(args, &out, NULL) == 0);
    CHECK(out && strcmp(out, ", there was a little girl named \n") == 0);
    free(out);
}

static void test_generate_errors(void) {
    char args[1024];
    const char *m = shared_path("models/stories260K");
    expect_error("generate /nonexistent/model -p hi", 1, "/nonexistent/model");
    snprintf(args, sizeof args, "generate %s", m);
    expect_error(args, 2, "-p");
    snprintf(args, sizeof args, "generate %s -p hi --bogus", m);
    expect_error(args, 2, "--bogus");
    snprintf(args, sizeof args, "generate %s -p hi -n", m);
    expect_error(args, 2, "-n");
    snprintf(args, sizeof args, "generate %s -p hi -n ten", m);
    expect_error(args, 2, "ten");
    snprintf(args, sizeof args, "generate %s -p hi --top-p 1.5", m);
    expect_error(args, 1, "top_p");
    /* bad -c keys and devices are usage errors (exit 2), with the closest valid name */
    snprintf(args, sizeof args, "generate %s -p hi -c NUM_THREADZ=2", m);
    expect_error(args, 2, "did you mean NUM_THREADS?");
    snprintf(args, sizeof args, "generate %s -p hi -c MAX_PROMPT_LEN=64", m);
    expect_error(args, 2, "NPU device only");
    snprintf(args, sizeof args, "generate %s -p hi --device GPU", m);
    expect_error(args, 2, "GPU");
    snprintf(args, sizeof args, "chat %s --device=gpu", m);
    expect_error(args, 2, "gpu");
    snprintf(args, sizeof args, "bench %s -c NUM_THREAD=1", m);
    expect_error(args, 2, "did you mean NUM_THREADS?");
    snprintf(args, sizeof args, "generate %s --prompt-ids 1,x,3", m);
    expect_error(args, 2, "1,x,3");
    snprintf(args, sizeof args, "generate %s -p \"$(printf 'ab\\377\\376')\"", m);
    expect_error(args, 1, "UTF-8");
    snprintf(args, sizeof args, "generate %s -f /nonexistent/prompt.txt", m);
    expect_error(args, 1, "/nonexistent/prompt.txt");
}

static void test_bench_json(void) {
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "bench %s -p 16 -n 8 -t 1 --json --no-bandwidth", shared_path("models/stories260K"));
    CHECK(npugen(args, &out, &err) == 0);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    REQUIRE(j);
    const char *keys[] = {"load_ms",     "ttft_ms",         "prefill_tok_s", "decode_tok_s",       "peak_rss_mb",
                          "weights_mb",  "mem_bw_gbs",      "decode_bw_fraction", "threads",        "device"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK(cJSON_GetObjectItem(j, keys[i]) != NULL);
    CHECK(cJSON_GetObjectItem(j, "decode_tok_s")->valuedouble > 0);
    CHECK(cJSON_GetObjectItem(j, "threads")->valueint == 1);
    CHECK(cJSON_GetObjectItem(j, "gen_tokens")->valueint == 8);
    CHECK(strcmp(cJSON_GetObjectItem(j, "device")->valuestring, "CPU") == 0);
    cJSON_Delete(j);
    free(out), free(err);
    expect_error("bench /nonexistent/model", 1, "/nonexistent/model");
}

/* `npugen chat` on a pipe: one user turn per line, one reply line each; /reset and /exit work. */
static void test_chat_script(void) {
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "chat %s -n 6 --ignore-eos < /dev/null", shared_path("models/random-llama-chat"));
    CHECK(npugen(args, &out, &err) == 0);
    CHECK(out && out[0] == '\0');
    free(out), free(err);
    snprintf(args, sizeof args,
             "sh -c \"printf 'Hello there\\nHow are you?\\n/reset\\nAgain\\n/exit\\nnot read\\n' | %s chat %s -n 6 "
             "--ignore-eos --system 'Be brief.'\"",
             NPG_CLI, shared_path("models/random-llama-chat"));
    out = err = NULL;
    CHECK(run_cmd(args, &out, &err) == 0);
    CHECK(count_lines(out) == 3);
    free(out), free(err);
}

/* A turn with invalid UTF-8 is refused (one stderr line naming it) and the conversation goes on. */
static void test_chat_bad_turn(void) {
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "sh -c \"printf 'Hello\\nab\\377\\nAgain\\n' | %s chat %s -n 4 --ignore-eos\"", NPG_CLI,
             shared_path("models/random-llama-chat"));
    CHECK(run_cmd(args, &out, &err) == 1);
    CHECK(count_lines(out) == 3);
    CHECK(err && count_lines(err) == 1 && strstr(err, "UTF-8") && strstr(err, "byte 3 of 3"));
    free(out), free(err);
}

/* Output that cannot be written is an error, not a silent success. */
static void test_unwritable_stdout(void) {
    char args[1024], *err = NULL;
    snprintf(args, sizeof args, "sh -c \"%s generate %s -p Once -n 4 > /dev/full\"", NPG_CLI,
             shared_path("models/stories260K"));
    CHECK(run_cmd(args, NULL, &err) == 1);
    CHECK(err && count_lines(err) == 1 && strstr(err, "cannot write"));
    free(err);
    char ids[512];
    snprintf(ids, sizeof ids, "generate %s --prompt-ids ''", shared_path("models/stories260K"));
    expect_error(ids, 2, "empty");
}

int main(void) {
    RUN(test_help_and_version);
    RUN(test_generate_golden);
    RUN(test_generate_ids_and_seed);
    RUN(test_generate_errors);
    RUN(test_bench_json);
    RUN(test_chat_script);
    RUN(test_chat_bad_turn);
    RUN(test_unwritable_stdout);
    return npg_test_summary();
}
