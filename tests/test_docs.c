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
        char bin[1100], cc[1200], path[4096];
        snprintf(bin, sizeof bin, "%s/bin", s->dir);
        snprintf(cc, sizeof cc, "%s/cc", bin);
        const char *wrapper = "#!/bin/sh\nexec /usr/bin/cc -fsanitize=address,undefined -fno-sanitize-recover=all \"$@\"\n";
        ok = mkdir(bin, 0700) == 0;
        if (ok) {
            write_file(cc, wrapper, strlen(wrapper));
            ok = chmod(cc, 0700) == 0;
        }
        snprintf(path, sizeof path, "%s:%s", bin, s->path_env);
        snprintf(s->path_env, sizeof s->path_env, "%s", path);
    }
    return ok;
}

/* Runs one block; prints where it comes from and its output when it fails. */
static void run_block(const scratch *s, const char *doc, int line, const char *lang, const char *body, int index) {
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
        CHECK(rc == 0);
    }
    free(out);
    free(err);
}

/* Finds the runnable blocks of the Markdown file at path (rel: its name in messages) and runs them;
 * returns how many. */
static int run_doc(const scratch *s, const char *path, const char *rel, int *index) {
    char *text = read_all(path, NULL);
    if (!text) {
        fprintf(stderr, "  cannot read %s\n", path);
        CHECK(false);
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
                CHECK(false);
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
                CHECK(false);
                break;
            }
            char saved = *close;
            *close = '\0';
            run_block(s, rel, line + 2, lang, body, (*index)++);
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
    int index = 0, n = run_doc(&s, path, "README.md", &index);
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
        n += run_doc(&s, path, rel, &index);
        free(names[i]);
    }
    fprintf(stderr, "  %d runnable blocks\n", n);
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
    int before = npg_test_failures, index = 0;
    char path[2048];
    snprintf(path, sizeof path, "%s/bad.md", s.dir);
    const char *bad = "text\n<!-- runnable -->\n```python\nprint(1)\n```\n";
    write_file(path, bad, strlen(bad));
    CHECK(run_doc(&s, path, "bad.md (expected to be reported)", &index) == 0);
    bool reported = npg_test_failures == before + 1;
    npg_test_failures = before;
    CHECK(reported);
    const char *failing = "<!-- runnable -->\n```sh\ntrue\nfalse\necho not reached\n```\n";
    write_file(path, failing, strlen(failing));
    CHECK(run_doc(&s, path, "bad.md (expected to fail)", &index) == 1);
    reported = npg_test_failures == before + 1;
    npg_test_failures = before;
    CHECK(reported);
    const char *passing = "<!-- runnable -->\n```sh\ntest -x build/npugen && test -d ../shared/models\n```\n";
    write_file(path, passing, strlen(passing));
    CHECK(run_doc(&s, path, "good.md", &index) == 1);
    rm_rf(s.dir);
    free(s.dir);
}

int main(void) {
    RUN(test_marker_rules);
    RUN(test_runnable_blocks);
    return npg_test_summary();
}
