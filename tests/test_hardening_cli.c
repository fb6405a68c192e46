/* test_hardening_cli.c — regression tests for the command-line defects of issue 15
 * (docs/reliability.md), run through the built CLI:
 *   defect 4:  `eval` on a too-short text divided by ctx = 0 (SIGFPE); `--ctx 2 --json` printed -nan
 *   defect 5:  `-f /dev/zero` grew without bound, `-f DIR` was an empty prompt, a FIFO named
 *              config.json / model.safetensors / generation_config.json / tokenizer.json or
 *              --messages blocked forever
 *   defect 6:  `export --overwrite` deleted any OUT_DIR, even one holding the source model
 *   defect 10: unclear messages (empty --messages, --encrypt-key-file DIR, a full chat context)
 *   defect 11: killed exports / compiles left OUT.tmp-* folders and X.tmp.PID files nobody cleaned
 * Every command runs under `timeout` so that a regression to blocking fails instead of hanging. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/file.h"
#include "compress/eval.h"
#include "testutil.h"

static char *g_tmp;

/* Runs `npugen ARGS` (a shell fragment) under a 60 s timeout; returns the exit status. */
static int cli(const char *args, char **out, char **err) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout 60 %s %s", NPG_CLI, args);
    return run_cmd(cmd, out, err);
}

/* Expects exit status `rc` and `frag` in stderr. */
static bool expect(const char *args, int rc, const char *frag) {
    char *out = NULL, *err = NULL;
    int got = cli(args, &out, &err);
    bool ok = got == rc && err && strstr(err, frag) != NULL;
    if (!ok)
        fprintf(stderr, "  npugen %s\n    want rc %d and '%s'; got rc %d, stderr: %s\n", args, rc, frag, got,
                err ? err : "(none)");
    free(out);
    free(err);
    return ok;
}

static char *tmp_path(const char *name) { return npg_path_join(g_tmp, name); }

/* A copy of stories260K in g_tmp/<name> (small: 1 MB). */
static char *copy_model(const char *name) {
    char *dst = tmp_path(name);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp -rL %s %s", shared_path("models/stories260K"), dst);
    if (system(cmd) != 0) {
        free(dst);
        return NULL;
    }
    return dst;
}

static void test_defect04_eval_short_text(void) {
    const char *m = shared_path("models/stories260K");
    char *empty = tmp_path("empty.txt"), *shorty = tmp_path("short.txt"), args[4096];
    write_file(empty, "", 0);
    write_file(shorty, "Once upon a time there was a cat", 32);
    snprintf(args, sizeof args, "eval %s --text %s", m, empty);
    CHECK(expect(args, 1, "too short to score"));
    snprintf(args, sizeof args, "eval %s --text %s --ctx 2 --json", m, shorty);
    CHECK(expect(args, 2, "--ctx"));
    /* the smallest window that scores: valid JSON, a finite number */
    snprintf(args, sizeof args, "eval %s --text %s --ctx 3 --json", m, shorty);
    char *out = NULL, *err = NULL;
    CHECK(cli(args, &out, &err) == 0);
    CHECK(out && strncmp(out, "{\"perplexity\": ", 15) == 0);
    CHECK(out && !strstr(out, "nan") && !strstr(out, "inf"));
    double ppl = out ? strtod(out + 15, NULL) : 0;
    CHECK(ppl > 1.0 && ppl < 512.0);
    free(out);
    free(err);
    /* the library refuses the same */
    npg_eval_options o = {0};
    o.ctx = 2;
    npg_eval_result r;
    CHECK(npg_eval_text(m, NULL, "Once upon a time", &o, &r) == NPG_ERR_INVALID_ARGUMENT);
    o.ctx = 0;
    CHECK(npg_eval_text(m, NULL, "", &o, &r) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "too short to score") != NULL);
    free(empty);
    free(shorty);
}

static void test_defect05_bounded_reads(void) {
    const char *m = shared_path("models/stories260K");
    char args[4096];
    snprintf(args, sizeof args, "generate %s -f /dev/zero -n 2", m);
    CHECK(expect(args, 1, "device"));
    snprintf(args, sizeof args, "generate %s -f %s -n 2", m, g_tmp);
    CHECK(expect(args, 1, "is a directory"));
    char *nul = tmp_path("nul.txt");
    write_file(nul, "Once\0upon", 9);
    snprintf(args, sizeof args, "generate %s -f %s -n 2", m, nul);
    CHECK(expect(args, 1, "NUL byte at offset 4"));
    /* tokenize reads by length: the NUL is a character of the text (issue 9), not an end */
    snprintf(args, sizeof args, "tokenize %s -f %s", m, nul);
    CHECK(expect(args, 0, ""));
    /* a (sparse) file past the size limit is refused before it is read */
    char *big = tmp_path("big.txt");
    FILE *fp = fopen(big, "wb");
    REQUIRE(fp);
    CHECK(ftruncate(fileno(fp), (off_t)300 << 20) == 0);
    fclose(fp);
    snprintf(args, sizeof args, "generate %s -f %s -n 2", m, big);
    CHECK(expect(args, 1, "MiB limit"));
    unlink(big);
    /* a pipe still works for -f */
    snprintf(args, sizeof args, "generate %s -f <(printf 'Once upon a time') -n 2", m);
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "timeout 120 bash -c \"%s %s\"", NPG_CLI, args);
    CHECK(run_cmd(cmd, &out, NULL) == 0);
    free(out);
    /* FIFOs under the names the loaders open: refused at once, not waited on */
    const char *names[] = {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"};
    for (size_t i = 0; i < 4; i++) {
        char *dir = copy_model("fifo-model");
        REQUIRE(dir);
        char *f = npg_path_join(dir, names[i]);
        CHECK(unlink(f) == 0 && mkfifo(f, 0600) == 0);
        snprintf(args, sizeof args, "generate %s -p hi -n 2", dir);
        CHECK(expect(args, 1, "FIFO"));
        free(f);
        rm_rf(dir);
        free(dir);
    }
    char *fifo = tmp_path("messages.fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    snprintf(args, sizeof args, "template %s --messages %s", shared_path("models/random-llama-chat"), fifo);
    CHECK(expect(args, 1, "FIFO"));
    /* the library reads: a FIFO is refused without blocking (in a child under alarm(), so that a
     * regression fails this test instead of hanging it) */
    char *data = NULL;
    size_t len = 0;
    pid_t child = fork();
    if (child == 0) {
        alarm(30);
        npg_status st = npg_read_file(fifo, &data, &len);
        _exit(st == NPG_ERR_IO && strstr(npg_last_error(), "FIFO") ? 0 : 1);
    }
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(npg_read_file(g_tmp, &data, &len) == NPG_ERR_IO);
    CHECK(strstr(npg_last_error(), "directory") != NULL);
    unlink(fifo);
    free(fifo);
    free(nul);
    free(big);
}

static void test_defect06_export_overwrite(void) {
    const char *src = shared_path("models/stories260K");
    char args[4096], cmd[8192];
    /* OUT_DIR holding the source model: refused, nothing deleted */
    char *parent = tmp_path("parent");
    REQUIRE(mkdir(parent, 0755) == 0);
    snprintf(cmd, sizeof cmd, "cp -rL %s %s/src", src, parent);
    REQUIRE(system(cmd) == 0);
    snprintf(args, sizeof args, "export -m %s/src --weight-format int8 --overwrite --quiet %s", parent, parent);
    CHECK(expect(args, 1, "inside the output folder"));
    snprintf(cmd, sizeof cmd, "%s/src/model.safetensors", parent);
    CHECK(npg_path_exists(cmd));
    /* a folder with unrelated files: refused */
    char *plain = tmp_path("plain");
    REQUIRE(mkdir(plain, 0755) == 0);
    snprintf(cmd, sizeof cmd, "%s/notes.txt", plain);
    write_file(cmd, "keep me", 7);
    snprintf(args, sizeof args, "export -m %s --weight-format int8 --overwrite --quiet %s", src, plain);
    CHECK(expect(args, 1, "is not an npugen export output"));
    CHECK(npg_path_exists(cmd));
    /* a file: refused */
    char *afile = tmp_path("afile");
    write_file(afile, "x", 1);
    snprintf(args, sizeof args, "export -m %s --weight-format int8 --overwrite --quiet %s", src, afile);
    CHECK(expect(args, 1, "not a folder"));
    /* an earlier export: replaced; with an extra file or the model's weights added: refused */
    char *out = tmp_path("out");
    snprintf(args, sizeof args, "export -m %s --weight-format int8 --quiet %s", src, out);
    CHECK(cli(args, NULL, NULL) == 0);
    snprintf(args, sizeof args, "export -m %s --weight-format int4 --sym --overwrite --quiet %s", src, out);
    CHECK(cli(args, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, "%s/npugen_export.json", out);
    char *meta = read_all(cmd, NULL);
    CHECK(meta && strstr(meta, "int4") != NULL);
    free(meta);
    snprintf(cmd, sizeof cmd, "%s/notes.txt", out);
    write_file(cmd, "mine", 4);
    CHECK(expect(args, 1, "notes.txt"));
    CHECK(npg_path_exists(cmd));
    unlink(cmd);
    snprintf(cmd, sizeof cmd, "cp %s/model.safetensors %s/", src, out);
    CHECK(system(cmd) == 0);
    CHECK(expect(args, 1, "model weights"));
    free(parent);
    free(plain);
    free(afile);
    free(out);
}

static void test_defect10_messages(void) {
    char args[4096];
    char *empty = tmp_path("empty.json");
    write_file(empty, "[]", 2);
    snprintf(args, sizeof args, "template %s --messages %s", shared_path("models/random-gemma3-vlm"), empty);
    CHECK(expect(args, 1, "the messages list is empty"));
    /* invalid UTF-8 in a template: the error names the template and the position */
    char *one = tmp_path("one.json"), *bad = tmp_path("bad.jinja");
    const char *msgs = "[{\"role\": \"user\", \"content\": \"hi\"}]";
    write_file(one, msgs, strlen(msgs));
    write_file(bad, "ab\xff{{ 1 }}", 10);
    snprintf(args, sizeof args, "template --template %s --messages %s", bad, one);
    CHECK(expect(args, 1, "bad.jinja: line 1, column 3: the template is not valid UTF-8"));
    /* --encrypt-key-file naming a folder */
    snprintf(args, sizeof args, "compile %s --device NPU -o %s/x.blob --encrypt-key-file %s",
             shared_path("models/stories260K"), g_tmp, g_tmp);
    CHECK(expect(args, 2, "is a directory"));
    /* a full conversation suggests /reset */
    char *turns = tmp_path("turns.txt");
    FILE *fp = fopen(turns, "w");
    REQUIRE(fp);
    for (int t = 0; t < 6; t++) {
        for (int w = 0; w < 12; w++)
            fputs("Once upon a time there was a little cat ", fp);
        fputc('\n', fp);
    }
    fclose(fp);
    snprintf(args, sizeof args, "chat %s -n 40 < %s", shared_path("models/stories260K"), turns);
    CHECK(expect(args, 1, "type /reset to start a new one"));
    /* a CACHE_DIR that is a file */
    char *f = tmp_path("cache-file");
    write_file(f, "x", 1);
    snprintf(args, sizeof args, "generate %s --device NPU -c CACHE_DIR=%s -p hi -n 2", shared_path("models/stories260K"),
             f);
    CHECK(expect(args, 1, "is not a folder"));
    free(f);
    free(turns);
    free(empty);
    free(one);
    free(bad);
}

/* The pid of a process that has exited (and been reaped): a dead writer. */
static pid_t dead_pid(void) {
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    int status;
    waitpid(p, &status, 0);
    return p;
}

static void test_defect11_stale_temporaries(void) {
    const char *src = shared_path("models/stories260K");
    pid_t dead = dead_pid();
    char stale[1024], live[1024], args[4096], inside[1100];
    snprintf(stale, sizeof stale, "%s/exp.tmp-%ld-AbCdEf", g_tmp, (long)dead);
    snprintf(live, sizeof live, "%s/exp.tmp-%ld-XyZxYz", g_tmp, (long)getpid());
    REQUIRE(mkdir(stale, 0755) == 0 && mkdir(live, 0755) == 0);
    snprintf(inside, sizeof inside, "%s/model.npgw", stale);
    write_file(inside, "partial", 7);
    snprintf(args, sizeof args, "export -m %s --weight-format int8 --quiet %s/exp", src, g_tmp);
    CHECK(cli(args, NULL, NULL) == 0);
    CHECK(!npg_path_exists(stale)); /* its writer is dead */
    CHECK(npg_path_exists(live));   /* ours is alive: left alone */
    rm_rf(live);
    /* --overwrite: OUT_DIR exists before and after, no temporaries remain */
    snprintf(args, sizeof args, "export -m %s --weight-format fp16 --overwrite --quiet %s/exp", src, g_tmp);
    CHECK(cli(args, NULL, NULL) == 0);
    snprintf(inside, sizeof inside, "%s/exp/model.npgw", g_tmp);
    CHECK(npg_path_exists(inside));
    CHECK(count_dir_entries(g_tmp, ".tmp") == 0);
    /* a blob's temporary file of a dead compile */
    char blob[1024], stale_blob[1100], live_blob[1100];
    snprintf(blob, sizeof blob, "%s/plan.blob", g_tmp);
    snprintf(stale_blob, sizeof stale_blob, "%s.tmp.%ld", blob, (long)dead);
    snprintf(live_blob, sizeof live_blob, "%s.tmp.%ld", blob, (long)getpid());
    write_file(stale_blob, "partial blob", 12);
    write_file(live_blob, "in progress", 11);
    snprintf(args, sizeof args, "compile %s --device NPU -o %s -c MAX_PROMPT_LEN=32 -c MIN_RESPONSE_LEN=16", src, blob);
    CHECK(cli(args, NULL, NULL) == 0);
    CHECK(npg_path_exists(blob));
    CHECK(!npg_path_exists(stale_blob));
    CHECK(npg_path_exists(live_blob));
    unlink(live_blob);
}

int main(void) {
    g_tmp = make_temp_dir();
    RUN(test_defect04_eval_short_text);
    RUN(test_defect05_bounded_reads);
    RUN(test_defect06_export_overwrite);
    RUN(test_defect10_messages);
    RUN(test_defect11_stale_temporaries);
    rm_rf(g_tmp);
    free(g_tmp);
    return npg_test_summary();
}
