/* cmd_template.c — `npugen template`: prints a rendered chat template, byte for byte what
 * transformers' apply_chat_template(tokenize=False) returns (no newline added).
 *
 *   npugen template MODEL_DIR --messages FILE.json [--add-generation-prompt] [--kwargs JSON]
 *   npugen template --template FILE.jinja [--bos-token S] [--eos-token S] --messages FILE.json ...
 *
 * MODEL_DIR mode goes through the tokenizer (npg_tokenizer_apply_chat_template, so the folder's
 * bos/eos/pad tokens are used); --template mode needs no tokenizer at all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_util.h"
#include "npugen.h"

static const char *const CMD = "template";

static void usage(FILE *fp) {
    fprintf(fp, "usage: npugen template MODEL_DIR --messages FILE.json [--add-generation-prompt] [--kwargs JSON]\n"
                "       npugen template --template FILE.jinja [--bos-token S] [--eos-token S] --messages FILE.json\n"
                "                       [--add-generation-prompt] [--kwargs JSON]\n\n"
                "Prints the chat template rendered exactly as Hugging Face transformers renders it (nothing added,\n"
                "no trailing newline).\n\n"
                "  MODEL_DIR                a folder with tokenizer.json and tokenizer_config.json (chat_template)\n"
                "  --template FILE          a Jinja chat template file instead of a model folder\n"
                "  --bos-token S, --eos-token S\n"
                "                           the bos_token / eos_token variables in --template mode\n"
                "  --messages FILE          a JSON array of {\"role\": ..., \"content\": ...} objects\n"
                "  --add-generation-prompt  end with the assistant turn's header\n"
                "  --kwargs JSON            a JSON object of extra template variables, e.g.\n"
                "                           '{\"date_string\": \"26 Jul 2024\", \"enable_thinking\": false}'\n"
                "  --help                   show this help\n\n"
                "exit status: 0 rendered, 1 the template or an input file failed, 2 usage error\n");
}

typedef struct args {
    const char *model_dir, *template_path, *bos, *eos, *messages_path, *kwargs;
    bool add_generation_prompt;
} args;

/* 0 = parsed, 2 = usage error, -1 = --help printed. */
static int parse_args(int argc, char **argv, args *a) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (cli_is_help(s)) {
            usage(stdout);
            return -1;
        }
        bool ok = true;
        if (cli_opt(s, NULL, "--template"))
            ok = cli_value(CMD, argc, argv, &i, &a->template_path);
        else if (cli_opt(s, NULL, "--bos-token"))
            ok = cli_value(CMD, argc, argv, &i, &a->bos);
        else if (cli_opt(s, NULL, "--eos-token"))
            ok = cli_value(CMD, argc, argv, &i, &a->eos);
        else if (cli_opt(s, NULL, "--messages"))
            ok = cli_value(CMD, argc, argv, &i, &a->messages_path);
        else if (cli_opt(s, NULL, "--kwargs"))
            ok = cli_value(CMD, argc, argv, &i, &a->kwargs);
        else if (cli_flag(s, NULL, "--add-generation-prompt"))
            a->add_generation_prompt = true;
        else if (s[0] == '-' && s[1]) {
            cli_unknown_option(CMD, s, usage);
            return 2;
        } else if (!a->model_dir) {
            a->model_dir = s;
        } else {
            cli_error(CMD, "unexpected argument '%s'", s);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (!a->model_dir == !a->template_path) {
        cli_error(CMD, a->model_dir ? "give either MODEL_DIR or --template, not both"
                                    : "missing MODEL_DIR or --template FILE.jinja (see npugen template --help)");
        return 2;
    }
    if (a->model_dir && (a->bos || a->eos)) {
        cli_error(CMD, "--bos-token / --eos-token go with --template; MODEL_DIR supplies its own tokens");
        return 2;
    }
    if (!a->messages_path) {
        cli_error(CMD, "missing --messages FILE.json");
        return 2;
    }
    return 0;
}

/* The messages file as a history; every entry must be {"role": string, "content": string}, and there
 * is at least one. A FIFO or device is refused before it is opened (it would block or never end). False
 * when it failed (reported on stderr). */
static bool load_messages(const char *path, npg_chat_history **out) {
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        cli_error(CMD, "--messages %s: %s, not a regular file", path,
                  S_ISDIR(sb.st_mode) ? "a directory" : S_ISFIFO(sb.st_mode) ? "a FIFO" : "a device or socket");
        return false;
    }
    char *json = NULL;
    size_t len = 0;
    if (!cli_read_file_n(CMD, path, &json, &len))
        return false;
    npg_status st = npg_chat_history_create_from_json(json, len, path, out);
    free(json);
    if (st != NPG_OK)
        return cli_fail(CMD, st), false;
    if (npg_chat_history_size(*out) == 0) {
        cli_error(CMD, "%s: the messages list is empty (give at least one {\"role\", \"content\"} object)", path);
        npg_chat_history_free(*out);
        *out = NULL;
        return false;
    }
    return true;
}

/* --template mode: the context transformers builds, from the options. */
static bool render_file(const args *a, const npg_chat_history *h, char **out) {
    char *src = NULL;
    if (!cli_read_file(CMD, a->template_path, &src))
        return false;
    npg_status st = npg_chat_template_render(src, strlen(src), a->template_path, h, a->add_generation_prompt, a->bos,
                                             a->eos, a->kwargs, out);
    free(src);
    return st == NPG_OK || (cli_fail(CMD, st), false);
}

static bool render_model(const args *a, const npg_chat_history *h, char **out) {
    npg_tokenizer *tok = NULL;
    npg_status st = npg_tokenizer_create(a->model_dir, &tok);
    if (st == NPG_OK)
        st = npg_tokenizer_apply_chat_template(tok, h, a->add_generation_prompt, a->kwargs, out);
    npg_tokenizer_free(tok);
    return st == NPG_OK || (cli_fail(CMD, st), false);
}

int npg_cmd_template(int argc, char **argv) {
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (a.kwargs) { /* a usage error, told apart before any file is read */
        cJSON *kwargs = cJSON_Parse(a.kwargs);
        bool object = cJSON_IsObject(kwargs);
        cJSON_Delete(kwargs);
        if (!object) {
            cli_error(CMD, "--kwargs must be a JSON object, e.g. '{\"enable_thinking\": false}'");
            return 2;
        }
    }
    npg_chat_history *h = NULL;
    char *text = NULL;
    bool ok = load_messages(a.messages_path, &h) &&
              (a.template_path ? render_file(&a, h, &text) : render_model(&a, h, &text));
    npg_chat_history_free(h);
    if (!ok)
        return 1;
    fwrite(text, 1, strlen(text), stdout);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}
