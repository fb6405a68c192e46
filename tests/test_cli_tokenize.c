/* test_cli_tokenize.c — `npugen tokenize` / `npugen detokenize`: expected stdout and exit codes on
 * the shared tokenizer folders (ids from Hugging Face tokenizers), a prompt file, and the usage and
 * runtime errors (exit 2 / exit 1 with one line "npugen CMD: ..." on stderr). */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Runs `npugen ARGS`; checks the exit code, stdout (when want_out) and that stderr contains
 * err_frag (when given). */
static void expect(const char *args, int want_rc, const char *want_out, const char *err_frag) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", NPG_CLI, args);
    char *out = NULL, *err = NULL;
    int rc = run_cmd(cmd, &out, &err);
    bool ok = rc == want_rc && (!want_out || (out && strcmp(out, want_out) == 0)) &&
              (!err_frag || (err && strstr(err, err_frag)));
    if (want_rc != 0 && err) /* every failure is one line on stderr, prefixed with the command */
        ok = ok && strncmp(err, "npugen ", 7) == 0 && strchr(err, '\n') == err + strlen(err) - 1;
    if (!ok)
        fprintf(stderr, "  `npugen %s`: rc %d (want %d)\n    stdout: %s    stderr: %s\n", args, rc, want_rc,
                out ? out : "(none)\n", err ? err : "(none)\n");
    CHECK(ok);
    free(out);
    free(err);
}

static const char *dir(const char *rel) {
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "'%s'", shared_path(rel));
    return buf[k];
}

static void test_tokenize(void) {
    char args[2048];
    snprintf(args, sizeof args, "tokenize %s 'Hello world'", dir("tokenizers/tinyllama-chat"));
    expect(args, 0, "15043 3186\n", NULL);
    snprintf(args, sizeof args, "tokenize %s --add-special-tokens 'Hello world'", dir("tokenizers/tinyllama-chat"));
    expect(args, 0, "1 15043 3186\n", NULL);
    snprintf(args, sizeof args, "tokenize --add-special-tokens %s 'Once upon a time, there was a little girl named Lily.'",
             dir("models/stories260K"));
    expect(args, 0, "1 403 407 261 378 432 383 286 261 376 298 315 421 395 317 426\n", NULL);
    snprintf(args, sizeof args, "tokenize %s 'Hello world'", dir("tokenizers/gpt2"));
    expect(args, 0, "15496 995\n", NULL);
    snprintf(args, sizeof args, "tokenize %s -- '-x'", dir("tokenizers/gpt2"));
    expect(args, 0, "12 87\n", NULL);
    snprintf(args, sizeof args, "tokenize %s ''", dir("tokenizers/gpt2"));
    expect(args, 0, "\n", NULL);

    /* -f FILE */
    char *tmp = make_temp_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/prompt.txt", tmp);
    write_file(path, "Hello world", 11);
    snprintf(args, sizeof args, "tokenize %s -f '%s'", dir("tokenizers/tinyllama-chat"), path);
    expect(args, 0, "15043 3186\n", NULL);
    write_file(path, "bad \xFF utf-8", 11);
    snprintf(args, sizeof args, "tokenize %s -f '%s'", dir("tokenizers/tinyllama-chat"), path);
    expect(args, 1, "", "UTF-8");
    /* a folder without tokenizer.json */
    snprintf(args, sizeof args, "tokenize '%s' hi", tmp);
    expect(args, 1, "", "tokenizer.json");
    snprintf(args, sizeof args, "tokenize %s -f '%s/missing.txt'", dir("tokenizers/gpt2"), tmp);
    expect(args, 1, "", "missing.txt");
    rm_rf(tmp);
    free(tmp);
}

static void test_detokenize(void) {
    char args[2048];
    snprintf(args, sizeof args, "detokenize %s 1 15043 3186", dir("tokenizers/tinyllama-chat"));
    expect(args, 0, "<s> Hello world\n", NULL);
    snprintf(args, sizeof args, "detokenize %s --skip-special-tokens 1 15043 3186", dir("tokenizers/tinyllama-chat"));
    expect(args, 0, "Hello world\n", NULL);
    snprintf(args, sizeof args, "detokenize %s 15496 995 50256", dir("tokenizers/gpt2"));
    expect(args, 0, "Hello world<|endoftext|>\n", NULL);
    snprintf(args, sizeof args, "detokenize %s 32000", dir("tokenizers/tinyllama-chat"));
    expect(args, 1, "", "32000");
    snprintf(args, sizeof args, "detokenize %s -7", dir("tokenizers/tinyllama-chat"));
    expect(args, 1, "", "-7");
}

static void test_usage_errors(void) {
    char args[2048];
    expect("tokenize", 2, "", "missing MODEL_DIR");
    expect("detokenize", 2, "", "missing MODEL_DIR");
    snprintf(args, sizeof args, "tokenize %s", dir("tokenizers/gpt2"));
    expect(args, 2, "", "missing TEXT");
    snprintf(args, sizeof args, "tokenize %s a b", dir("tokenizers/gpt2"));
    expect(args, 2, "", "unexpected argument");
    snprintf(args, sizeof args, "tokenize %s --bogus a", dir("tokenizers/gpt2"));
    expect(args, 2, "", "--bogus");
    snprintf(args, sizeof args, "tokenize %s a -f x", dir("tokenizers/gpt2"));
    expect(args, 2, "", "not both");
    snprintf(args, sizeof args, "tokenize %s -f", dir("tokenizers/gpt2"));
    expect(args, 2, "", "needs a value");
    snprintf(args, sizeof args, "detokenize %s", dir("tokenizers/gpt2"));
    expect(args, 2, "", "missing token ids");
    snprintf(args, sizeof args, "detokenize %s 1 x2", dir("tokenizers/gpt2"));
    expect(args, 2, "", "x2");
    snprintf(args, sizeof args, "detokenize %s --bogus 1", dir("tokenizers/gpt2"));
    expect(args, 2, "", "--bogus");
    expect("tokenize /nonexistent/npugen-dir hi", 1, "", "/nonexistent/npugen-dir/tokenizer.json");
    expect("detokenize /nonexistent/npugen-dir 1", 1, "", "/nonexistent/npugen-dir/tokenizer.json");
}

static void test_help(void) {
    char *out = NULL;
    CHECK(run_cmd(NPG_CLI " tokenize --help", &out, NULL) == 0);
    CHECK(out && strstr(out, "usage: npugen tokenize MODEL_DIR"));
    free(out);
    out = NULL;
    CHECK(run_cmd(NPG_CLI " detokenize --help", &out, NULL) == 0);
    CHECK(out && strstr(out, "usage: npugen detokenize MODEL_DIR"));
    free(out);
}

int main(void) {
    RUN(test_tokenize);
    RUN(test_detokenize);
    RUN(test_usage_errors);
    RUN(test_help);
    return npg_test_summary();
}
