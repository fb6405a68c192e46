/* test_concurrency.c — threads and processes (run under ThreadSanitizer by `make tsan-test`):
 *  - independent pipelines (CPU and NPU) in several threads at once give the single-threaded text;
 *  - one tokenizer shared by several threads (encode, decode, chat template) gives the same results;
 *  - one pipeline used from two threads: the second call is refused with a clear error while the
 *    first runs (npugen.h, "Threads"), the first is unaffected, and the pipeline works afterwards;
 *    a streamer callback that re-enters its pipeline is refused the same way;
 *  - two pipelines in one process, and two processes, writing the same CACHE_DIR entry at once both
 *    succeed and leave exactly one valid entry (no temporary file left behind). */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

static npg_status create(const char *model, const char *device, const char *cache_dir, npg_llm_pipeline **pipe) {
    if (strcmp(device, "NPU") == 0 && cache_dir)
        return npg_llm_pipeline_create(shared_model(model), "NPU", 8, pipe, "MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN",
                                       "64", "NUM_THREADS", "1", "CACHE_DIR", cache_dir);
    if (strcmp(device, "NPU") == 0)
        return npg_llm_pipeline_create(shared_model(model), "NPU", 6, pipe, "MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN",
                                       "64", "NUM_THREADS", "1");
    return npg_llm_pipeline_create(shared_model(model), device, 2, pipe, "NUM_THREADS", "1");
}

/* Greedy text of 12 tokens; malloc'd or NULL on failure (message in npg_last_error of this thread). */
static char *generate_text(npg_llm_pipeline *pipe, const char *prompt, const npg_streamer *streamer, npg_status *st_out) {
    npg_generation_config *cfg = NULL;
    npg_decoded_results *res = NULL;
    char *text = NULL;
    size_t size = 0;
    npg_status st = npg_generation_config_create(&cfg);
    if (st == NPG_OK)
        st = npg_generation_config_set_max_new_tokens(cfg, 12);
    if (st == NPG_OK)
        st = npg_llm_pipeline_generate(pipe, prompt, cfg, streamer, &res);
    if (st == NPG_OK)
        st = npg_decoded_results_get_string(res, NULL, &size);
    if (st == NPG_OK && (text = malloc(size)) != NULL)
        st = npg_decoded_results_get_string(res, text, &size);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    if (st != NPG_OK) {
        free(text);
        text = NULL;
    }
    if (st_out)
        *st_out = st;
    return text;
}

/* ---- independent pipelines ---------------------------------------------------------------------- */

typedef struct job {
    const char *model, *device, *prompt;
    char *text; /* out */
    char error[256];
} job;

static void *run_job(void *arg) {
    job *j = arg;
    npg_llm_pipeline *pipe = NULL;
    /* two worker threads each: the thread pools run side by side too */
    npg_status st = npg_llm_pipeline_create(shared_model(j->model), j->device, 2, &pipe, "NUM_THREADS", "2");
    if (st == NPG_OK)
        j->text = generate_text(pipe, j->prompt, NULL, &st);
    if (st != NPG_OK)
        snprintf(j->error, sizeof j->error, "%s", npg_last_error());
    npg_llm_pipeline_free(pipe);
    return NULL;
}

static void test_independent_pipelines(void) {
    job jobs[] = {{"stories260K", "CPU", "Once upon a time", NULL, ""},
                  {"stories260K", "NPU", "Once upon a time", NULL, ""},
                  {"random-llama-gqa", "CPU", "The cat", NULL, ""},
                  {"random-qwen2", "NPU", "A dog", NULL, ""},
                  {"stories260K", "CPU", "Lily went", NULL, ""}};
    enum { N = sizeof jobs / sizeof *jobs };
    job expect[N];
    memcpy(expect, jobs, sizeof jobs);
    for (int i = 0; i < N; i++) { /* single-threaded baseline */
        run_job(&expect[i]);
        REQUIRE(expect[i].text != NULL);
    }
    for (int round = 0; round < 2; round++) {
        pthread_t th[N];
        for (int i = 0; i < N; i++) {
            jobs[i].text = NULL;
            REQUIRE(pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0);
        }
        for (int i = 0; i < N; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < N; i++) {
            if (!jobs[i].text)
                fprintf(stderr, "job %d (%s %s): %s\n", i, jobs[i].model, jobs[i].device, jobs[i].error);
            CHECK(jobs[i].text && strcmp(jobs[i].text, expect[i].text) == 0);
            free(jobs[i].text);
        }
    }
    for (int i = 0; i < N; i++)
        free(expect[i].text);
}

/* ---- one tokenizer, many threads ---------------------------------------------------------------- */

typedef struct tok_job {
    const npg_tokenizer *tok;
    char *joined; /* out: decode(encode(text)) + chat template, 50 times the same */
    int mismatches;
} tok_job;

static char *tok_round(const npg_tokenizer *tok) {
    static const char text[] = "Hello world! How are you today? <s> caf\xc3\xa9";
    int32_t *ids = NULL;
    size_t n = 0;
    char *dec = NULL, *prompt = NULL, *out = NULL;
    npg_chat_history *h = NULL;
    if (npg_tokenizer_encode(tok, text, true, &ids, &n) == NPG_OK && npg_tokenizer_decode(tok, ids, n, false, &dec) == NPG_OK &&
        npg_chat_history_create(&h) == NPG_OK && npg_chat_history_push(h, "user", text) == NPG_OK &&
        npg_tokenizer_apply_chat_template(tok, h, true, NULL, &prompt) == NPG_OK) {
        out = malloc(strlen(dec) + strlen(prompt) + 32);
        if (out)
            sprintf(out, "%zu|%s|%s", n, dec, prompt);
    }
    npg_chat_history_free(h);
    npg_free(ids);
    npg_free(dec);
    npg_free(prompt);
    return out;
}

static void *run_tok_job(void *arg) {
    tok_job *j = arg;
    j->joined = tok_round(j->tok);
    for (int i = 0; i < 50 && j->joined; i++) {
        char *again = tok_round(j->tok);
        if (!again || strcmp(again, j->joined) != 0)
            j->mismatches++;
        free(again);
    }
    return NULL;
}

static void test_shared_tokenizer(void) {
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_model("random-llama-chat"), &tok));
    char *expect = tok_round(tok);
    REQUIRE(expect);
    enum { N = 4 };
    tok_job jobs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (tok_job){.tok = tok};
        REQUIRE(pthread_create(&th[i], NULL, run_tok_job, &jobs[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].joined && strcmp(jobs[i].joined, expect) == 0);
        CHECK(jobs[i].mismatches == 0);
        free(jobs[i].joined);
    }
    free(expect);
    npg_tokenizer_free(tok);
}

/* ---- one pipeline, two threads ------------------------------------------------------------------ */

typedef struct shared {
    npg_llm_pipeline *pipe;
    atomic_int stage; /* 0: A not streaming yet, 1: A is inside its streamer, 2: B has tried */
    npg_status b_status;
    char b_error[512];
    char *a_text;
} shared;

/* A's streamer: on the first piece, let B try, and wait until it has */
static npg_streaming_status hold_until_b_tried(const char *text, void *user) {
    (void)text;
    shared *s = user;
    int expected = 0;
    if (atomic_compare_exchange_strong(&s->stage, &expected, 1))
        while (atomic_load(&s->stage) != 2)
            usleep(1000);
    return NPG_STREAMING_RUNNING;
}

static void *thread_a(void *arg) {
    shared *s = arg;
    npg_streamer streamer = {hold_until_b_tried, s};
    s->a_text = generate_text(s->pipe, "Once upon a time", &streamer, NULL);
    return NULL;
}

static void *thread_b(void *arg) {
    shared *s = arg;
    while (atomic_load(&s->stage) != 1)
        usleep(1000);
    npg_status st;
    char *text = generate_text(s->pipe, "Something else", NULL, &st);
    free(text);
    s->b_status = st;
    snprintf(s->b_error, sizeof s->b_error, "%s", npg_last_error());
    /* the other calls are refused the same way while A runs */
    npg_generation_config *c = NULL;
    if (npg_llm_pipeline_get_generation_config(s->pipe, &c) == NPG_OK || npg_llm_pipeline_start_chat(s->pipe, NULL) == NPG_OK)
        s->b_status = NPG_OK; /* a call that got through while A ran: the check below fails */
    npg_generation_config_free(c);
    atomic_store(&s->stage, 2);
    return NULL;
}

static void test_one_pipeline_two_threads(const char *device) {
    npg_llm_pipeline *pipe = NULL;
    REQUIRE_OK(create("stories260K", device, NULL, &pipe));
    char *expect = generate_text(pipe, "Once upon a time", NULL, NULL);
    REQUIRE(expect);
    shared s = {.pipe = pipe};
    pthread_t a, b;
    REQUIRE(pthread_create(&a, NULL, thread_a, &s) == 0);
    REQUIRE(pthread_create(&b, NULL, thread_b, &s) == 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(s.b_status == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(s.b_error, "in use by another thread") != NULL);
    fprintf(stderr, "  %s: the second thread got: %s\n", device, s.b_error);
    CHECK(s.a_text && strcmp(s.a_text, expect) == 0); /* the running call is unaffected */
    char *after = generate_text(pipe, "Once upon a time", NULL, NULL);
    CHECK(after && strcmp(after, expect) == 0); /* and the pipeline works afterwards */
    free(after);
    free(s.a_text);
    free(expect);
    npg_llm_pipeline_free(pipe);
}

static void test_one_pipeline_two_threads_cpu(void) { test_one_pipeline_two_threads("CPU"); }
static void test_one_pipeline_two_threads_npu(void) { test_one_pipeline_two_threads("NPU"); }

/* Both threads call generate in a loop: every call either gives the right text or is refused. */
typedef struct hammer {
    npg_llm_pipeline *pipe;
    const char *expect;
    int ok, refused, wrong;
} hammer;

static void *run_hammer(void *arg) {
    hammer *h = arg;
    for (int i = 0; i < 15; i++) {
        npg_status st;
        char *text = generate_text(h->pipe, "Once upon a time", NULL, &st);
        if (st == NPG_OK && text && strcmp(text, h->expect) == 0)
            h->ok++;
        else if (st == NPG_ERR_INVALID_ARGUMENT && strstr(npg_last_error(), "in use by another thread"))
            h->refused++;
        else
            h->wrong++;
        free(text);
    }
    return NULL;
}

static void test_hammer(void) {
    npg_llm_pipeline *pipe = NULL;
    REQUIRE_OK(create("stories260K", "CPU", NULL, &pipe));
    char *expect = generate_text(pipe, "Once upon a time", NULL, NULL);
    REQUIRE(expect);
    hammer h[2] = {{pipe, expect, 0, 0, 0}, {pipe, expect, 0, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&th[i], NULL, run_hammer, &h[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    fprintf(stderr, "  two threads x 15 calls: %d ok, %d refused, %d wrong\n", h[0].ok + h[1].ok,
            h[0].refused + h[1].refused, h[0].wrong + h[1].wrong);
    CHECK(h[0].wrong == 0 && h[1].wrong == 0);
    CHECK(h[0].ok + h[1].ok >= 1);
    free(expect);
    npg_llm_pipeline_free(pipe);
}

/* A streamer that calls back into its own pipeline is refused, and the outer call completes. */
typedef struct reenter {
    npg_llm_pipeline *pipe;
    npg_status inner;
    int calls;
} reenter;

static npg_streaming_status reenter_cb(const char *text, void *user) {
    (void)text;
    reenter *r = user;
    if (r->calls++ == 0) {
        char *t = generate_text(r->pipe, "inner", NULL, &r->inner);
        free(t);
    }
    return NPG_STREAMING_RUNNING;
}

static void test_streamer_reentry(void) {
    npg_llm_pipeline *pipe = NULL;
    REQUIRE_OK(create("stories260K", "CPU", NULL, &pipe));
    char *expect = generate_text(pipe, "Once upon a time", NULL, NULL);
    REQUIRE(expect);
    reenter r = {pipe, NPG_OK, 0};
    npg_streamer streamer = {reenter_cb, &r};
    char *got = generate_text(pipe, "Once upon a time", &streamer, NULL);
    CHECK(r.calls > 0 && r.inner == NPG_ERR_INVALID_ARGUMENT);
    CHECK(got && strcmp(got, expect) == 0);
    free(got);
    free(expect);
    npg_llm_pipeline_free(pipe);
}

/* ---- one CACHE_DIR, several writers ------------------------------------------------------------- */

/* Names in dir: *.npuplan entries and anything else (temporaries). */
static void count_entries(const char *dir, int *entries, int *others) {
    *entries = *others = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(e->d_name);
        if (n > 8 && strcmp(e->d_name + n - 8, ".npuplan") == 0)
            (*entries)++;
        else {
            (*others)++;
            fprintf(stderr, "  left in the cache: %s\n", e->d_name);
        }
    }
    closedir(d);
}

/* A new pipeline on the same CACHE_DIR (and CACHE_MODE: it is part of the key) imports the entry. */
static bool imports_from(const char *cache_dir, bool weights, const char *expect) {
    npg_llm_pipeline *pipe = NULL;
    if (npg_llm_pipeline_create(shared_model("stories260K"), "NPU", 10, &pipe, "MAX_PROMPT_LEN", "64",
                                "MIN_RESPONSE_LEN", "64", "NUM_THREADS", "1", "CACHE_DIR", cache_dir, "CACHE_MODE",
                                weights ? "OPTIMIZE_SPEED" : "OPTIMIZE_SIZE") != NPG_OK)
        return false;
    char *text = generate_text(pipe, "Once upon a time", NULL, NULL);
    npg_decoded_results *res = NULL;
    bool imported = false;
    npg_generation_config *cfg = NULL;
    if (npg_generation_config_create(&cfg) == NPG_OK && npg_generation_config_set_max_new_tokens(cfg, 1) == NPG_OK &&
        npg_llm_pipeline_generate(pipe, "x", cfg, NULL, &res) == NPG_OK) {
        const npg_perf_metrics *m = NULL;
        if (npg_decoded_results_get_perf_metrics(res, &m) == NPG_OK)
            npg_perf_metrics_get_plan_imported(m, &imported);
    }
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    bool ok = imported && text && strcmp(text, expect) == 0;
    if (!ok)
        fprintf(stderr, "  import from %s: imported %d, text '%s' (expected '%s')\n", cache_dir, imported,
                text ? text : "(none)", expect);
    free(text);
    npg_llm_pipeline_free(pipe);
    return ok;
}

typedef struct cache_job {
    const char *dir;
    bool weights;
    char *text;
    atomic_int warnings; /* a cache entry that could not be written or read is logged as a warning */
} cache_job;

static void count_warnings(void *user, npg_log_level level, const char *message) {
    cache_job *j = user;
    if (level <= NPG_LOG_WARNING) {
        fprintf(stderr, "  warning: %s\n", message);
        atomic_fetch_add(&j->warnings, 1);
    }
}

static void *run_cache_job(void *arg) {
    cache_job *j = arg;
    npg_llm_pipeline *pipe = NULL;
    npg_properties *p = NULL;
    npg_status st = npg_properties_create(&p);
    const char *kv[] = {"MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "NUM_THREADS", "1", "CACHE_DIR", j->dir,
                        "CACHE_MODE", j->weights ? "OPTIMIZE_SPEED" : "OPTIMIZE_SIZE"};
    for (size_t i = 0; i < sizeof kv / sizeof *kv && st == NPG_OK; i += 2)
        st = npg_properties_set(p, kv[i], kv[i + 1]);
    if (st == NPG_OK)
        st = npg_properties_set_log_callback(p, count_warnings, j);
    if (st == NPG_OK)
        st = npg_llm_pipeline_create_with_properties(shared_model("stories260K"), "NPU", p, &pipe);
    if (st == NPG_OK)
        j->text = generate_text(pipe, "Once upon a time", NULL, NULL);
    else
        fprintf(stderr, "  cache writer failed: %s\n", npg_last_error());
    npg_llm_pipeline_free(pipe);
    npg_properties_free(p);
    return NULL;
}

static void test_cache_dir_threads(void) {
    npg_llm_pipeline *pipe = NULL;
    REQUIRE_OK(create("stories260K", "NPU", NULL, &pipe));
    char *expect = generate_text(pipe, "Once upon a time", NULL, NULL);
    npg_llm_pipeline_free(pipe);
    REQUIRE(expect);
    for (int round = 0; round < 4; round++) {
        char dir[] = "/tmp/npg-conc-cache-XXXXXX";
        REQUIRE(mkdtemp(dir) != NULL);
        enum { N = 4 };
        cache_job jobs[N];
        pthread_t th[N];
        for (int i = 0; i < N; i++) {
            memset(&jobs[i], 0, sizeof jobs[i]);
            jobs[i].dir = dir;
            jobs[i].weights = round % 2 == 1; /* with weights: megabytes written, a wide window */
            REQUIRE(pthread_create(&th[i], NULL, run_cache_job, &jobs[i]) == 0);
        }
        for (int i = 0; i < N; i++) {
            pthread_join(th[i], NULL);
            CHECK(jobs[i].text && strcmp(jobs[i].text, expect) == 0);
            CHECK(atomic_load(&jobs[i].warnings) == 0);
            free(jobs[i].text);
        }
        int entries, others;
        count_entries(dir, &entries, &others);
        CHECK(entries == 1 && others == 0);
        CHECK(imports_from(dir, jobs[0].weights, expect));
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
    free(expect);
}

/* Two CLI processes started together compile into one CACHE_DIR. */
static void test_cache_dir_processes(void) {
    npg_llm_pipeline *pipe = NULL;
    REQUIRE_OK(create("stories260K", "NPU", NULL, &pipe));
    char *expect = generate_text(pipe, "Once upon a time", NULL, NULL);
    npg_llm_pipeline_free(pipe);
    REQUIRE(expect);
    for (int round = 0; round < 3; round++) {
        char dir[] = "/tmp/npg-conc-cachep-XXXXXX";
        REQUIRE(mkdtemp(dir) != NULL);
        char cache_arg[128];
        snprintf(cache_arg, sizeof cache_arg, "CACHE_DIR=%s", dir);
        char *argv[] = {(char *)NPG_CLI, "generate", (char *)shared_model("stories260K"), "-p", "Once upon a time",
                        "-n", "12", "--device", "NPU", "-c", "MAX_PROMPT_LEN=64", "-c", "MIN_RESPONSE_LEN=64", "-c",
                        "NUM_THREADS=1", "-c", cache_arg, NULL};
        enum { N = 3 };
        pid_t pids[N];
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        for (int i = 0; i < N; i++)
            REQUIRE(posix_spawn(&pids[i], NPG_CLI, &fa, NULL, argv, environ) == 0);
        posix_spawn_file_actions_destroy(&fa);
        for (int i = 0; i < N; i++) {
            int status = 0;
            CHECK(waitpid(pids[i], &status, 0) == pids[i]);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        int entries, others;
        count_entries(dir, &entries, &others);
        CHECK(entries == 1 && others == 0);
        CHECK(imports_from(dir, true, expect)); /* the CLI's CACHE_DIR default: OPTIMIZE_SPEED */
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
    free(expect);
}

int main(void) {
    RUN(test_independent_pipelines);
    RUN(test_shared_tokenizer);
    RUN(test_one_pipeline_two_threads_cpu);
    RUN(test_one_pipeline_two_threads_npu);
    RUN(test_hammer);
    RUN(test_streamer_reentry);
    RUN(test_cache_dir_threads);
    RUN(test_cache_dir_processes);
    return npg_test_summary();
}
