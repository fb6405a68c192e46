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

#include "cli.h"
#include "cli_util.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "npugen.h"
#include "template/template.h"

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
        if (strcmp(s, "--template") == 0)
            ok = cli_value(CMD, argc, argv, &i, &a->template_path);
        else if (strcmp(s, "--bos-token") == 0)
            ok = cli_value(CMD, argc, argv, &i, &a->bos);
        else if (strcmp(s, "--eos-token") == 0)
            ok = cli_value(CMD, argc, argv, &i, &a->eos);
        else if (strcmp(s, "--messages") == 0)
            ok = cli_value(CMD, argc, argv, &i, &a->messages_path);
        else if (strcmp(s, "--kwargs") == 0)
            ok = cli_value(CMD, argc, argv, &i, &a->kwargs);
        else if (strcmp(s, "--add-generation-prompt") == 0)
            a->add_generation_prompt = true;
        else if (s[0] == '-' && s[1]) {
            cli_error(CMD, "unknown option '%s' (see npugen template --help)", s);
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

/* The messages file as a history; every entry must be {"role": string, "content": string}. */
static npg_status load_messages(const char *path, npg_chat_history **out) {
    cJSON *root = NULL;
    NPG_TRY(npg_json_parse_file(path, &root));
    npg_status st = NPG_OK;
    if (!cJSON_IsArray(root))
        st = npg_fail(NPG_ERR_FORMAT, "%s: expected a JSON array of {\"role\", \"content\"} objects", path);
    else if (cJSON_GetArraySize(root) == 0)
        st = npg_fail(NPG_ERR_FORMAT,
                      "%s: the messages list is empty (give at least one {\"role\", \"content\"} object)", path);
    npg_chat_history *h = NULL;
    if (st == NPG_OK)
        st = npg_chat_history_create(&h);
    int i = 0;
    for (const cJSON *m = root ? root->child : NULL; st == NPG_OK && m; m = m->next, i++) {
        const char *role = npg_json_get_string(m, "role"), *content = npg_json_get_string(m, "content");
        if (!cJSON_IsObject(m) || !role || !content)
            st = npg_fail(NPG_ERR_FORMAT, "%s: message %d needs string \"role\" and \"content\"", path, i);
        else
            st = npg_chat_history_push(h, role, content);
    }
    cJSON_Delete(root);
    if (st != NPG_OK) {
        npg_chat_history_free(h);
        return st;
    }
    *out = h;
    return NPG_OK;
}

/* --template mode: the context transformers builds, from the options. */
static npg_status render_file(const args *a, const npg_chat_history *h, const cJSON *kwargs, char **out) {
    char *src = NULL;
    size_t len = 0;
    NPG_TRY(npg_read_file(a->template_path, &src, &len));
    cJSON *ctx = cJSON_CreateObject(), *msgs = cJSON_AddArrayToObject(ctx, "messages");
    for (size_t i = 0; i < npg_chat_history_size(h); i++) {
        const char *role, *content;
        (void)npg_chat_history_at(h, i, &role, &content);
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", role);
        cJSON_AddStringToObject(m, "content", content);
        cJSON_AddItemToArray(msgs, m);
    }
    cJSON_AddNullToObject(ctx, "tools");
    cJSON_AddNullToObject(ctx, "documents");
    cJSON_AddBoolToObject(ctx, "add_generation_prompt", a->add_generation_prompt);
    if (a->bos)
        cJSON_AddStringToObject(ctx, "bos_token", a->bos);
    if (a->eos)
        cJSON_AddStringToObject(ctx, "eos_token", a->eos);
    for (const cJSON *k = kwargs ? kwargs->child : NULL; k; k = k->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(ctx, k->string);
        cJSON_AddItemToObject(ctx, k->string, cJSON_Duplicate(k, true));
    }
    npg_template *t = NULL;
    npg_status st = npg_template_compile(src, len, &t);
    if (st == NPG_OK)
        st = npg_template_render(t, ctx, NULL, out);
    if (st != NPG_OK)
        npg_fail_context(st, "%s", a->template_path);
    npg_template_free(t);
    cJSON_Delete(ctx);
    free(src);
    return st;
}

static npg_status render_model(const args *a, const npg_chat_history *h, char **out) {
    npg_tokenizer *tok = NULL;
    NPG_TRY(npg_tokenizer_create(a->model_dir, &tok));
    npg_status st = npg_tokenizer_apply_chat_template(tok, h, a->add_generation_prompt, a->kwargs, out);
    npg_tokenizer_free(tok);
    return st;
}

int npg_cmd_template(int argc, char **argv) {
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    cJSON *kwargs = NULL;
    if (a.kwargs) {
        if (npg_json_parse(a.kwargs, strlen(a.kwargs), "--kwargs", &kwargs) != NPG_OK || !cJSON_IsObject(kwargs)) {
            cli_error(CMD, "--kwargs must be a JSON object, e.g. '{\"enable_thinking\": false}'");
            cJSON_Delete(kwargs);
            return 2;
        }
    }
    npg_chat_history *h = NULL;
    char *text = NULL;
    npg_status st = load_messages(a.messages_path, &h);
    if (st == NPG_OK)
        st = a.template_path ? render_file(&a, h, kwargs, &text) : render_model(&a, h, &text);
    npg_chat_history_free(h);
    cJSON_Delete(kwargs);
    if (st != NPG_OK)
        return cli_fail(CMD, st);
    fwrite(text, 1, strlen(text), stdout);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}
