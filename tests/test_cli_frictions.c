/* test_cli_frictions.c — what a new user tries first (issue 9, item 4): attached option values
 * (--opt=value, -xVALUE) and -f - on every command, devices in any case, "did you mean" for commands,
 * options and -c keys, usage errors exit 2, a printed random seed that reproduces the run, --system
 * implying --chat, the warning for --chat without a chat template, the note at the context limit,
 * the bare `npugen export`, bench's help and thread count, `tokenize -f` by length (NUL bytes kept)
 * and the messages for a GGUF file or a Hub repo id given as MODEL_DIR. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "testcli.h"
#include "testutil.h"

static bool has(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

/* Runs `npugen args`; checks the exit code and that stderr holds `needle` (when given); returns
 * stdout (caller frees) */
static char *expect(const char *args, int code, const char *needle) {
    char *out = NULL, *err = NULL;
    int rc = npugen(args, &out, &err);
    bool ok = rc == code && (!needle || has(err, needle));
    if (code == 2) /* a usage error: one line on stderr, nothing on stdout */
        ok = ok && count_lines(err) == 1 && out && !*out;
    if (!ok)
        fprintf(stderr, "  `npugen %s`: rc %d (want %d), stderr lacks '%s'?\n    stderr: %s", args, rc, code,
                needle ? needle : "", err ? err : "(none)\n");
    CHECK(ok);
    free(err);
    return out;
}

static void test_attached_values_and_stdin(void) {
    const char *m = shared_path("models/stories260K");
    char args[2048];
    snprintf(args, sizeof args, "generate %s -p 'Once upon' -n 6", m);
    char *want = expect(args, 0, NULL);
    snprintf(args, sizeof args, "generate %s --prompt='Once upon' --max-new-tokens=6", m);
    char *got = expect(args, 0, NULL);
    CHECK(want && got && strcmp(want, got) == 0);
    free(got);
    snprintf(args, sizeof args, "generate %s '-pOnce upon' -n6 -t1 -cNUM_THREADS=1", m);
    got = expect(args, 0, NULL);
    CHECK(want && got && strcmp(want, got) == 0);
    free(got);
    /* -f - reads the prompt from standard input */
    snprintf(args, sizeof args, "sh -c \"printf 'Once upon' | %s generate %s -f - -n 6\"", NPG_CLI, m);
    got = NULL;
    CHECK(run_cmd(args, &got, NULL) == 0);
    CHECK(want && got && strcmp(want, got) == 0);
    free(got);
    free(want);
    /* a flag given a value, a value option without one */
    snprintf(args, sizeof args, "generate %s -p hi --greedy=yes", m);
    free(expect(args, 2, "--greedy takes no value"));
    snprintf(args, sizeof args, "generate %s -p hi --max-new-tokens=", m);
    free(expect(args, 2, "--max-new-tokens"));
    /* other commands share the parser */
    char *empty_dir = make_temp_dir(), empty_file[1024];
    snprintf(empty_file, sizeof empty_file, "%s/empty.txt", empty_dir);
    FILE *ef = fopen(empty_file, "w");
    CHECK(ef && fclose(ef) == 0);
    snprintf(args, sizeof args, "tokenize --add-special-tokens %s --file=%s", shared_path("tokenizers/gpt2"),
             empty_file);
    got = expect(args, 0, NULL);
    CHECK(got && strcmp(got, "\n") == 0);
    free(got);
    rm_rf(empty_dir);
    free(empty_dir);
    char *tmp = make_temp_dir();
    char msgs[1024];
    snprintf(msgs, sizeof msgs, "%s/m.json", tmp);
    write_file(msgs, "[{\"role\": \"user\", \"content\": \"Hi\"}]", 35);
    snprintf(args, sizeof args, "template %s --messages %s", shared_path("tokenizers/qwen3"), msgs);
    want = expect(args, 0, NULL);
    snprintf(args, sizeof args, "template %s --messages=%s", shared_path("tokenizers/qwen3"), msgs);
    got = expect(args, 0, NULL);
    CHECK(want && got && strcmp(want, got) == 0 && has(got, "Hi"));
    free(want), free(got);
    rm_rf(tmp);
    free(tmp);
}

static void test_devices_any_case(void) {
    const char *m = shared_path("models/stories260K");
    char args[2048];
    snprintf(args, sizeof args, "generate %s -p Once -n 5 --device CPU", m);
    char *want = expect(args, 0, NULL);
    snprintf(args, sizeof args, "generate %s -p Once -n 5 --device cpu", m);
    char *got = expect(args, 0, NULL);
    CHECK(want && got && strcmp(want, got) == 0);
    free(got);
    /* NPU greedy output equals CPU's on this model (tests/test_npu_pipeline.c) */
    snprintf(args, sizeof args, "generate %s -p Once -n 5 --device=npu -c MAX_PROMPT_LEN=64", m);
    got = expect(args, 0, NULL);
    CHECK(want && got && strcmp(want, got) == 0);
    free(got);
    free(want);
    snprintf(args, sizeof args, "bench %s -p 4 -n 2 -t 1 --device Cpu --json --no-bandwidth", m);
    got = expect(args, 0, NULL);
    CHECK(has(got, "\"device\": \"CPU\""));
    free(got);
    snprintf(args, sizeof args, "generate %s -p Once -n 5 --device GPU", m);
    free(expect(args, 2, "GPU"));
}

static void test_did_you_mean(void) {
    const char *m = shared_path("models/stories260K");
    char args[2048];
    free(expect("genrate", 2, "did you mean generate?"));
    free(expect("tokenzie", 2, "did you mean tokenize?"));
    free(expect("frobnicate", 2, "unknown command 'frobnicate'"));
    snprintf(args, sizeof args, "generate %s -p hi --max-new-token 5", m);
    free(expect(args, 2, "did you mean --max-new-tokens?"));
    snprintf(args, sizeof args, "generate %s -p hi --temprature 0.5", m);
    free(expect(args, 2, "did you mean --temperature?"));
    snprintf(args, sizeof args, "chat %s --sytem hi", m);
    free(expect(args, 2, "did you mean --system?"));
    snprintf(args, sizeof args, "bench %s --jsno", m);
    free(expect(args, 2, "did you mean --json?"));
    snprintf(args, sizeof args, "tokenize %s --add-special-token hi", shared_path("tokenizers/gpt2"));
    free(expect(args, 2, "did you mean --add-special-tokens?"));
    snprintf(args, sizeof args, "export -m %s --weight-fromat int8 /tmp/x", m);
    free(expect(args, 2, "did you mean --weight-format?"));
    snprintf(args, sizeof args, "eval %s --txt x", m);
    free(expect(args, 2, "did you mean --text?"));
    snprintf(args, sizeof args, "generate %s -p hi --bogus", m);
    char *out = NULL, *err = NULL;
    CHECK(npugen(args, &out, &err) == 2);
    CHECK(has(err, "--bogus") && !has(err, "did you mean"));
    free(out), free(err);
    /* -c keys: the closest valid key, exit 2, on every command that takes -c */
    snprintf(args, sizeof args, "generate %s -p hi -c NUM_THREAD=1", m);
    free(expect(args, 2, "did you mean NUM_THREADS?"));
    snprintf(args, sizeof args, "compile %s -o /tmp/never.blob -c MAX_PROMPT_LENN=64", m);
    free(expect(args, 2, "did you mean MAX_PROMPT_LEN?"));
    snprintf(args, sizeof args, "compile %s -o /tmp/never.blob --device cpu", m);
    free(expect(args, 2, "only the NPU device"));
}

/* The "seed:" value printed by --perf, or -1. */
static long long seed_in(const char *err) {
    const char *p = err ? strstr(err, "seed:") : NULL;
    return p ? strtoll(p + 5, NULL, 10) : -1;
}

static void test_random_seed_printed(void) {
    const char *m = shared_path("models/stories260K");
    char args[2048], *out1 = NULL, *err1 = NULL, *out2 = NULL, *err2 = NULL;
    snprintf(args, sizeof args, "generate %s -p Once -n 24 --temperature 1.0 --perf", m);
    CHECK(npugen(args, &out1, &err1) == 0);
    CHECK(npugen(args, &out2, &err2) == 0);
    long long s1 = seed_in(err1), s2 = seed_in(err2);
    CHECK(s1 >= 0 && s2 >= 0 && s1 != s2); /* two draws of 62 bits */
    /* the printed seed reproduces the run */
    snprintf(args, sizeof args, "generate %s -p Once -n 24 --temperature 1.0 --seed %lld", m, s1);
    char *again = expect(args, 0, NULL);
    CHECK(out1 && again && strcmp(out1, again) == 0);
    free(again), free(out1), free(err1), free(out2), free(err2);
    /* greedy: no seed printed */
    snprintf(args, sizeof args, "generate %s -p Once -n 4 --perf", m);
    out1 = err1 = NULL;
    CHECK(npugen(args, &out1, &err1) == 0);
    CHECK(has(err1, "TTFT") && !has(err1, "seed:"));
    free(out1), free(err1);
    /* bench --json: the seed when sampling, null when greedy */
    snprintf(args, sizeof args, "bench %s -p 4 -n 4 -t 1 --temperature 0.8 --json --no-bandwidth", m);
    char *json = expect(args, 0, NULL);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    CHECK(j && cJSON_IsNumber(cJSON_GetObjectItem(j, "seed")));
    cJSON_Delete(j);
    free(json);
    snprintf(args, sizeof args, "bench %s -p 4 -n 4 -t 1 --json --no-bandwidth", m);
    json = expect(args, 0, NULL);
    j = json ? cJSON_Parse(json) : NULL;
    CHECK(j && cJSON_IsNull(cJSON_GetObjectItem(j, "seed")));
    cJSON_Delete(j);
    free(json);
}

/* The prompt token count that --perf reports. */
static long input_tokens(const char *args) {
    char *out = NULL, *err = NULL;
    long n = -1;
    if (npugen(args, &out, &err) == 0 && has(err, "input tokens:"))
        n = strtol(strstr(err, "input tokens:") + 13, NULL, 10);
    free(out), free(err);
    return n;
}

static void test_system_implies_chat_and_template_warning(void) {
    const char *m = shared_path("models/random-llama-chat");
    char args[2048];
    snprintf(args, sizeof args, "generate %s -p hi -n 1 --perf", m);
    long plain = input_tokens(args);
    snprintf(args, sizeof args, "generate %s -p hi -n 1 --perf --system 'Be brief.'", m);
    long sys_only = input_tokens(args);
    snprintf(args, sizeof args, "generate %s -p hi -n 1 --perf --chat --system 'Be brief.'", m);
    long chat_sys = input_tokens(args);
    CHECK(plain > 0 && sys_only > plain && sys_only == chat_sys);
    /* a model with a template: no warning */
    snprintf(args, sizeof args, "generate %s -p hi -n 2 --chat", m);
    char *out = NULL, *err = NULL;
    CHECK(npugen(args, &out, &err) == 0 && err && !has(err, "warning"));
    free(out), free(err);
    /* a model without one: the prompt is used as-is, and stderr says so */
    snprintf(args, sizeof args, "generate %s -p Once -n 2 --chat", shared_path("models/stories260K"));
    out = err = NULL;
    CHECK(npugen(args, &out, &err) == 0);
    CHECK(has(err, "warning") && has(err, "no chat template") && has(err, "as-is") && count_lines(err) == 1);
    free(out), free(err);
    snprintf(args, sizeof args, "chat %s -n 2 < /dev/null", shared_path("models/stories260K"));
    out = err = NULL;
    CHECK(npugen(args, &out, &err) == 0 && has(err, "no chat template"));
    free(out), free(err);
}

static void test_context_limit_said(void) {
    char args[2048], *out = NULL, *err = NULL;
    /* the NPU plan's context: 64 + 64 positions */
    snprintf(args, sizeof args,
             "generate %s -p Once -n 1000 --ignore-eos --device NPU -c MAX_PROMPT_LEN=64 -c MIN_RESPONSE_LEN=64 --perf",
             shared_path("models/stories260K"));
    CHECK(npugen(args, &out, &err) == 0);
    CHECK(has(err, "end of the context") && has(err, "finish reason: context"));
    CHECK(has(err, "generated tokens:            126"));
    free(out), free(err);
    snprintf(args, sizeof args, "generate %s -p Once -n 3 --ignore-eos --perf", shared_path("models/stories260K"));
    out = err = NULL;
    CHECK(npugen(args, &out, &err) == 0);
    CHECK(!has(err, "end of the context") && has(err, "finish reason:") && has(err, "length"));
    free(out), free(err);
}

static void test_bare_export(void) {
    char *tmp = make_temp_dir();
    char args[2048], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "export -m %s %s/out", shared_path("models/random-llama-gqa"), tmp);
    CHECK(npugen(args, &out, &err) == 0);
    CHECK(has(err, "--weight-format int4 --sym --group-size -1 --ratio 1.0"));
    free(out), free(err);
    snprintf(args, sizeof args, "%s/out/npugen_export.json", tmp);
    char *meta = read_all(args, NULL);
    cJSON *j = meta ? cJSON_Parse(meta) : NULL;
    CHECK(j && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "weight_format")), "int4") == 0);
    CHECK(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "sym")));
    CHECK(j && cJSON_GetObjectItem(j, "group_size")->valueint == -1);
    cJSON_Delete(j);
    free(meta);
    snprintf(args, sizeof args, "generate %s/out -p Hello -n 3", tmp);
    free(expect(args, 0, NULL));
    /* an explicit int4 still needs --sym */
    snprintf(args, sizeof args, "export -m %s --weight-format int4 %s/out2", shared_path("models/random-llama-gqa"), tmp);
    free(expect(args, 2, "--sym"));
    rm_rf(tmp);
    free(tmp);
}

static void test_bench_help_and_threads(void) {
    char *help = expect("bench --help", 0, NULL);
    size_t n_opt = 0;
    for (const char *p = help; p && (p = strstr(p, "\n  -n")) != NULL; p++)
        n_opt++;
    CHECK(n_opt == 1 && has(help, "default 64"));
    free(help);
    char args[2048];
    snprintf(args, sizeof args, "bench %s -p 4 -n 2 --json --no-bandwidth", shared_path("models/stories260K"));
    char *json = expect(args, 0, NULL);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(j && cJSON_GetObjectItem(j, "threads")->valueint == (int)cores && cores > 0);
    cJSON_Delete(j);
    free(json);
    snprintf(args, sizeof args, "bench %s -p 4 -n 2 -c NUM_THREADS=1 --json --no-bandwidth",
             shared_path("models/stories260K"));
    json = expect(args, 0, NULL);
    j = json ? cJSON_Parse(json) : NULL;
    CHECK(j && cJSON_GetObjectItem(j, "threads")->valueint == 1);
    cJSON_Delete(j);
    free(json);
}

static void test_tokenize_nul(void) {
    char *tmp = make_temp_dir();
    char path[1024], args[2048];
    snprintf(path, sizeof path, "%s/nul.txt", tmp);
    write_file(path, "a\0b", 3);
    /* Hugging Face: "a", "\0" (byte 0 is 'Ā', id 188 in GPT-2's byte-level vocabulary), "b" */
    snprintf(args, sizeof args, "tokenize %s -f %s", shared_path("tokenizers/gpt2"), path);
    char *out = expect(args, 0, NULL);
    CHECK(out && strcmp(out, "64 188 65\n") == 0);
    free(out);
    /* SentencePiece byte fallback: "▁a", <0x00>, "b" */
    snprintf(args, sizeof args, "tokenize %s -f %s", shared_path("tokenizers/tinyllama-chat"), path);
    out = expect(args, 0, NULL);
    CHECK(out && strcmp(out, "263 3 29890\n") == 0);
    free(out);
    /* generate takes text: a NUL byte is reported, not a silently cut prompt */
    snprintf(args, sizeof args, "generate %s -f %s -n 2", shared_path("models/stories260K"), path);
    free(expect(args, 1, "NUL byte at offset 1"));
    snprintf(args, sizeof args, "sh -c \"printf 'a\\0b' | %s tokenize %s -f -\"", NPG_CLI, shared_path("tokenizers/gpt2"));
    out = NULL;
    CHECK(run_cmd(args, &out, NULL) == 0 && out && strcmp(out, "64 188 65\n") == 0);
    free(out);
    rm_rf(tmp);
    free(tmp);
    /* the public length-taking encode */
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/gpt2"), &tok));
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(npg_tokenizer_encode_n(tok, "a\0b", 3, false, &ids, &n) == NPG_OK && n == 3 && ids[1] == 188);
    npg_free(ids);
    npg_tokenizer_free(tok);
}

static void test_model_dir_messages(void) {
    free(expect("generate x.gguf -p hi", 1, "x.gguf: no such file"));
    free(expect("generate x.gguf -p hi", 1, "`npugen export` folder"));
    free(expect("generate TinyLlama/TinyLlama-1.1B-Chat-v1.0 -p hi", 1,
                "npugen pull TinyLlama/TinyLlama-1.1B-Chat-v1.0"));
    free(expect("bench Qwen/Qwen3-0.6B", 1, "npugen pull Qwen/Qwen3-0.6B"));
    free(expect("generate /nonexistent/model -p hi", 1, "Hugging Face model folder"));
    char args[2048];
    snprintf(args, sizeof args, "generate %s/config.json -p hi", shared_path("models/stories260K"));
    free(expect(args, 1, "not a folder"));
}

int main(void) {
    RUN(test_attached_values_and_stdin);
    RUN(test_devices_any_case);
    RUN(test_did_you_mean);
    RUN(test_random_seed_printed);
    RUN(test_system_implies_chat_and_template_warning);
    RUN(test_context_limit_said);
    RUN(test_bare_export);
    RUN(test_bench_help_and_threads);
    RUN(test_tokenize_nul);
    RUN(test_model_dir_messages);
    return npg_test_summary();
}
