/* test_docs.c — the documentation runs as written: every fenced block of README.md and every docs/ Markdown file
 * marked runnable (an HTML comment line `<!-- runnable -->` right before the fence; DEVELOPERS.md)
 * is run from the repository root, with build/ being this build and ../shared beside, and must exit 0.
 *
 *   ```sh / ```bash  the block is one bash script (`-e -o pipefail`, stdin from /dev/null)
 *   ```c             the block is one program, built with the README's line
 *                    `cc -std=c11 -Iinclude FILE.c -Lbuild -lnpugen -Wl,-rpath,$PWD/build` and run
 *
 * The root is a scratch folder of links to the source tree's entries (build -> this build folder,
 * ../shared -> the test material), so files a block writes land there, not in the source tree, and
 * the sanitizer build runs the docs against its own binaries. In a sanitized build `cc` is a wrapper
 * that adds -fsanitize=address,undefined, so programs linked against the sanitized library start with
 * the sanitizer runtime first, as it requires. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

typedef struct scratch {
    char *dir;       /* the scratch folder */
    char repo[1024]; /* <dir>/repo: the root the blocks run in */
    char path_env[4096];
} scratch;

static bool make_scratch(scratch *s) {
    s->dir = make_temp_dir();
    if (!s->dir)
        return false;
    snprintf(s->repo, sizeof s->repo, "%s/repo", s->dir);
    char link[2048];
    snprintf(link, sizeof link, "%s/shared", s->dir);
    if (mkdir(s->repo, 0700) != 0 || symlink(NPG_SHARED_DIR, link) != 0)
        return false;
    DIR *d = opendir(NPG_SOURCE_DIR);
    if (!d)
        return false;
    struct dirent *e;
    bool ok = true;
    while ((e = readdir(d)) != NULL && ok) {
        /* build folders are replaced by this build; hidden entries are not what docs run */
        if (e->d_name[0] == '.' || strncmp(e->d_name, "build", 5) == 0)
            continue;
        char target[2048];
        snprintf(target, sizeof target, "%s/%s", NPG_SOURCE_DIR, e->d_name);
        snprintf(link, sizeof link, "%s/%s", s->repo, e->d_name);
        ok = symlink(target, link) == 0;
    }
    closedir(d);
    snprintf(link, sizeof link, "%s/build", s->repo);
    ok = ok && symlink(NPG_BUILD_DIR, link) == 0;
    /* a `cc` that adds the sanitizers when this build has them */
    snprintf(s->path_env, sizeof s->path_env, "%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    if (ok && SANITIZED) {
        char bin[1100], cc[1200], old[sizeof s->path_env];
        snprintf(bin, sizeof bin, "%s/bin", s->dir);
        snprintf(cc, sizeof cc, "%s/cc", bin);
        const char *wrapper = "#!/bin/sh\nexec /usr/bin/cc -fsanitize=address,undefined -fno-sanitize-recover=all \"$@\"\n";
        ok = mkdir(bin, 0700) == 0;
        if (ok) {
            write_file(cc, wrapper, strlen(wrapper));
            ok = chmod(cc, 0700) == 0;
        }
        memcpy(old, s->path_env, sizeof old);
        int k = snprintf(s->path_env, sizeof s->path_env, "%s:%s", bin, old);
        ok = ok && k > 0 && (size_t)k < sizeof s->path_env;
    }
    return ok;
}

/* Runs one block; prints where it comes from and its output when it fails. Returns whether it passed. */
static bool run_block(const scratch *s, const char *doc, int line, const char *lang, const char *body, int index) {
    char file[1200], cmd[8192];
    bool is_c = strcmp(lang, "c") == 0;
    snprintf(file, sizeof file, "%s/block%d.%s", s->dir, index, is_c ? "c" : "sh");
    write_file(file, body, strlen(body));
    if (is_c)
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && PATH='%s' && export PATH && cc -std=c11 -Iinclude '%s' -Lbuild -lnpugen "
                 "-Wl,-rpath,\"$PWD/build\" -o '%s/block%d' && '%s/block%d' </dev/null",
                 s->repo, s->path_env, file, s->dir, index, s->dir, index);
    else
        snprintf(cmd, sizeof cmd, "cd '%s' && PATH='%s' && export PATH && bash -e -o pipefail '%s' </dev/null", s->repo,
                 s->path_env, file);
    char *out = NULL, *err = NULL;
    int rc = run_cmd(cmd, &out, &err);
    fprintf(stderr, "  %s:%d (```%s): exit %d\n", doc, line, lang, rc);
    if (rc != 0) {
        fprintf(stderr, "----- block -----\n%s----- stdout -----\n%s----- stderr -----\n%s-----\n", body,
                out ? out : "", err ? err : "");
    }
    free(out);
    free(err);
    return rc == 0;
}

/* Finds the runnable blocks of the Markdown file at path (rel: its name in messages) and runs them;
 * returns how many; *failures counts the blocks that failed and the mistakes in markers. */
static int run_doc(const scratch *s, const char *path, const char *rel, int *index, int *failures) {
    char *text = read_all(path, NULL);
    if (!text) {
        fprintf(stderr, "  cannot read %s\n", path);
        ++*failures;
        return 0;
    }
    int n = 0, line = 1;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *next = eol ? eol + 1 : p + len;
        if (len == strlen("<!-- runnable -->") && strncmp(p, "<!-- runnable -->", len) == 0) {
            /* the fence must follow at once: a marker on anything else is a mistake in the doc */
            char lang[16] = "";
            char *fence_end = strchr(next, '\n');
            if (strncmp(next, "```", 3) == 0 && fence_end && fence_end - next - 3 < (long)sizeof lang)
                snprintf(lang, sizeof lang, "%.*s", (int)(fence_end - next - 3), next + 3);
            bool known = strcmp(lang, "sh") == 0 || strcmp(lang, "bash") == 0 || strcmp(lang, "c") == 0;
            if (!known) {
                fprintf(stderr, "  %s:%d: <!-- runnable --> must precede a ```sh, ```bash or ```c fence\n", rel, line);
                ++*failures;
                break;
            }
            char *body = fence_end + 1, *close = body;
            int body_lines = 0;
            while (*close && strncmp(close, "```", 3) != 0) {
                char *nl = strchr(close, '\n');
                close = nl ? nl + 1 : close + strlen(close);
                body_lines++;
            }
            if (!*close) {
                fprintf(stderr, "  %s:%d: runnable block without a closing fence\n", rel, line);
                ++*failures;
                break;
            }
            char saved = *close;
            *close = '\0';
            if (!run_block(s, rel, line + 2, lang, body, (*index)++))
                ++*failures;
            *close = saved;
            n++;
            line += 2 + body_lines;
            next = strchr(close, '\n') ? strchr(close, '\n') + 1 : close + strlen(close);
        }
        line++;
        p = next;
    }
    free(text);
    return n;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void test_runnable_blocks(void) {
    scratch s = {0};
    REQUIRE(make_scratch(&s));
    char path[2048];
    snprintf(path, sizeof path, "%s/README.md", NPG_SOURCE_DIR);
    int index = 0, failures = 0, n = run_doc(&s, path, "README.md", &index, &failures);
    char docs[2048];
    snprintf(docs, sizeof docs, "%s/docs", NPG_SOURCE_DIR);
    DIR *d = opendir(docs);
    CHECK(d != NULL);
    char *names[64];
    size_t n_names = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n_names < 64) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".md") == 0)
            names[n_names++] = strdup(e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, n_names, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n_names; i++) {
        char rel[512];
        snprintf(rel, sizeof rel, "docs/%s", names[i]);
        snprintf(path, sizeof path, "%s/%s", NPG_SOURCE_DIR, rel);
        n += run_doc(&s, path, rel, &index, &failures);
        free(names[i]);
    }
    fprintf(stderr, "  %d runnable blocks, %d failed\n", n, failures);
    CHECK(failures == 0);
    /* README's command line and C sample, docs/templates.md's sample and docs/npu.md's examples */
    CHECK(n >= 6);
    rm_rf(s.dir);
    free(s.dir);
}

/* The extraction itself: a marker before anything but a known fence is reported, not skipped, and a
 * failing block fails (both print what they report: expected here). */
static void test_marker_rules(void) {
    scratch s = {0};
    REQUIRE(make_scratch(&s));
    int index = 0, failures = 0;
    char path[2048];
    snprintf(path, sizeof path, "%s/bad.md", s.dir);
    const char *bad = "text\n<!-- runnable -->\n```python\nprint(1)\n```\n";
    write_file(path, bad, strlen(bad));
    CHECK(run_doc(&s, path, "bad.md (expected to be reported)", &index, &failures) == 0 && failures == 1);
    const char *failing = "<!-- runnable -->\n```sh\ntrue\nfalse\necho not reached\n```\n";
    write_file(path, failing, strlen(failing));
    failures = 0;
    CHECK(run_doc(&s, path, "bad.md (expected to fail)", &index, &failures) == 1 && failures == 1);
    const char *passing = "<!-- runnable -->\n```sh\ntest -x build/npugen && test -d ../shared/models\n```\n\n"
                          "<!-- runnable -->\n```c\n#include \"npugen.h\"\nint main(void) { return *npg_version() ? 0 : 1; }\n```\n";
    write_file(path, passing, strlen(passing));
    failures = 0;
    CHECK(run_doc(&s, path, "good.md", &index, &failures) == 2 && failures == 0);
    rm_rf(s.dir);
    free(s.dir);
}

/* bench/benchmarks.sh (docs/benchmarks.md) says what it writes, asks first, and an interrupted run
 * leaves no half-written folder. A stub npg-random-model stands in for the 12 GB of models. */
static void test_benchmarks_script(void) {
    char *tmp = make_temp_dir();
    REQUIRE(tmp);
    char cmd[8192], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/bench/benchmarks.sh' --help", NPG_SOURCE_DIR);
    CHECK(run_cmd(cmd, &out, &err) == 0 && out && strstr(out, "usage:") && strstr(out, "12 GB") &&
          strstr(out, "--yes"));
    free(out), free(err);
    /* no terminal, no --yes: refused before anything is written */
    snprintf(cmd, sizeof cmd, "bash '%s/bench/benchmarks.sh' '%s' '%s/work' '%s' </dev/null", NPG_SOURCE_DIR,
             NPG_BUILD_DIR, tmp, NPG_SHARED_DIR);
    CHECK(run_cmd(cmd, &out, &err) == 2 && err && strstr(err, "12 GB") && strstr(err, "--yes"));
    free(out), free(err);
    snprintf(cmd, sizeof cmd, "%s/work", tmp);
    CHECK(access(cmd, F_OK) != 0);
    /* interrupted while a model is half-written: the trap removes it */
    char stub[1200];
    snprintf(stub, sizeof stub, "%s/fakebuild/npg-random-model", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/fakebuild'", tmp);
    CHECK(run_cmd(cmd, NULL, NULL) == 0);
    const char *body = "#!/bin/sh\nmkdir -p \"$2.tmp\" \"$2.tmp-abc123\"\nsleep 3\n";
    write_file(stub, body, strlen(body));
    CHECK(chmod(stub, 0700) == 0);
    snprintf(cmd, sizeof cmd,
             "bash '%s/bench/benchmarks.sh' --yes '%s/fakebuild' '%s/work' '%s' & pid=$!; "
             /* interrupt once the stub is writing (polling, not a fixed sleep: a loaded machine is slow) */
             "for i in $(seq 400); do ls -d '%s'/work/*.tmp-abc123 >/dev/null 2>&1 && break; sleep 0.05; done; "
             "kill -TERM $pid; wait $pid; echo \"rc=$?\"; ls -A '%s/work'",
             NPG_SOURCE_DIR, tmp, tmp, NPG_SHARED_DIR, tmp, tmp);
    CHECK(run_cmd(cmd, &out, &err) == 0);
    CHECK(out && strcmp(out, "rc=130\n") == 0); /* interrupted, and the work folder is empty */
    if (!out || strcmp(out, "rc=130\n") != 0)
        fprintf(stderr, "  interrupted run: %s / %s\n", out ? out : "", err ? err : "");
    free(out), free(err);
    rm_rf(tmp);
    free(tmp);
}

int main(void) {
    RUN(test_benchmarks_script);
    RUN(test_marker_rules);
    RUN(test_runnable_blocks);
    return npg_test_summary();
}
