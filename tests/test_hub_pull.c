/* test_hub_pull.c — `npugen pull` against tests/hub/fake_hub.py, a loopback imitation of the Hugging
 * Face Hub serving a copy of ../shared/models/stories260K (plus a nested file and a duplicate) through
 * the Hub's URL shapes: the cache layout, -o, --include, resume (within a pull and across pulls), the
 * sha256 check, tokens, HF_ENDPOINT, and cached repo ids given where a model folder goes. Each case
 * starts its own server (a free port, killed at the end, and exiting by itself after 5 minutes). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

#define REPO "npugen-test/stories260K"
#define REPO_DIR "models--npugen-test--stories260K"
#define LFS_NAME "model.safetensors"

/* The files the fake Hub serves, relative to the source folder. */
static const char *const FILES[] = {"config.json",          "generation_config.json", LFS_NAME,
                                    "special_tokens_map.json", "tokenizer.json",     "tokenizer_config.json",
                                    "extra/notes/readme.txt", "extra/config-copy.json"};
enum { N_FILES = sizeof FILES / sizeof FILES[0] };

typedef struct hub {
    char *tmp;  /* the case's scratch folder */
    char src[1024], cache[1024], log[1024];
    pid_t pid;
    int port;
} hub;

static char *path2(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* The source folder: links to stories260K's files, a nested file and a copy of config.json (equal
 * bytes: one blob in the cache). */
static bool make_source(const char *src) {
    static const char *const shared[] = {"config.json",          "generation_config.json", LFS_NAME,
                                         "special_tokens_map.json", "tokenizer.json",     "tokenizer_config.json"};
    char p[2048];
    if (mkdir(src, 0777) != 0)
        return false;
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", src, shared[i]);
        char rel[256];
        snprintf(rel, sizeof rel, "models/stories260K/%s", shared[i]);
        if (symlink(shared_path(rel), p) != 0)
            return false;
    }
    snprintf(p, sizeof p, "%s/extra", src);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/extra/notes", src);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/extra/notes/readme.txt", src);
    write_file(p, "a nested file, served through a URL with slashes\n", 50);
    size_t len = 0;
    char *cfg = read_all(shared_path("models/stories260K/config.json"), &len);
    if (!cfg)
        return false;
    snprintf(p, sizeof p, "%s/extra/config-copy.json", src);
    write_file(p, cfg, len);
    free(cfg);
    return true;
}

/* Starts fake_hub.py with `extra` options (NULL-terminated). */
static bool hub_start(hub *h, const char *const *extra) {
    memset(h, 0, sizeof *h);
    h->pid = -1;
    h->tmp = make_temp_dir();
    if (!h->tmp)
        return false;
    snprintf(h->src, sizeof h->src, "%s/src", h->tmp);
    snprintf(h->cache, sizeof h->cache, "%s/cache", h->tmp);
    snprintf(h->log, sizeof h->log, "%s/requests.log", h->tmp);
    if (!make_source(h->src))
        return false;
    char repo_arg[1200], port_file[1100], server_out[1100];
    snprintf(repo_arg, sizeof repo_arg, "%s=%s", REPO, h->src);
    snprintf(port_file, sizeof port_file, "%s/port", h->tmp);
    snprintf(server_out, sizeof server_out, "%s/server.out", h->tmp);
    const char *argv[32] = {NPG_PYTHON3, NPG_SOURCE_DIR "/tests/hub/fake_hub.py", "--repo", repo_arg, "--port-file",
                            port_file, "--log", h->log, "--lifetime", "300"};
    int n = 10;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, server_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    int rc = posix_spawn(&h->pid, NPG_PYTHON3, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot start %s: %s\n", NPG_PYTHON3, strerror(rc));
        h->pid = -1;
        return false;
    }
    for (int i = 0; i < 300; i++) { /* up to 30 s for the port file */
        char *text = read_all(port_file, NULL);
        if (text) {
            h->port = atoi(text);
            free(text);
            return h->port > 0;
        }
        int status;
        if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
            h->pid = -1;
            char *out = read_all(server_out, NULL);
            fprintf(stderr, "fake_hub.py exited: %s\n", out ? out : "");
            free(out);
            return false;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "fake_hub.py wrote no port in 30 s\n");
    return false;
}

static void hub_stop(hub *h) {
    if (h->pid > 0) {
        kill(h->pid, SIGTERM);
        waitpid(h->pid, NULL, 0);
    }
    h->pid = -1;
    if (h->tmp)
        rm_rf(h->tmp);
    free(h->tmp);
    h->tmp = NULL;
}

/* `npugen ARGS` with the fake Hub as HF_ENDPOINT, the case's cache, no token unless `env` sets one,
 * bounded by `timeout`. */
static int run_env(const hub *h, const char *env, const char *args, char **out, char **err) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "env -u HF_TOKEN -u HF_TOKEN_PATH -u HUGGINGFACE_HUB_CACHE HF_HOME=%s/home HF_HUB_CACHE=%s "
             "HF_ENDPOINT=http://127.0.0.1:%d %s timeout 120 %s %s",
             h->tmp, h->cache, h->port, env ? env : "", NPG_CLI, args);
    return run_cmd(cmd, out, err);
}

static int pull(const hub *h, const char *env, const char *args, char **out, char **err) {
    char a[4096];
    snprintf(a, sizeof a, "pull %s", args);
    return run_env(h, env, a, out, err);
}

static bool same_bytes(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = read_all(a, &na), *y = read_all(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    if (!same)
        fprintf(stderr, "  %s and %s differ\n", a, b);
    free(x);
    free(y);
    return same;
}

static void sha256_hex(const char *path, char hex[65]) {
    size_t n = 0;
    char *data = read_all(path, &n);
    unsigned char d[32];
    unsigned int dn = 0;
    EVP_Digest(data, n, d, &dn, EVP_sha256(), NULL);
    free(data);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static char *repo_path(const hub *h, const char *rel) {
    char *r = path2(h->cache, REPO_DIR);
    char *p = path2(r, rel);
    free(r);
    return p;
}

/* "<cache>/models--.../snapshots/<commit>" from refs/main; NULL when absent. */
static char *snapshot_dir(const hub *h, char commit[41]) {
    char *ref = repo_path(h, "refs/main");
    char *text = read_all(ref, NULL);
    free(ref);
    if (!text || strlen(text) != 40) {
        free(text);
        return NULL;
    }
    memcpy(commit, text, 41);
    free(text);
    char rel[128];
    snprintf(rel, sizeof rel, "snapshots/%s", commit);
    return repo_path(h, rel);
}

static bool has_incomplete(const char *dir) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.incomplete' | grep -q .", dir);
    return run_cmd(cmd, NULL, NULL) == 0;
}

static void test_cache_layout(void) {
    hub h;
    REQUIRE(hub_start(&h, NULL));
    char *out = NULL, *err = NULL;
    int rc = pull(&h, NULL, REPO, &out, &err);
    if (rc != 0)
        fprintf(stderr, "  pull: %s", err ? err : "");
    CHECK(rc == 0);
    char commit[41];
    char *snap = snapshot_dir(&h, commit);
    REQUIRE(snap);
    /* stdout: the snapshot folder, one line; stderr silent when it is not a terminal */
    CHECK(out && strncmp(out, snap, strlen(snap)) == 0 && strcmp(out + strlen(snap), "\n") == 0);
    CHECK(err && err[0] == '\0');
    for (size_t i = 0; i < N_FILES; i++) {
        char *link = path2(snap, FILES[i]), *src = path2(h.src, FILES[i]);
        struct stat sb;
        CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
        char target[512] = "";
        ssize_t n = readlink(link, target, sizeof target - 1);
        CHECK(n > 0);
        target[n > 0 ? n : 0] = '\0';
        /* relative: one "../" per folder in the name, then ../../blobs/ */
        size_t depth = (size_t)count(FILES[i], "/");
        char want[64] = "";
        for (size_t d = 0; d < depth; d++)
            strcat(want, "../");
        strcat(want, "../../blobs/");
        CHECK(strncmp(target, want, strlen(want)) == 0);
        CHECK(same_bytes(link, src));
        free(link);
        free(src);
    }
    /* the LFS file's blob is named by its sha256 */
    char hex[65], rel[128];
    char *src = path2(h.src, LFS_NAME);
    sha256_hex(src, hex);
    snprintf(rel, sizeof rel, "blobs/%s", hex);
    char *blob = repo_path(&h, rel);
    CHECK(same_bytes(blob, src));
    free(blob);
    free(src);
    /* equal bytes are one blob: 8 files, 7 blobs */
    char cmd[2048];
    char *blobs = repo_path(&h, "blobs");
    snprintf(cmd, sizeof cmd, "ls '%s' | wc -l", blobs);
    char *wc = NULL;
    CHECK(run_cmd(cmd, &wc, NULL) == 0 && wc && atoi(wc) == N_FILES - 1);
    free(wc);
    CHECK(!has_incomplete(h.cache));
    /* the listing asked for main with blobs, every file by commit */
    char *log = read_all(h.log, NULL);
    CHECK(log && strstr(log, "/api/models/" REPO "/revision/main?blobs=true"));
    char resolve[128];
    snprintf(resolve, sizeof resolve, "/" REPO "/resolve/%s/", commit);
    CHECK(count(log, resolve) == N_FILES - 1); /* config-copy.json shares config.json's blob */
    CHECK(count(log, "/resolve/main/") == 0);
    snprintf(resolve, sizeof resolve, "/" REPO "/resolve/%s/extra/notes/readme.txt", commit);
    CHECK(strstr(log, resolve) != NULL);
    free(log);
    free(out);
    free(err);
    /* a second pull downloads nothing */
    write_file(h.log, "", 0);
    CHECK(pull(&h, NULL, REPO, &out, &err) == 0);
    log = read_all(h.log, NULL);
    CHECK(log && count(log, "/resolve/") == 0 && count(log, "/api/models/") == 1);
    free(log);
    free(out);
    free(err);
    free(blobs);
    free(snap);
    hub_stop(&h);
}

/* generate / tokenize accept the cached repo id and give what the folder gives. */
static void test_repo_id_as_model_dir(void) {
    hub h;
    REQUIRE(hub_start(&h, NULL));
    char *out = NULL, *err = NULL;
    REQUIRE(pull(&h, NULL, REPO, &out, &err) == 0);
    free(out);
    free(err);
    char commit[41];
    char *snap = snapshot_dir(&h, commit);
    REQUIRE(snap);
    char args[1024];
    char *want = NULL;
    snprintf(args, sizeof args, "generate %s --prompt-ids 1,403 -n 6 --print-ids", shared_path("models/stories260K"));
    REQUIRE(run_env(&h, NULL, args, &want, NULL) == 0);
    CHECK(want && strlen(want) > 4);
    const char *specs[] = {REPO, (REPO "@main"), NULL};
    char at_commit[128];
    snprintf(at_commit, sizeof at_commit, "%s@%s", REPO, commit);
    specs[2] = at_commit;
    for (size_t i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "generate %s --prompt-ids 1,403 -n 6 --print-ids", specs[i]);
        int rc = run_env(&h, NULL, args, &out, &err);
        if (rc != 0)
            fprintf(stderr, "  %s: %s", args, err ? err : "");
        CHECK(rc == 0 && out && want && strcmp(out, want) == 0);
        free(out);
        free(err);
    }
    char *tok_want = NULL;
    snprintf(args, sizeof args, "tokenize %s 'Once upon a time'", shared_path("models/stories260K"));
    CHECK(run_env(&h, NULL, args, &tok_want, NULL) == 0);
    CHECK(run_env(&h, NULL, "tokenize " REPO " 'Once upon a time'", &out, NULL) == 0);
    CHECK(out && tok_want && strcmp(out, tok_want) == 0);
    free(out);
    free(tok_want);
    /* export reads the snapshot (its links are copied as bytes) */
    char *exp = path2(h.tmp, "exported");
    snprintf(args, sizeof args, "export -m %s --weight-format fp16 --quiet %s", REPO, exp);
    CHECK(run_env(&h, NULL, args, &out, &err) == 0);
    char *cfg = path2(exp, "tokenizer.json");
    struct stat sb;
    CHECK(lstat(cfg, &sb) == 0 && S_ISREG(sb.st_mode));
    free(cfg);
    free(exp);
    free(out);
    free(err);
    /* not cached: an error that says how to fetch it */
    CHECK(run_env(&h, NULL, "generate npugen-test/missing --prompt-ids 1 -n 2", &out, &err) == 1);
    CHECK(err && strstr(err, "npugen pull npugen-test/missing"));
    free(out);
    free(err);
    CHECK(run_env(&h, NULL, "generate " REPO "@v9 --prompt-ids 1 -n 2", &out, &err) == 1);
    CHECK(err && strstr(err, "revision 'v9'") && strstr(err, "--revision v9"));
    free(out);
    free(err);
    free(want);
    free(snap);
    hub_stop(&h);
}

static void test_output_dir_and_include(void) {
    hub h;
    REQUIRE(hub_start(&h, NULL));
    char *dir = path2(h.tmp, "plain"), args[2048], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "%s -o %s", REPO, dir);
    int rc = pull(&h, NULL, args, &out, &err);
    if (rc != 0)
        fprintf(stderr, "  pull -o: %s", err ? err : "");
    CHECK(rc == 0 && out && strncmp(out, dir, strlen(dir)) == 0);
    free(out);
    free(err);
    for (size_t i = 0; i < N_FILES; i++) {
        char *f = path2(dir, FILES[i]), *src = path2(h.src, FILES[i]);
        struct stat sb;
        CHECK(lstat(f, &sb) == 0 && S_ISREG(sb.st_mode)); /* plain files, not links */
        CHECK(same_bytes(f, src));
        free(f);
        free(src);
    }
    char *hidden = path2(dir, ".cache");
    CHECK(access(hidden, F_OK) != 0); /* the part files' folder is gone once empty */
    free(hidden);
    CHECK(access(h.cache, F_OK) != 0); /* the cache is left alone */
    /* again: every file is verified in place, nothing downloaded */
    write_file(h.log, "", 0);
    CHECK(pull(&h, NULL, args, &out, &err) == 0);
    char *log = read_all(h.log, NULL);
    CHECK(log && count(log, "/resolve/") == 0);
    free(log);
    free(out);
    free(err);
    /* --include: fnmatch patterns, repeatable; '*' crosses '/' as in huggingface_hub */
    char *inc = path2(h.tmp, "inc");
    snprintf(args, sizeof args, "%s -o %s --include '*.json' --include 'extra/notes/'", REPO, inc);
    CHECK(pull(&h, NULL, args, &out, &err) == 0);
    for (size_t i = 0; i < N_FILES; i++) {
        char *f = path2(inc, FILES[i]);
        bool want = strstr(FILES[i], ".json") || strncmp(FILES[i], "extra/notes/", 12) == 0;
        CHECK(access(f, F_OK) == (want ? 0 : -1));
        free(f);
    }
    free(out);
    free(err);
    snprintf(args, sizeof args, "%s -o %s --include '*.gguf'", REPO, inc);
    CHECK(pull(&h, NULL, args, &out, &err) == 1);
    CHECK(err && strstr(err, "no file matches"));
    free(out);
    free(err);
    /* --include into the cache: only those files are linked */
    CHECK(pull(&h, NULL, REPO " --include 'tokenizer*'", &out, &err) == 0);
    char commit[41];
    char *snap = snapshot_dir(&h, commit);
    REQUIRE(snap);
    char *tj = path2(snap, "tokenizer.json"), *mj = path2(snap, LFS_NAME);
    CHECK(access(tj, F_OK) == 0 && access(mj, F_OK) != 0);
    free(tj);
    free(mj);
    free(snap);
    free(out);
    free(err);
    free(inc);
    free(dir);
    hub_stop(&h);
}

/* The server cuts every file's first transfer half-way: the pull resumes each with a Range request. */
static void test_resume_after_drop(void) {
    const char *const extra[] = {"--drop-once", NULL};
    hub h;
    REQUIRE(hub_start(&h, extra));
    char *out = NULL, *err = NULL;
    int rc = pull(&h, NULL, REPO, &out, &err);
    if (rc != 0)
        fprintf(stderr, "  pull: %s", err ? err : "");
    CHECK(rc == 0);
    char commit[41];
    char *snap = snapshot_dir(&h, commit);
    REQUIRE(snap);
    for (size_t i = 0; i < N_FILES; i++) {
        char *link = path2(snap, FILES[i]), *src = path2(h.src, FILES[i]);
        CHECK(same_bytes(link, src));
        free(link);
        free(src);
    }
    /* the LFS file: resumed from exactly half its size */
    char *src = path2(h.src, LFS_NAME);
    struct stat sb;
    CHECK(stat(src, &sb) == 0);
    char range[64];
    snprintf(range, sizeof range, "\"range\": \"bytes=%lld-\"", (long long)sb.st_size / 2);
    char *log = read_all(h.log, NULL);
    CHECK(log && strstr(log, range));
    /* one resumed request per blob (7), and the LFS one again after its redirect to /cdn/ */
    CHECK(log && count(log, "\"range\": \"bytes=") == N_FILES);
    CHECK(!has_incomplete(h.cache));
    free(log);
    free(src);
    free(snap);
    free(out);
    free(err);
    hub_stop(&h);
}

/* A part file left by an earlier pull is resumed, not downloaded again. */
static void test_resume_across_pulls(void) {
    hub h;
    REQUIRE(hub_start(&h, NULL));
    char hex[65], rel[160];
    char *src = path2(h.src, LFS_NAME);
    sha256_hex(src, hex);
    size_t n = 0;
    char *bytes = read_all(src, &n);
    REQUIRE(bytes && n > 1000);
    char *blobs = repo_path(&h, "blobs");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", blobs);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(rel, sizeof rel, "blobs/%s.incomplete", hex);
    char *part = repo_path(&h, rel);
    write_file(part, bytes, 1000);
    char *out = NULL, *err = NULL;
    CHECK(pull(&h, NULL, REPO " --include " LFS_NAME, &out, &err) == 0);
    char *log = read_all(h.log, NULL);
    CHECK(log && strstr(log, "\"range\": \"bytes=1000-\""));
    CHECK(access(part, F_OK) != 0);
    snprintf(rel, sizeof rel, "blobs/%s", hex);
    char *blob = repo_path(&h, rel);
    CHECK(same_bytes(blob, src));
    free(log);
    free(out);
    free(err);
    /* a part file whose bytes are not the file's start: the whole is refused, then fetched afresh */
    CHECK(unlink(blob) == 0);
    memset(bytes, 'x', 1000);
    write_file(part, bytes, 1000);
    CHECK(pull(&h, NULL, REPO " --include " LFS_NAME, &out, &err) == 1);
    CHECK(err && strstr(err, "sha256") && strstr(err, "discarded"));
    CHECK(access(part, F_OK) != 0 && access(blob, F_OK) != 0);
    free(out);
    free(err);
    CHECK(pull(&h, NULL, REPO " --include " LFS_NAME, &out, &err) == 0);
    CHECK(same_bytes(blob, src));
    free(blob);
    free(out);
    free(err);
    free(part);
    free(blobs);
    free(bytes);
    free(src);
    hub_stop(&h);
}

/* Bytes that do not hash to the Hub's sha256 are refused and leave nothing behind. */
static void test_sha256_mismatch(void) {
    const char *const extra[] = {"--corrupt", LFS_NAME, NULL};
    hub h;
    REQUIRE(hub_start(&h, extra));
    char *out = NULL, *err = NULL;
    CHECK(pull(&h, NULL, REPO, &out, &err) == 1);
    CHECK(err && strstr(err, "npugen pull: ") && strstr(err, LFS_NAME) && strstr(err, "sha256"));
    CHECK(out && out[0] == '\0');
    char hex[65], rel[160];
    char *src = path2(h.src, LFS_NAME);
    sha256_hex(src, hex);
    snprintf(rel, sizeof rel, "blobs/%s", hex);
    char *blob = repo_path(&h, rel);
    CHECK(access(blob, F_OK) != 0);
    snprintf(rel, sizeof rel, "blobs/%s.incomplete", hex);
    char *part = repo_path(&h, rel);
    CHECK(access(part, F_OK) != 0);
    free(part);
    char *ref = repo_path(&h, "refs/main");
    CHECK(access(ref, F_OK) != 0); /* the repo id does not resolve to a partial snapshot */
    free(out);
    free(err);
    /* -o: no file under the final name either */
    char *dir = path2(h.tmp, "plain"), args[2048], cmd[4096];
    snprintf(args, sizeof args, "%s -o %s", REPO, dir);
    CHECK(pull(&h, NULL, args, &out, &err) == 1);
    char *f = path2(dir, LFS_NAME);
    CHECK(access(f, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "find '%s' -name '%s.*.incomplete' | grep -q .", dir, hex);
    CHECK(run_cmd(cmd, NULL, NULL) != 0);
    free(f);
    free(dir);
    free(ref);
    free(blob);
    free(src);
    free(out);
    free(err);
    hub_stop(&h);
}

static void test_token(void) {
    const char *const extra[] = {"--token", "hf_secret123", NULL};
    hub h;
    REQUIRE(hub_start(&h, extra));
    char *out = NULL, *err = NULL;
    CHECK(pull(&h, NULL, REPO, &out, &err) == 1);
    CHECK(err && strstr(err, "HTTP 401") && strstr(err, "HF_TOKEN"));
    free(out);
    free(err);
    CHECK(pull(&h, "HF_TOKEN=hf_wrong", REPO, &out, &err) == 1);
    CHECK(err && strstr(err, "HTTP 401") && strstr(err, "Invalid credentials"));
    free(out);
    free(err);
    int rc = pull(&h, "HF_TOKEN=hf_secret123", REPO, &out, &err);
    if (rc != 0)
        fprintf(stderr, "  pull with token: %s", err ? err : "");
    CHECK(rc == 0);
    char *log = read_all(h.log, NULL);
    CHECK(log && strstr(log, "\"auth\": \"Bearer hf_secret123\""));
    free(log);
    free(out);
    free(err);
    /* the token file ($HF_HOME/token) when HF_TOKEN is not set */
    char *home = path2(h.tmp, "home"), *tok = path2(home, "token");
    mkdir(home, 0777);
    write_file(tok, "hf_secret123\n", 13);
    char *dir = path2(h.tmp, "plain"), args[2048];
    snprintf(args, sizeof args, "%s -o %s --include config.json", REPO, dir);
    CHECK(pull(&h, NULL, args, &out, &err) == 0);
    free(out);
    free(err);
    free(dir);
    free(tok);
    free(home);
    hub_stop(&h);
}

static void test_endpoint_and_usage(void) {
    hub h;
    REQUIRE(hub_start(&h, NULL));
    char *out = NULL, *err = NULL;
    /* HF_ENDPOINT decides where requests go: a trailing '/' is fine, a closed port fails naming it */
    char env[256];
    snprintf(env, sizeof env, "HF_ENDPOINT=http://127.0.0.1:%d/", h.port);
    CHECK(pull(&h, env, REPO " --include config.json", &out, &err) == 0);
    free(out);
    free(err);
    CHECK(pull(&h, "HF_ENDPOINT=http://127.0.0.1:1", REPO, &out, &err) == 1);
    CHECK(err && strstr(err, "127.0.0.1:1/api/models/" REPO "/revision/main"));
    free(out);
    free(err);
    CHECK(pull(&h, "HF_ENDPOINT=ftp://example", REPO, &out, &err) == 1);
    CHECK(err && strstr(err, "HF_ENDPOINT"));
    free(out);
    free(err);
    /* Hub errors */
    CHECK(pull(&h, NULL, "npugen-test/none", &out, &err) == 1);
    CHECK(err && strstr(err, "HTTP 404") && strstr(err, "Repository not found"));
    free(out);
    free(err);
    CHECK(pull(&h, NULL, REPO " --revision v7", &out, &err) == 1);
    CHECK(err && strstr(err, "HTTP 404") && strstr(err, "v7"));
    free(out);
    free(err);
    /* usage errors: exit 2, one line */
    const char *bad[] = {"", "a/b/c", "../x", REPO " --revision ../x", REPO " -j 0", REPO " --bogus", REPO " extra",
                         REPO " -o x --cache-dir y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = pull(&h, NULL, bad[i], &out, &err);
        if (rc != 2)
            fprintf(stderr, "  pull %s: rc %d\n", bad[i], rc);
        CHECK(rc == 2 && err && strncmp(err, "npugen pull: ", 13) == 0 && count(err, "\n") == 1);
        free(out);
        free(err);
    }
    /* on a terminal (script(1) gives it one): a progress line with bytes, rate, ETA and files */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "script -qec \"env -u HF_TOKEN HF_HOME=%s/home HF_ENDPOINT=http://127.0.0.1:%d timeout 120 %s pull %s -o "
             "%s/tty\" /dev/null",
             h.tmp, h.port, NPG_CLI, REPO, h.tmp);
    CHECK(run_cmd(cmd, &out, &err) == 0);
    CHECK(out && strstr(out, "100%") && strstr(out, "ETA") && strstr(out, "/s") && strstr(out, "8/8 files"));
    CHECK(out && strstr(out, "8 files (8 downloaded"));
    free(out);
    free(err);
    CHECK(pull(&h, NULL, "--help", &out, &err) == 0);
    CHECK(out && strstr(out, "usage: npugen pull REPO_ID") && strstr(out, "HF_ENDPOINT"));
    free(out);
    free(err);
    hub_stop(&h);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    RUN(test_cache_layout);
    RUN(test_repo_id_as_model_dir);
    RUN(test_output_dir_and_include);
    RUN(test_resume_after_drop);
    RUN(test_resume_across_pulls);
    RUN(test_sha256_mismatch);
    RUN(test_token);
    RUN(test_endpoint_and_usage);
    return npg_test_summary();
}
