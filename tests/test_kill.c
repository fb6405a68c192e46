/* test_kill.c — atomic outputs under SIGKILL: `npugen export`, `npugen compile` (blob with weights),
 * a blob exported by generate (EXPORT_BLOB) and a CACHE_DIR entry written by generate are killed at
 * random points of their run; afterwards the output is either absent or complete — whatever sits under
 * the final name loads and gives the text of an uninterrupted run, nothing partial loads as valid —
 * and a rerun succeeds. Each operation is timed once uninterrupted, then killed after a uniform random
 * delay in [0.2, 1.1] × that time (most trials land inside the run, its final writes included; some
 * after it ends). The seed is
 * printed; NPG_KILL_SEED=N replays a run. Temporaries left by a killed writer are counted and printed
 * (cleaning them is the next run's job, not asserted here). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

enum { TRIALS = 6 };

static uint64_t rng_state;
static double rand01(void) { /* splitmix64: no libc global state shared with the library */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Starts the CLI with argv (NULL-terminated, argv[0] ignored), stdout/stderr to /dev/null. */
static pid_t spawn_cli(char *const *args) {
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)NPG_CLI;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    if (posix_spawn(&pid, NPG_CLI, &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static int run_cli(char *const *args) {
    pid_t pid = spawn_cli(args);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs and SIGKILLs after `delay` seconds (if still running). Returns true when it was killed. */
static bool run_and_kill(char *const *args, double delay) {
    pid_t pid = spawn_cli(args);
    if (pid < 0)
        return false;
    double end = now_s() + delay;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return false; /* finished first */
        if (now_s() >= end)
            break;
        usleep(500);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return true;
}

/* Entries of dir whose name starts with prefix (count), for temporaries. */
static int count_prefixed(const char *dir, const char *prefix, const char *except) {
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && (!except || strcmp(e->d_name, except) != 0))
            n++;
    closedir(d);
    return n;
}

/* Greedy 8 tokens through a pipeline; malloc'd text or NULL (the reason on stderr). imported: optional. */
static char *generate_with(const char *model, const char *device, const char *k1, const char *v1, const char *k2,
                           const char *v2, bool *imported) {
    npg_llm_pipeline *pipe = NULL;
    npg_status st;
    if (k2)
        st = npg_llm_pipeline_create(model, device, 10, &pipe, "MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64",
                                     "NUM_THREADS", "1", k1, v1, k2, v2);
    else if (k1)
        st = npg_llm_pipeline_create(model, device, 8, &pipe, "MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64",
                                     "NUM_THREADS", "1", k1, v1);
    else
        st = npg_llm_pipeline_create(model, device, 2, &pipe, "NUM_THREADS", "1");
    if (st != NPG_OK) {
        fprintf(stderr, "  load %s: %s\n", model, npg_last_error());
        return NULL;
    }
    npg_generation_config *cfg = NULL;
    npg_decoded_results *res = NULL;
    char *text = NULL;
    size_t size = 0;
    st = npg_generation_config_create(&cfg);
    if (st == NPG_OK)
        st = npg_generation_config_set_max_new_tokens(cfg, 8);
    if (st == NPG_OK)
        st = npg_llm_pipeline_generate(pipe, "Hello there", cfg, NULL, &res);
    if (st == NPG_OK)
        st = npg_decoded_results_get_string(res, NULL, &size);
    if (st == NPG_OK && (text = malloc(size)) != NULL)
        st = npg_decoded_results_get_string(res, text, &size);
    if (st == NPG_OK && imported) {
        const npg_perf_metrics *m = NULL;
        st = npg_decoded_results_get_perf_metrics(res, &m);
        if (st == NPG_OK)
            st = npg_perf_metrics_get_plan_imported(m, imported);
    }
    if (st != NPG_OK) {
        fprintf(stderr, "  generate with %s: %s\n", model, npg_last_error());
        free(text);
        text = NULL;
    }
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
    return text;
}

static bool same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static char work[] = "/tmp/npg-kill-XXXXXX";
static const char *model = NULL; /* random-llama-chat: 4 MB of weights, a 1.8 MB tokenizer */

/* ---- npugen export ------------------------------------------------------------------------------ */

static void test_export(void) {
    char out[600];
    snprintf(out, sizeof out, "%s/export", work);
    char *args[] = {"export", "-m", (char *)model, "--weight-format", "int8", "--quiet", "--overwrite", out, NULL};
    double t0 = now_s();
    REQUIRE(run_cli(args) == 0);
    double full = now_s() - t0;
    char *expect = generate_with(out, "CPU", NULL, NULL, NULL, NULL, NULL);
    REQUIRE(expect);
    int killed = 0, present = 0, leftovers = 0;
    for (int i = 0; i < TRIALS; i++) {
        rm_rf(out);
        killed += run_and_kill(args, (0.2 + 0.9 * rand01()) * full);
        struct stat st;
        if (stat(out, &st) == 0) { /* it is there: it must be complete */
            present++;
            char *got = generate_with(out, "CPU", NULL, NULL, NULL, NULL, NULL);
            CHECK(same(got, expect));
            free(got);
        }
        leftovers += count_prefixed(work, "export.", NULL);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'/export.*", work); /* count each trial's own */
        CHECK(system(cmd) == 0);
        CHECK(run_cli(args) == 0); /* the rerun succeeds */
        char *got = generate_with(out, "CPU", NULL, NULL, NULL, NULL, NULL);
        CHECK(same(got, expect));
        free(got);
    }
    fprintf(stderr, "  export (%.2f s): %d trials, %d killed, output present after %d, %d temporaries left\n", full,
            TRIALS, killed, present, leftovers);
    free(expect);
}

/* ---- npugen compile and EXPORT_BLOB --------------------------------------------------------------- */

static void blob_trials(const char *what, char *const *args, const char *blob) {
    unlink(blob);
    double t0 = now_s();
    REQUIRE(run_cli(args) == 0);
    double full = now_s() - t0;
    bool imported = false;
    char *expect = generate_with(model, "NPU", "BLOB_PATH", blob, NULL, NULL, &imported);
    REQUIRE(expect && imported);
    int killed = 0, present = 0, leftovers = 0;
    const char *base = strrchr(blob, '/') + 1;
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s.", base);
    for (int i = 0; i < TRIALS; i++) {
        unlink(blob);
        killed += run_and_kill(args, (0.2 + 0.9 * rand01()) * full);
        if (access(blob, F_OK) == 0) {
            present++;
            imported = false;
            char *got = generate_with(model, "NPU", "BLOB_PATH", blob, NULL, NULL, &imported);
            CHECK(same(got, expect) && imported);
            free(got);
        }
        leftovers += count_prefixed(work, prefix, NULL);
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "rm -f '%s'.*", blob);
        CHECK(system(cmd) == 0);
        CHECK(run_cli(args) == 0);
        imported = false;
        char *got = generate_with(model, "NPU", "BLOB_PATH", blob, NULL, NULL, &imported);
        CHECK(same(got, expect) && imported);
        free(got);
    }
    fprintf(stderr, "  %s (%.2f s): %d trials, %d killed, blob present after %d, %d temporaries left\n", what, full,
            TRIALS, killed, present, leftovers);
    free(expect);
}

static void test_compile(void) {
    char blob[600];
    snprintf(blob, sizeof blob, "%s/compiled.blob", work);
    char *args[] = {"compile", (char *)model, "--device", "NPU", "-o", blob, "-c", "CACHE_MODE=OPTIMIZE_SPEED",
                    "-c", "MAX_PROMPT_LEN=64", "-c", "MIN_RESPONSE_LEN=64", "-c", "NUM_THREADS=1", NULL};
    blob_trials("compile", args, blob);
}

static void test_export_blob(void) {
    char blob[600], path_arg[700];
    snprintf(blob, sizeof blob, "%s/exported.blob", work);
    snprintf(path_arg, sizeof path_arg, "BLOB_PATH=%s", blob);
    char *args[] = {"generate", (char *)model, "-p", "Hi", "-n", "2", "--device", "NPU", "-c", "EXPORT_BLOB=YES",
                    "-c", path_arg, "-c", "MAX_PROMPT_LEN=64", "-c", "MIN_RESPONSE_LEN=64", "-c", "NUM_THREADS=1",
                    NULL};
    blob_trials("generate EXPORT_BLOB", args, blob);
}

/* ---- CACHE_DIR ------------------------------------------------------------------------------------ */

static void test_cache_dir(void) {
    char cache[600], cache_arg[700];
    snprintf(cache, sizeof cache, "%s/cache", work);
    snprintf(cache_arg, sizeof cache_arg, "CACHE_DIR=%s", cache);
    char *args[] = {"generate", (char *)model, "-p", "Hi", "-n", "2", "--device", "NPU", "-c", cache_arg,
                    "-c", "CACHE_MODE=OPTIMIZE_SPEED", "-c", "MAX_PROMPT_LEN=64", "-c", "MIN_RESPONSE_LEN=64",
                    "-c", "NUM_THREADS=1", NULL};
    rm_rf(cache);
    double t0 = now_s();
    REQUIRE(run_cli(args) == 0);
    double full = now_s() - t0;
    bool imported = false;
    char *expect = generate_with(model, "NPU", "CACHE_DIR", cache, "CACHE_MODE", "OPTIMIZE_SPEED", &imported);
    REQUIRE(expect && imported);
    int killed = 0, present = 0, leftovers = 0;
    for (int i = 0; i < TRIALS; i++) {
        rm_rf(cache);
        killed += run_and_kill(args, (0.2 + 0.9 * rand01()) * full);
        DIR *d = opendir(cache);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (e->d_name[0] == '.')
                continue;
            if (n > 8 && strcmp(e->d_name + n - 8, ".npuplan") == 0)
                present++;
            else
                leftovers++;
        }
        if (d)
            closedir(d);
        /* an entry under its final name must import (a partial one would be recompiled: imported false) */
        if (count_prefixed(cache, "", NULL) > 0) {
            imported = false;
            char *got = generate_with(model, "NPU", "CACHE_DIR", cache, "CACHE_MODE", "OPTIMIZE_SPEED", &imported);
            CHECK(same(got, expect));
            free(got);
        }
        CHECK(run_cli(args) == 0);
        imported = false;
        char *got = generate_with(model, "NPU", "CACHE_DIR", cache, "CACHE_MODE", "OPTIMIZE_SPEED", &imported);
        CHECK(same(got, expect) && imported);
        free(got);
    }
    fprintf(stderr, "  CACHE_DIR write (%.2f s): %d trials, %d killed, entry present after %d, %d temporaries left\n",
            full, TRIALS, killed, present, leftovers);
    free(expect);
}

int main(void) {
    const char *seed = getenv("NPG_KILL_SEED");
    rng_state = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    fprintf(stderr, "NPG_KILL_SEED=%llu\n", (unsigned long long)rng_state);
    if (!mkdtemp(work)) {
        perror(work);
        return 1;
    }
    model = shared_model("random-llama-chat");
    RUN(test_export);
    RUN(test_compile);
    RUN(test_export_blob);
    RUN(test_cache_dir);
    rm_rf(work);
    return npg_test_summary();
}
