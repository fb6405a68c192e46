/* render_api.c — the public entry points for rendering a chat template given as source (no
 * tokenizer), and for reading a history from JSON: what `npugen template --template` needs, through
 * include/npugen.h alone. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "npugen.h"
#include "template/template.h"

npg_status npg_chat_history_create_from_json(const char *json, size_t len, const char *what, npg_chat_history **out) {
    if (!json || !what || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_chat_history_create_from_json: an argument is NULL");
    cJSON *root = NULL;
    NPG_TRY(npg_json_parse(json, len, what, &root));
    npg_status st = NPG_OK;
    if (!cJSON_IsArray(root))
        st = npg_fail(NPG_ERR_FORMAT, "%s: expected a JSON array of {\"role\", \"content\"} objects", what);
    npg_chat_history *h = NULL;
    if (st == NPG_OK)
        st = npg_chat_history_create(&h);
    int i = 0;
    for (const cJSON *m = root ? root->child : NULL; st == NPG_OK && m; m = m->next, i++) {
        const char *role = npg_json_get_string(m, "role"), *content = npg_json_get_string(m, "content");
        if (!cJSON_IsObject(m) || !role || !content)
            st = npg_fail(NPG_ERR_FORMAT, "%s: message %d needs string \"role\" and \"content\"", what, i);
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

/* The context transformers' apply_chat_template builds: messages, tools / documents none,
 * add_generation_prompt, the special tokens given, then the extra variables. */
static npg_status build_context(const npg_chat_history *h, bool add_generation_prompt, const char *bos, const char *eos,
                                const char *extra_json, cJSON **out) {
    cJSON *extra = NULL;
    if (extra_json) {
        NPG_TRY(npg_json_parse(extra_json, strlen(extra_json), "extra_context_json", &extra));
        if (!cJSON_IsObject(extra)) {
            cJSON_Delete(extra);
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "extra_context_json: must be a JSON object");
        }
    }
    cJSON *ctx = cJSON_CreateObject(), *msgs = ctx ? cJSON_AddArrayToObject(ctx, "messages") : NULL;
    bool ok = msgs != NULL;
    for (size_t i = 0; ok && i < npg_chat_history_size(h); i++) {
        const char *role, *content;
        (void)npg_chat_history_at(h, i, &role, &content);
        cJSON *m = cJSON_CreateObject();
        ok = m && cJSON_AddStringToObject(m, "role", role) && cJSON_AddStringToObject(m, "content", content);
        if (m)
            cJSON_AddItemToArray(msgs, m);
    }
    ok = ok && cJSON_AddNullToObject(ctx, "tools") && cJSON_AddNullToObject(ctx, "documents") &&
         cJSON_AddBoolToObject(ctx, "add_generation_prompt", add_generation_prompt);
    if (ok && bos)
        ok = cJSON_AddStringToObject(ctx, "bos_token", bos) != NULL;
    if (ok && eos)
        ok = cJSON_AddStringToObject(ctx, "eos_token", eos) != NULL;
    for (const cJSON *k = extra ? extra->child : NULL; ok && k; k = k->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(ctx, k->string);
        cJSON *dup = cJSON_Duplicate(k, true);
        ok = dup != NULL;
        if (dup)
            cJSON_AddItemToObject(ctx, k->string, dup);
    }
    cJSON_Delete(extra);
    if (!ok) {
        cJSON_Delete(ctx);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory building the template context");
    }
    *out = ctx;
    return NPG_OK;
}

npg_status npg_chat_template_render(const char *template_src, size_t len, const char *what,
                                    const npg_chat_history *history, bool add_generation_prompt, const char *bos_token,
                                    const char *eos_token, const char *extra_context_json, char **out) {
    if (!template_src || !what || !history || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_chat_template_render: an argument is NULL");
    cJSON *ctx = NULL;
    NPG_TRY(build_context(history, add_generation_prompt, bos_token, eos_token, extra_context_json, &ctx));
    npg_template *t = NULL;
    npg_status st = npg_template_compile(template_src, len, &t);
    if (st == NPG_OK)
        st = npg_template_render(t, ctx, NULL, out);
    if (st != NPG_OK)
        npg_fail_context(st, "%s", what);
    npg_template_free(t);
    cJSON_Delete(ctx);
    return st;
}
