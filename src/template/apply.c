/* apply.c — npg_tokenizer_apply_chat_template: renders the tokenizer's chat_template with the
 * context Hugging Face transformers builds in apply_chat_template(tokenize=False):
 *
 *   messages               [{"role", "content"}, ...] from the history
 *   tools, documents       None
 *   add_generation_prompt  the argument
 *   bos_token, eos_token,  the special-token strings the tokenizer has (absent ones stay undefined,
 *   pad_token              as transformers passes only the tokens that are set)
 *   ...                    then every member of extra_context_json, overriding the above.
 *
 * The template is the folder's chat_template.jinja when there is one (newer transformers save it
 * there and it wins over tokenizer_config.json, as in transformers), else tokenizer_config.json's
 * chat_template, else the "chat_template" of chat_template.json (processor folders). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "template/template.h"
#include "tokenizer/tokenizer.h"

/* The template source (see the top of the file): *owned is set when it was read from a file. */
static npg_status find_template(const npg_tokenizer *tok, const char *dir, const char **src, size_t *src_len,
                                char **owned, const char **where) {
    *owned = NULL;
    char *path = npg_path_join(dir, "chat_template.jinja");
    NPG_CHECK_ALLOC(path);
    if (npg_path_exists(path)) {
        size_t len;
        npg_status st = npg_read_file(path, owned, &len);
        free(path);
        NPG_TRY(st);
        *src = *owned;
        *src_len = len; /* not strlen: a NUL byte in the file is an error, not the end */
        *where = "chat_template.jinja";
        return NPG_OK;
    }
    free(path);
    *src = npg_tokenizer_chat_template(tok);
    *where = "tokenizer_config.json: chat_template";
    if (*src) {
        *src_len = strlen(*src);
        return NPG_OK;
    }
    path = npg_path_join(dir, "chat_template.json");
    NPG_CHECK_ALLOC(path);
    if (npg_path_exists(path)) {
        cJSON *j = NULL;
        npg_status st = npg_json_parse_file(path, &j);
        const char *t = st == NPG_OK ? npg_json_get_string(j, "chat_template") : NULL;
        if (t && !(*owned = strdup(t)))
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
        cJSON_Delete(j);
        free(path);
        NPG_TRY(st);
        *src = *owned;
        *where = "chat_template.json: chat_template";
        if (*src) {
            *src_len = strlen(*src);
            return NPG_OK;
        }
    } else {
        free(path);
    }
    return npg_fail(NPG_ERR_NOT_FOUND,
                    "%s/tokenizer_config.json has no chat_template (and there is no "
                    "chat_template.jinja)",
                    dir);
}

static npg_status add_token(cJSON *ctx, const char *key, const char *value) {
    if (!value)
        return NPG_OK;
    NPG_CHECK_ALLOC(cJSON_AddStringToObject(ctx, key, value));
    return NPG_OK;
}

static npg_status build_context(const npg_tokenizer *tok, const npg_chat_history *h, bool add_generation_prompt,
                                const cJSON *extra, cJSON *ctx) {
    cJSON *msgs = cJSON_AddArrayToObject(ctx, "messages");
    NPG_CHECK_ALLOC(msgs);
    for (size_t i = 0; i < npg_chat_history_size(h); i++) {
        const char *role, *content;
        NPG_TRY(npg_chat_history_at(h, i, &role, &content));
        cJSON *m = cJSON_CreateObject();
        NPG_CHECK_ALLOC(m);
        cJSON_AddItemToArray(msgs, m);
        NPG_CHECK_ALLOC(cJSON_AddStringToObject(m, "role", role));
        NPG_CHECK_ALLOC(cJSON_AddStringToObject(m, "content", content));
    }
    NPG_CHECK_ALLOC(cJSON_AddNullToObject(ctx, "tools"));
    NPG_CHECK_ALLOC(cJSON_AddNullToObject(ctx, "documents"));
    NPG_CHECK_ALLOC(cJSON_AddBoolToObject(ctx, "add_generation_prompt", add_generation_prompt));
    NPG_TRY(add_token(ctx, "bos_token", npg_tokenizer_bos_token(tok)));
    NPG_TRY(add_token(ctx, "eos_token", npg_tokenizer_eos_token(tok)));
    NPG_TRY(add_token(ctx, "pad_token", npg_tokenizer_pad_token(tok)));
    for (const cJSON *e = extra ? extra->child : NULL; e; e = e->next) {
        cJSON *copy = cJSON_Duplicate(e, true);
        NPG_CHECK_ALLOC(copy);
        cJSON_DeleteItemFromObjectCaseSensitive(ctx, e->string);
        if (!cJSON_AddItemToObject(ctx, e->string, copy)) { /* copying the key failed: copy is still ours */
            cJSON_Delete(copy);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory building the chat-template context");
        }
    }
    return NPG_OK;
}

npg_status npg_tokenizer_apply_chat_template(const npg_tokenizer *tok, const npg_chat_history *history,
                                             bool add_generation_prompt, const char *extra_context_json,
                                             char **prompt) {
    if (!tok || !history || !prompt)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_tokenizer_apply_chat_template: %s is NULL",
                        !tok       ? "tok"
                        : !history ? "history"
                                   : "prompt");
    const char *dir = npg_tokenizer_dir(tok) ? npg_tokenizer_dir(tok) : ".", *src = NULL, *where = NULL;
    size_t src_len = 0;
    char *owned = NULL;
    cJSON *extra = NULL;
    if (extra_context_json) {
        NPG_TRY(npg_json_parse(extra_context_json, strlen(extra_context_json), "extra_context_json", &extra));
        if (!cJSON_IsObject(extra)) {
            cJSON_Delete(extra);
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "extra_context_json must be a JSON object");
        }
    }
    npg_status fst = find_template(tok, dir, &src, &src_len, &owned, &where);
    if (fst != NPG_OK) {
        cJSON_Delete(extra);
        return fst;
    }
    cJSON *ctx = cJSON_CreateObject();
    npg_status st = ctx ? build_context(tok, history, add_generation_prompt, extra, ctx)
                        : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory building the chat-template context");
    cJSON_Delete(extra);
    npg_template *t = NULL;
    if (st == NPG_OK) {
        st = npg_template_compile(src, src_len, &t);
        if (st != NPG_OK)
            npg_fail_context(st, "%s/%s", dir, where);
    }
    char *out = NULL;
    if (st == NPG_OK) {
        st = npg_template_render(t, ctx, NULL, &out);
        if (st != NPG_OK)
            npg_fail_context(st, "%s/%s", dir, where);
    }
    npg_template_free(t);
    cJSON_Delete(ctx);
    free(owned);
    if (st == NPG_OK)
        *prompt = out;
    return st;
}
