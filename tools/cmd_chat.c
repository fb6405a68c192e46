/* cmd_chat.c — `npugen chat`: a multi-turn conversation with the model's chat template, keeping the
 * KV cache across turns (start_chat / generate / finish_chat). On a terminal it is an interactive
 * REPL; otherwise it reads one user turn per line from stdin, so it can be scripted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "gen_options.h"
#include "gen_pipe.h"
#include "perf_print.h"

static const char *const CMD = "chat";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen chat MODEL_DIR [--system TEXT] [options]\n\n"
            "Talks with a chat model. Each line on stdin is one user turn; the reply is streamed to\n"
            "stdout and ends with a newline. Commands: /reset starts a new conversation, /exit quits\n"
            "(so does end of input). The history stays in the KV cache: a turn prefills only its own\n"
            "tokens. With a vision-language model (Gemma-3, LLaVA), /image FILE adds an image (PNG or\n"
            "JPEG) to the next turn (repeat for several); it stays in the conversation, encoded once, and\n"
            "goes where the turn's text puts <start_of_image> / <image> / <ov_genai_image_N>, else before\n"
            "the text. A turn that is refused (invalid UTF-8, context full: /reset) gets an error on\n"
            "stderr and an empty reply line; the conversation goes on and the exit status is 1.\n\n"
            "  --system TEXT              a system message at the start of every conversation\n"
            "  --perf                     print each turn's performance metrics (and the sampling seed) to stderr\n"
            "%s",
            gen_options_help);
}

/* Reads one line (without its newline) into *buf; false at end of input. */
static bool read_line(char **buf, size_t *cap) {
    size_t n = 0;
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
        if (n + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            char *nb = realloc(*buf, nc);
            if (!nb)
                return false;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0)
        return false;
    if (!*buf) {
        *buf = malloc(1);
        if (!*buf)
            return false;
        *cap = 1;
    }
    if (n > 0 && (*buf)[n - 1] == '\r')
        n--;
    (*buf)[n] = '\0';
    return true;
}

static int converse(gen_pipe *pipe, const npg_generation_config *cfg, const char *system, bool perf) {
    bool tty = isatty(STDIN_FILENO) != 0;
    npg_streamer streamer = {gen_stream_stdout, NULL};
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    size_t turns = 0; /* answered turns since the last (re)start */
    npg_image *pending[GEN_MAX_IMAGES] = {0}; /* /image FILE: for the next turn */
    size_t n_pending = 0;
    npg_status st = gen_pipe_start_chat(pipe, system);
    if (st != NPG_OK)
        return cli_fail(CMD, st);
    if (tty)
        fprintf(stderr, "chat: /reset starts over, /exit quits%s\n", pipe->vlm ? ", /image FILE adds an image" : "");
    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        if (!read_line(&line, &cap))
            break;
        if (line[0] == '\0')
            continue;
        if (strcmp(line, "/exit") == 0 || strcmp(line, "/quit") == 0)
            break;
        if (strncmp(line, "/image", 6) == 0 && (line[6] == ' ' || line[6] == '\0')) {
            const char *file = line + 6;
            while (*file == ' ')
                file++;
            if (!pipe->vlm || !*file || n_pending == GEN_MAX_IMAGES) {
                cli_error(CMD, "/image: %s", !pipe->vlm ? "this model is a text model (no vision tower)"
                                             : !*file  ? "give a file: /image FILE"
                                                       : "at most 16 images per turn");
                rc = 1;
            } else if (gen_load_images(CMD, &file, 1, &pending[n_pending])) {
                n_pending++;
                if (tty)
                    fprintf(stderr, "(image %s added to the next turn)\n", file);
            } else {
                rc = 1;
            }
            continue;
        }
        if (strcmp(line, "/reset") == 0) {
            gen_free_images(pending, n_pending);
            n_pending = 0;
            st = gen_pipe_finish_chat(pipe);
            if (st == NPG_OK)
                st = gen_pipe_start_chat(pipe, system);
            if (st != NPG_OK) {
                rc = cli_fail(CMD, st);
                break;
            }
            turns = 0;
            if (tty)
                fprintf(stderr, "(new conversation)\n");
            continue;
        }
        npg_decoded_results *res = NULL;
        st = gen_pipe_generate(pipe, line, (const npg_image *const *)pending, n_pending, cfg, &streamer, &res);
        gen_free_images(pending, n_pending); /* kept by the conversation (or refused with the turn) */
        n_pending = 0;
        if (st == NPG_ERR_INVALID_ARGUMENT || st == NPG_ERR_LIMIT) {
            /* A turn refused before any work (bad text, history past the context) leaves the
             * conversation as it was: report it, answer with an empty line (one line per turn) and
             * go on; the exit status says something failed. */
            fflush(stdout);
            if (st == NPG_ERR_LIMIT) { /* the history no longer fits: say how to go on */
                cli_error(CMD, "%s (%s)", npg_last_error(),
                          turns ? "the conversation is full: type /reset to start a new one"
                                : "the message alone is too long: shorten it");
                rc = 1;
            } else {
                rc = cli_fail(CMD, st);
            }
            putchar('\n');
            fflush(stdout);
            continue;
        }
        if (st != NPG_OK) {
            fflush(stdout);
            rc = cli_fail(CMD, st);
            break;
        }
        turns++;
        putchar('\n');
        fflush(stdout);
        gen_report_finish(CMD, res);
        if (perf)
            perf_print_results(stderr, res);
        npg_decoded_results_free(res);
    }
    free(line);
    gen_free_images(pending, n_pending);
    gen_pipe_finish_chat(pipe);
    return rc;
}

int npg_cmd_chat(int argc, char **argv) {
    gen_options o;
    if (gen_options_init(&o) != NPG_OK)
        return cli_fail(CMD, NPG_ERR_OUT_OF_MEMORY);
    const char *model_dir = NULL, *system = NULL;
    bool perf = false;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            rc = 0;
            goto done;
        }
        if (cli_opt(argv[i], NULL, "--system")) {
            if (!cli_value(CMD, argc, argv, &i, &system))
                goto done;
            continue;
        }
        if (cli_flag(argv[i], NULL, "--perf")) {
            perf = true;
            continue;
        }
        int r = gen_options_parse(&o, CMD, argc, argv, &i);
        if (r < 0)
            goto done;
        if (r > 0)
            continue;
        if (!gen_positional(CMD, argv[i], &model_dir, usage))
            goto done;
    }
    if (!model_dir) {
        cli_error(CMD, "missing MODEL_DIR (see npugen chat --help)");
        goto done;
    }
    if (!gen_options_check_keys(CMD, o.device, o.props))
        goto done;
    gen_pipe pipe = {0};
    npg_generation_config *cfg = NULL;
    npg_status st = gen_pipe_create(&o, model_dir, &pipe);
    if (st != NPG_OK) {
        rc = cli_fail_model(CMD, st, model_dir);
        goto done;
    }
    st = gen_options_config(&o, gen_pipe_llm(&pipe), &cfg);
    if (st == NPG_OK)
        gen_warn_no_template(CMD, gen_pipe_llm(&pipe), model_dir);
    if (st == NPG_OK && perf)
        gen_print_seed(stderr, cfg);
    rc = st == NPG_OK ? converse(&pipe, cfg, system, perf) : cli_fail(CMD, st);
    npg_generation_config_free(cfg);
    gen_pipe_free(&pipe);
done:
    gen_options_free(&o);
    return rc;
}
