/* cmd_pull.c — `npugen pull`: fetch a model repo from the Hugging Face Hub (or a mirror) into the
 * Hub's cache, where `npugen generate ORG/NAME` finds it, or into a plain folder with -o. The work is
 * in src/hub/; this file parses options and draws the progress bar. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"

static const char *const CMD = "pull";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen pull REPO_ID [--revision R] [--include GLOB]... [-o DIR]\n"
            "\n"
            "Downloads a model repo (ORG/NAME) from the Hugging Face Hub into the Hub's cache, shared with\n"
            "huggingface_hub; afterwards ORG/NAME (or ORG/NAME@REVISION) can be given wherever a MODEL_DIR\n"
            "is, e.g. npugen generate ORG/NAME -p \"Hello\". Prints the folder it filled.\n"
            "Several files download at once; an interrupted pull resumes where it stopped; every file is\n"
            "checked against the Hub's hash (sha256 for LFS files) before it gets its name.\n"
            "\n"
            "  --revision R          a branch, tag or commit (default main)\n"
            "  --include GLOB        only files matching GLOB (fnmatch, e.g. '*.json'; repeatable)\n"
            "  -o, --output DIR      write a plain folder DIR instead of the cache\n"
            "  --cache-dir DIR       the cache folder (default: HF_HUB_CACHE, else $HF_HOME/hub, else\n"
            "                        ~/.cache/huggingface/hub)\n"
            "  -j, --parallel N      files downloaded at once (default 8)\n"
            "  -q, --quiet           no progress bar (it is drawn only when stderr is a terminal)\n"
            "  -h, --help            this help\n"
            "\n"
            "environment: HF_ENDPOINT (a mirror; default https://huggingface.co), HF_TOKEN (private or\n"
            "gated repos; else the file HF_TOKEN_PATH or $HF_HOME/token), HF_HUB_CACHE, HF_HOME.\n");
}

typedef struct bar {
    double t0;
    bool drawn;
} bar;

static void human(double bytes, char *buf, size_t cap) {
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000.0 && u < 4) {
        bytes /= 1000.0;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

/* One line redrawn in place: bar, percent, bytes, rate, ETA, files. */
static void draw(void *user, const npg_hub_progress *p) {
    bar *b = user;
    double secs = (npg_now_ms() - b->t0) / 1000.0;
    double frac = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total : 1.0;
    double rate = secs > 0.2 ? (double)p->bytes_fetched / secs : 0.0;
    char done[32], total[32], speed[32], eta[32] = "--:--";
    human((double)p->bytes_done, done, sizeof done);
    human((double)p->bytes_total, total, sizeof total);
    human(rate, speed, sizeof speed);
    if (rate > 0 && p->bytes_total >= p->bytes_done) {
        long s = (long)((double)(p->bytes_total - p->bytes_done) / rate);
        snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
    }
    char cells[25];
    int fill = (int)(frac * 24.0 + 0.5);
    for (int i = 0; i < 24; i++)
        cells[i] = i < fill ? '#' : '.';
    cells[24] = '\0';
    fprintf(stderr, "\r[%s] %3d%%  %s / %s  %s/s  ETA %s  %zu/%zu files\033[K", cells, (int)(frac * 100.0), done,
            total, speed, eta, p->files_done, p->files_total);
    fflush(stderr);
    b->drawn = true;
}

int npg_cmd_pull(int argc, char **argv) {
    const char *repo = NULL, *revision = NULL, *out_dir = NULL, *cache_dir = NULL;
    bool quiet = false;
    long long parallel = 8;
    const char **includes = calloc((size_t)argc, sizeof *includes);
    if (!includes)
        return cli_fail(CMD, NPG_ERR_OUT_OF_MEMORY);
    size_t n_inc = 0;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            usage(stdout);
            free(includes);
            return 0;
        } else if (strcmp(a, "--revision") == 0) {
            rc = cli_value(CMD, argc, argv, &i, &revision) ? 0 : 2;
        } else if (strcmp(a, "--include") == 0) {
            rc = cli_value(CMD, argc, argv, &i, &v) ? 0 : 2;
            if (rc == 0)
                includes[n_inc++] = v;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            rc = cli_value(CMD, argc, argv, &i, &out_dir) ? 0 : 2;
        } else if (strcmp(a, "--cache-dir") == 0) {
            rc = cli_value(CMD, argc, argv, &i, &cache_dir) ? 0 : 2;
        } else if (strcmp(a, "-j") == 0 || strcmp(a, "--parallel") == 0) {
            rc = cli_value(CMD, argc, argv, &i, &v) && cli_parse_long(CMD, a, v, 1, 64, &parallel) ? 0 : 2;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (a[0] == '-' && a[1]) {
            cli_error(CMD, "unknown option '%s' (see npugen pull --help)", a);
            rc = 2;
        } else if (!repo) {
            repo = a;
        } else {
            cli_error(CMD, "unexpected argument '%s' (one REPO_ID)", a);
            rc = 2;
        }
    }
    if (rc == 0 && !repo) {
        cli_error(CMD, "missing REPO_ID, e.g. npugen pull HuggingFaceTB/SmolLM2-135M-Instruct (see --help)");
        rc = 2;
    }
    if (rc == 0 && !npg_hub_valid_repo_id(repo)) {
        cli_error(CMD, "'%s' is not a Hugging Face repo id (ORG/NAME; give a revision with --revision)", repo);
        rc = 2;
    }
    if (rc == 0 && revision && !npg_hub_valid_revision(revision)) {
        cli_error(CMD, "--revision '%s' is not a branch, tag or commit name", revision);
        rc = 2;
    }
    if (rc == 0 && out_dir && cache_dir) {
        cli_error(CMD, "-o writes a plain folder and --cache-dir names the cache: give one of them");
        rc = 2;
    }
    if (rc != 0) {
        free(includes);
        return rc;
    }
    bar b = {.t0 = npg_now_ms()};
    npg_hub_pull_options o = {.repo_id = repo,
                              .revision = revision,
                              .includes = includes,
                              .n_includes = n_inc,
                              .out_dir = out_dir,
                              .cache_dir = cache_dir,
                              .parallel = (int)parallel,
                              .progress = !quiet && isatty(STDERR_FILENO) ? draw : NULL,
                              .user = &b};
    npg_hub_pull_result r;
    npg_status st = npg_hub_pull(&o, &r);
    free(includes);
    if (b.drawn)
        fputc('\n', stderr);
    if (st != NPG_OK)
        return cli_fail(CMD, st);
    if (b.drawn) {
        char got[32];
        human((double)r.bytes_fetched, got, sizeof got);
        fprintf(stderr, "%s@%s: %zu files (%zu downloaded, %s) at commit %s\n", repo, revision ? revision : "main",
                r.files, r.files_downloaded, got, r.commit);
    }
    printf("%s\n", r.folder);
    npg_hub_pull_result_free(&r);
    return 0;
}
