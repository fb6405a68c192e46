/* test_alloc_fail.c — allocation failure: the k-th allocation fails, for k = 1, 2, ... along each
 * create and generate path; every k must give a clean error (a status with a message, never a crash),
 * leak nothing (LeakSanitizer checks after each path in the ASan build), and leave the handle usable
 * (a pipeline whose generate failed generates the baseline text next) or freed.
 *
 * The allocator is wrapped at link time for this executable only (tests/CMakeLists.txt passes
 * --wrap=malloc,calloc,realloc,strdup,strndup,posix_memalign,aligned_alloc), so every allocation the
 * library's own code makes goes through fail_now() below; cJSON's allocations are routed through the
 * same wrappers with cJSON_InitHooks. Allocations inside other shared libraries (PCRE2, utf8proc,
 * libcrypto, libc internals) are not failed. Each path is swept twice: only the k-th allocation fails
 * (the next ones succeed), and every allocation from the k-th on fails. On long paths k steps with a stride
 * (every k up to min(400, budget / 2), then every `stride`-th within the path's run budget); the
 * stride used is printed. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/json.h"
#include "compress/export.h"
#include "template/template.h"
#include "testutil.h"
#include "tokenizer/tokenizer.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);

static atomic_long n_seen;   /* allocations since arm() */
static atomic_long fail_at;  /* 1-based index of the allocation to fail; 0 = none */
static atomic_int fired;     /* the failure was injected */
static atomic_int sticky;    /* fail every allocation from the k-th on (else only the k-th) */

static int fail_now(void) {
    long k = atomic_load(&fail_at);
    long i = atomic_fetch_add(&n_seen, 1) + 1;
    if (k > 0 && (i == k || (i > k && atomic_load(&sticky)))) {
        atomic_store(&fired, 1);
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return fail_now() ? NULL : __real_strndup(s, n); }
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    return fail_now() ? 12 /* ENOMEM */ : __real_posix_memalign(p, align, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n) { return fail_now() ? NULL : __real_aligned_alloc(align, n); }

static void arm(long k) {
    atomic_store(&fired, 0);
    atomic_store(&n_seen, 0);
    atomic_store(&fail_at, k);
}
static long disarm(void) {
    atomic_store(&fail_at, 0);
    return atomic_load(&n_seen);
}

/* ---- the sweep ---------------------------------------------------------------------------------- */

/* A path under test: runs once, returns its status and (on NPG_OK) a malloc'd result that must equal
 * the baseline's. Everything it creates it frees, whatever happens. */
typedef npg_status (*path_fn)(void *ctx, char **result);

static void sweep_mode(const char *name, path_fn fn, void *ctx, long max_runs) {
    char *base = NULL;
    arm(0);
    npg_status st = fn(ctx, &base);
    long n = disarm();
    if (st != NPG_OK)
        fprintf(stderr, "%s: baseline failed: %s\n", name, npg_last_error());
    CHECK(st == NPG_OK && base != NULL);
    if (st != NPG_OK)
        return;
    long stride = 1;
    const long dense = max_runs / 2 < 400 ? max_runs / 2 : 400;
    if (n > max_runs)
        stride = (n - dense) / (max_runs - dense) + 1;
    long runs = 0, failed_clean = 0, succeeded = 0;
    for (long k = 1; k <= n; k += k < dense ? 1 : stride) {
        char *got = NULL;
        arm(k);
        st = fn(ctx, &got);
        disarm();
        runs++;
        if (!atomic_load(&fired)) { /* fewer allocations this time (a cache, a shorter path): nothing to check */
            free(got);
            continue;
        }
        if (st == NPG_OK) {
            succeeded++; /* a fallback absorbed the failure: the result must still be right */
            if (!got || strcmp(got, base) != 0) {
                fprintf(stderr, "%s: k=%ld: NPG_OK but a different result\n", name, k);
                CHECK(got && strcmp(got, base) == 0);
            }
        } else {
            failed_clean++;
            if (st != NPG_ERR_OUT_OF_MEMORY && getenv("NPG_ALLOC_VERBOSE"))
                fprintf(stderr, "%s: k=%ld: %s: %s\n", name, k, npg_status_name(st), npg_last_error());
            if (npg_last_error()[0] == '\0' || st == NPG_ERR_INTERNAL) {
                fprintf(stderr, "%s: k=%ld: %s with message '%s'\n", name, k, npg_status_name(st), npg_last_error());
                CHECK(npg_last_error()[0] != '\0' && st != NPG_ERR_INTERNAL);
            }
        }
        free(got);
    }
    fprintf(stderr, "  %s: %ld allocations on the path, %ld runs (every k to %ld, then stride %ld): %ld clean "
                    "errors, %ld absorbed\n",
            name, n, runs, n < dense ? n : dense, stride, failed_clean, succeeded);
    free(base);
#ifdef HAVE_LSAN
    int leaked = __lsan_do_recoverable_leak_check();
    if (leaked)
        fprintf(stderr, "%s: LeakSanitizer found leaks (above)\n", name);
    CHECK(leaked == 0);
#endif
}

/* Both modes: only the k-th allocation fails (the code goes on after it), and every allocation from
 * the k-th on fails (cleanup paths that themselves allocate). */
static void sweep(const char *name, path_fn fn, void *ctx, long max_runs) {
    char label[256];
    atomic_store(&sticky, 0);
    snprintf(label, sizeof label, "%s [k-th fails]", name);
    sweep_mode(label, fn, ctx, max_runs);
    atomic_store(&sticky, 1);
    snprintf(label, sizeof label, "%s [k-th on fail]", name);
    sweep_mode(label, fn, ctx, max_runs);
    atomic_store(&sticky, 0);
}

/* ---- paths -------------------------------------------------------------------------------------- */

static char *dup_or_null(const char *s) { return s ? __real_strdup(s) : NULL; }

static npg_status tokenizer_path(void *ctx, char **result) {
    (void)ctx;
    npg_tokenizer *tok = NULL;
    NPG_TRY(npg_tokenizer_create(shared_model("stories260K"), &tok));
    int32_t *ids = NULL;
    size_t n = 0;
    char *text = NULL;
    npg_status st = npg_tokenizer_encode(tok, "Once upon a time, a little girl named Lily found a shiny key.", true,
                                         &ids, &n);
    if (st == NPG_OK)
        st = npg_tokenizer_decode(tok, ids, n, true, &text);
    if (st == NPG_OK) {
        *result = dup_or_null(text);
        st = *result ? NPG_OK : NPG_ERR_OUT_OF_MEMORY;
    }
    npg_free(text);
    npg_free(ids);
    npg_tokenizer_free(tok);
    return st;
}

/* encode/decode on a tokenizer created without failures: a failed call leaves it usable */
static npg_status encode_path(void *ctx, char **result) {
    const npg_tokenizer *tok = ctx;
    int32_t *ids = NULL;
    size_t n = 0;
    char *text = NULL;
    npg_status st = npg_tokenizer_encode(tok, "Tom and   Sue\tplayed <s> in the park. \xc3\xa9\xe2\x82\xac!", true,
                                         &ids, &n);
    if (st == NPG_OK)
        st = npg_tokenizer_decode(tok, ids, n, false, &text);
    if (st == NPG_OK)
        *result = dup_or_null(text);
    npg_free(text);
    npg_free(ids);
    return st;
}

static npg_status template_path(void *ctx, char **result) {
    const char *src = ctx;
    static const char context[] =
        "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": "
        "\"What is 2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"}, {\"role\": \"user\", \"content\": "
        "\"And 3+3?\"}], \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";
    cJSON *c = cJSON_Parse(context);
    if (!c)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "test: cJSON_Parse failed (injected)");
    npg_template *t = NULL;
    npg_status st = npg_template_compile(src, strlen(src), &t);
    char *out = NULL;
    if (st == NPG_OK) {
        npg_template_options opts = {.pin_time = true, .now = 1700000000};
        st = npg_template_render(t, c, &opts, &out);
    }
    if (st == NPG_OK)
        *result = out;
    else
        free(out);
    npg_template_free(t);
    cJSON_Delete(c);
    return st;
}

typedef struct llm_ctx {
    const char *model, *device;
    const char *cache_dir;  /* NPU: CACHE_DIR (the first create writes the entry, later ones import it) */
    npg_llm_pipeline *pipe; /* for the generate-only paths */
    bool chat, sampled;
} llm_ctx;

static npg_streaming_status count_pieces(const char *text, void *user) {
    (void)text;
    (*(int *)user)++;
    return NPG_STREAMING_RUNNING;
}

/* sampled: top-k/top-p sampling with a seed, a repetition penalty, a stop string and a streamer —
 * the generation loop's other allocations */
static npg_status generate(npg_llm_pipeline *pipe, bool chat, bool sampled, char **result) {
    npg_generation_config *cfg = NULL;
    NPG_TRY(npg_generation_config_create(&cfg));
    npg_generation_config_set_max_new_tokens(cfg, 6);
    int pieces = 0;
    npg_streamer streamer = {count_pieces, &pieces};
    if (sampled) {
        const char *stops[] = {"zzz", "The end"};
        npg_generation_config_set_do_sample(cfg, true);
        npg_generation_config_set_top_k(cfg, 20);
        npg_generation_config_set_top_p(cfg, 0.9f);
        npg_generation_config_set_rng_seed(cfg, 42);
        npg_generation_config_set_repetition_penalty(cfg, 1.1f);
        npg_generation_config_set_stop_strings(cfg, stops, 2);
    }
    npg_decoded_results *res = NULL;
    npg_status st = NPG_OK;
    if (chat)
        st = npg_llm_pipeline_start_chat(pipe, NULL);
    if (st == NPG_OK)
        st = npg_llm_pipeline_generate(pipe, "Once upon a time", cfg, sampled ? &streamer : NULL, &res);
    if (chat) {
        npg_status st2 = npg_llm_pipeline_finish_chat(pipe);
        if (st == NPG_OK)
            st = st2;
    }
    size_t size = 0;
    if (st == NPG_OK)
        st = npg_decoded_results_get_string(res, NULL, &size);
    if (st == NPG_OK) {
        *result = __real_malloc(size);
        st = *result ? npg_decoded_results_get_string(res, *result, &size) : NPG_ERR_OUT_OF_MEMORY;
    }
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    return st;
}

static npg_status create_pipe(const llm_ctx *c, npg_llm_pipeline **pipe) {
    if (c->cache_dir)
        return npg_llm_pipeline_create(shared_model(c->model), "NPU", 8, pipe, "MAX_PROMPT_LEN", "64",
                                       "MIN_RESPONSE_LEN", "64", "NUM_THREADS", "1", "CACHE_DIR", c->cache_dir);
    if (strcmp(c->device, "NPU") == 0)
        return npg_llm_pipeline_create(shared_model(c->model), "NPU", 6, pipe, "MAX_PROMPT_LEN", "64",
                                       "MIN_RESPONSE_LEN", "64", "NUM_THREADS", "1");
    return npg_llm_pipeline_create(shared_model(c->model), c->device, 2, pipe, "NUM_THREADS", "1");
}

static npg_status pipeline_path(void *ctx, char **result) {
    const llm_ctx *c = ctx;
    npg_llm_pipeline *pipe = NULL;
    NPG_TRY(create_pipe(c, &pipe));
    npg_status st = generate(pipe, c->chat, c->sampled, result);
    npg_llm_pipeline_free(pipe);
    return st;
}

/* generate on a pipeline that lives across the sweep: after each failed generate, the pipeline must
 * still give the baseline (the sweep's next run checks it, and every run compares to the baseline) */
static npg_status generate_path(void *ctx, char **result) {
    const llm_ctx *c = ctx;
    npg_status st = generate(c->pipe, c->chat, c->sampled, result);
    if (st != NPG_OK) {
        char *again = NULL;
        long saved = atomic_exchange(&fail_at, 0); /* no failure for the check */
        npg_status st2 = generate(c->pipe, c->chat, c->sampled, &again);
        atomic_store(&fail_at, saved);
        if (st2 != NPG_OK) {
            fprintf(stderr, "pipeline unusable after a failed generate: %s\n", npg_last_error());
            CHECK(st2 == NPG_OK);
        }
        free(again);
    }
    return st;
}

/* ---- tests -------------------------------------------------------------------------------------- */

/* npg_json_parse tells out-of-memory from malformed text with npg_json_syntax_valid */
static void test_json_syntax(void) {
    static const char *const valid[] = {"{}", "[]", " {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\"]} ",
                                        "\"\\ud83d\\ude00\"", "0", "[[[[]]]]", "{\"a\":{\"b\":{}}} trailing", NULL};
    static const char *const invalid[] = {"", "{", "[1,]", "{\"a\"}", "{\"a\":}", "-", "tru", "\"\\ud800\"",
                                          "\"\\x\"", "[1 2]", "{,}", "\"abc", "{\"a\":1,}", NULL};
    for (int i = 0; valid[i]; i++) {
        CHECK(npg_json_syntax_valid(valid[i], strlen(valid[i])));
        cJSON *j = NULL;
        CHECK(npg_json_parse(valid[i], strlen(valid[i]), "t", &j) == NPG_OK);
        cJSON_Delete(j);
    }
    for (int i = 0; invalid[i]; i++) {
        CHECK(!npg_json_syntax_valid(invalid[i], strlen(invalid[i])));
        cJSON *j = NULL;
        CHECK(npg_json_parse(invalid[i], strlen(invalid[i]), "t", &j) == NPG_ERR_FORMAT);
    }
    char deep[2 * 1001 + 1];
    memset(deep, '[', 1001);
    memset(deep + 1001, ']', 1001);
    CHECK(!npg_json_syntax_valid(deep, 2002)); /* past cJSON's nesting limit, as cJSON refuses it */
    CHECK(npg_json_syntax_valid(deep + 1, 2000));
    /* and the point of it: a failed allocation inside cJSON is out of memory, not malformed JSON */
    const char *doc = "{\"a\": [1, 2, 3], \"b\": \"text\"}";
    arm(2);
    cJSON *j = NULL;
    npg_status st = npg_json_parse(doc, strlen(doc), "doc.json", &j);
    disarm();
    CHECK(atomic_load(&fired) && st == NPG_ERR_OUT_OF_MEMORY);
    CHECK(strstr(npg_last_error(), "doc.json") != NULL);
    cJSON_Delete(j);
}

static void test_tokenizer(void) {
    sweep("tokenizer create+encode+decode (stories260K)", tokenizer_path, NULL, 4000);
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_model("stories260K"), &tok));
    sweep("tokenizer encode+decode on a live handle", encode_path, tok, 4000);
    npg_tokenizer_free(tok);
}

static void test_template(void) {
    static const char *const templates[] = {"chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja",
                                            "chat-templates/meta-llama-Llama-3.1-8B-Instruct.jinja", NULL};
    for (int i = 0; templates[i]; i++) {
        char *src = read_all(shared_path(templates[i]), NULL);
        REQUIRE(src);
        char name[200];
        snprintf(name, sizeof name, "template compile+render %s", templates[i]);
        sweep(name, template_path, src, 3000);
        free(src);
    }
}

static void test_llm(const char *device) {
    llm_ctx c = {.model = "stories260K", .device = device};
    char name[128];
    snprintf(name, sizeof name, "LLM %s create+generate+free", device);
    sweep(name, pipeline_path, &c, 1500);
    REQUIRE_OK(create_pipe(&c, &c.pipe));
    snprintf(name, sizeof name, "LLM %s generate on a live pipeline", device);
    sweep(name, generate_path, &c, 1500);
    c.chat = true;
    snprintf(name, sizeof name, "LLM %s chat turn on a live pipeline", device);
    sweep(name, generate_path, &c, 1500);
    c.chat = false;
    c.sampled = true;
    snprintf(name, sizeof name, "LLM %s sampled generate with stop strings and a streamer", device);
    sweep(name, generate_path, &c, 1500);
    npg_llm_pipeline_free(c.pipe);
}

/* NPU with CACHE_DIR: the baseline run writes the cache entry, every later run imports it (blob read,
 * decrypt-free verify, plan from blob); a failure while importing must not damage the entry */
static void test_llm_npu_cache(void) {
    char dir[] = "/tmp/npg-alloc-cache-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    llm_ctx c = {.model = "stories260K", .device = "NPU", .cache_dir = dir};
    sweep("LLM NPU CACHE_DIR import+generate+free", pipeline_path, &c, 1500);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* NPU CACHE_DIR with CACHE_ENCRYPTION_CALLBACKS: the callbacks' output is malloc'd by the caller's
 * code (here: the wrapped malloc, so it fails too) and freed by the library */
static int xor_crypt(void *user, const uint8_t *in, size_t n, uint8_t **out, size_t *out_n) {
    (void)user;
    uint8_t *o = malloc(n ? n : 1);
    if (!o)
        return 1;
    for (size_t i = 0; i < n; i++)
        o[i] = in[i] ^ 0x5a;
    *out = o;
    *out_n = n;
    return 0;
}

static npg_status encrypted_cache_path(void *ctx, char **result) {
    const char *dir = ctx;
    npg_properties *p = NULL;
    NPG_TRY(npg_properties_create(&p));
    const char *kv[] = {"MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", "NUM_THREADS", "1", "CACHE_DIR", dir};
    npg_status st = NPG_OK;
    for (size_t i = 0; i < 8 && st == NPG_OK; i += 2)
        st = npg_properties_set(p, kv[i], kv[i + 1]);
    if (st == NPG_OK)
        st = npg_properties_set_encryption_callbacks(p, xor_crypt, xor_crypt, NULL);
    npg_llm_pipeline *pipe = NULL;
    if (st == NPG_OK)
        st = npg_llm_pipeline_create_with_properties(shared_model("stories260K"), "NPU", p, &pipe);
    npg_properties_free(p);
    if (st == NPG_OK)
        st = generate(pipe, false, false, result);
    npg_llm_pipeline_free(pipe);
    return st;
}

static void test_llm_npu_encrypted_cache(void) {
    char dir[] = "/tmp/npg-alloc-enc-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    sweep("LLM NPU encrypted CACHE_DIR import+generate+free", encrypted_cache_path, dir, 1500);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* npugen export (int8) into a fresh folder: on failure the folder must not exist (nothing half
 * written); on success it loads (checked with failures off) and the result is its generated text */
typedef struct export_ctx {
    char out[256];
} export_ctx;

static npg_status export_path(void *ctx, char **result) {
    export_ctx *c = ctx;
    npg_export_options o;
    npg_export_options_init(&o);
    o.format = NPG_EXPORT_INT8;
    o.overwrite = true;
    npg_status st = npg_export_model(shared_model("stories260K"), c->out, &o);
    long saved = atomic_exchange(&fail_at, 0); /* checking is not part of the path */
    struct stat sb;
    bool exists = stat(c->out, &sb) == 0;
    if (st != NPG_OK && exists) {
        fprintf(stderr, "export failed (%s) but left %s behind\n", npg_last_error(), c->out);
        CHECK(!exists);
    }
    if (st == NPG_OK) {
        npg_llm_pipeline *pipe = NULL;
        st = npg_llm_pipeline_create(c->out, "CPU", 2, &pipe, "NUM_THREADS", "1");
        if (st == NPG_OK)
            st = generate(pipe, false, false, result);
        if (st != NPG_OK)
            fprintf(stderr, "export succeeded but does not load: %s\n", npg_last_error());
        CHECK(st == NPG_OK);
        npg_llm_pipeline_free(pipe);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->out);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", c->out);
    atomic_store(&fail_at, saved);
    return st;
}

static void test_export(void) {
    char dir[] = "/tmp/npg-alloc-export-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    export_ctx c;
    snprintf(c.out, sizeof c.out, "%s/out", dir);
    sweep("export int8 (stories260K)", export_path, &c, 300);
    CHECK(rmdir(dir) == 0); /* nothing else was left in it */
}

/* the chat template through the public API on a real vendor tokenizer (TinyLlama's zephyr template) */
static npg_status chat_template_path(void *ctx, char **result) {
    const npg_tokenizer *tok = ctx;
    npg_chat_history *h = NULL;
    NPG_TRY(npg_chat_history_create(&h));
    npg_status st = npg_chat_history_push(h, "system", "You are a friendly chatbot.");
    if (st == NPG_OK)
        st = npg_chat_history_push(h, "user", "How many helicopters can a human eat in one sitting?");
    if (st == NPG_OK)
        st = npg_tokenizer_apply_chat_template(tok, h, true, "{\"enable_thinking\": false}", result);
    npg_chat_history_free(h);
    return st;
}

static void test_chat_template(void) {
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_model("random-llama-chat"), &tok));
    sweep("apply_chat_template (TinyLlama zephyr) on a live tokenizer", chat_template_path, tok, 3000);
    npg_tokenizer_free(tok);
}

static void test_llm_cpu(void) { test_llm("CPU"); }
static void test_llm_npu(void) { test_llm("NPU"); }

static void *hook_malloc(size_t n) { return __wrap_malloc(n); }
static void hook_free(void *p) { free(p); }

int main(void) {
    cJSON_Hooks hooks = {.malloc_fn = hook_malloc, .free_fn = hook_free};
    cJSON_InitHooks(&hooks);
    RUN(test_json_syntax);
    RUN(test_tokenizer);
    RUN(test_template);
    RUN(test_llm_cpu);
    RUN(test_llm_npu);
    RUN(test_llm_npu_cache);
    RUN(test_chat_template);
    RUN(test_llm_npu_encrypted_cache);
    RUN(test_export);
    return npg_test_summary();
}
