/* serve_vlm.c — POST /v1/chat/completions on a vision-language model (Gemma-3, LLaVA). The messages
 * are rendered with the model's chat template (image parts already marked <ov_genai_image_N> in their
 * text), exactly as npg_vlm_pipeline's chat mode renders a conversation: a leading BOS the template
 * writes is dropped since generating from the text adds it. The VLM pipeline has no batched
 * scheduler: requests take turns (serve_single.c). A streamed request is answered as server-sent
 * events once the reply is complete (one content chunk, then finish_reason and [DONE]). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

static npg_status render(const npg_vlm_pipeline *vlm, const npg_chat_history *h, char **out, size_t *n_prompt) {
    const npg_llm_pipeline *llm = NULL;
    const npg_tokenizer *tok = NULL;
    npg_status st = npg_vlm_pipeline_get_llm(vlm, &llm);
    if (st == NPG_OK)
        st = npg_llm_pipeline_get_tokenizer(llm, &tok);
    char *text = NULL;
    if (st == NPG_OK)
        st = npg_tokenizer_apply_chat_template(tok, h, true, NULL, &text);
    if (st != NPG_OK)
        return st;
    int32_t bos = npg_tokenizer_bos_token_id(tok);
    char *bos_text = NULL;
    size_t skip = 0;
    if (bos >= 0 && npg_tokenizer_decode(tok, &bos, 1, false, &bos_text) == NPG_OK && bos_text[0] &&
        strncmp(text, bos_text, strlen(bos_text)) == 0)
        skip = strlen(bos_text);
    npg_free(bos_text);
    *out = strdup(text + skip);
    int32_t *ids = NULL;
    *n_prompt = 0;
    if (npg_tokenizer_encode(tok, text, false, &ids, n_prompt) == NPG_OK)
        npg_free(ids);
    npg_free(text);
    return *out ? NPG_OK : NPG_ERR_OUT_OF_MEMORY;
}

static cJSON *envelope(const char *id, long long created, const char *model, bool chunk) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", chunk ? "chat.completion.chunk" : "chat.completion");
    cJSON_AddNumberToObject(o, "created", (double)created);
    cJSON_AddStringToObject(o, "model", model);
    return o;
}

static cJSON *usage(size_t prompt, size_t completion) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)completion);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt + completion));
    return u;
}

static void add_event(char **buf, size_t *len, cJSON *o) {
    char *s = o ? cJSON_PrintUnformatted(o) : strdup("[DONE]");
    cJSON_Delete(o);
    if (!s)
        return;
    size_t n = strlen(s) + 9;
    char *nb = realloc(*buf, *len + n);
    if (nb) {
        *buf = nb;
        *len += (size_t)snprintf(nb + *len, n, "data: %s\n\n", s);
    }
    free(s);
}

static char *sse_body(const char *id, long long created, const char *model, const char *text, const char *finish,
                      cJSON *use) {
    char *buf = calloc(1, 1);
    size_t len = 0;
    for (int k = 0; k < 3; k++) {
        cJSON *o = envelope(id, created, model, true);
        cJSON *ch = cJSON_AddArrayToObject(o, "choices");
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", 0);
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        if (k == 0)
            cJSON_AddStringToObject(d, "role", "assistant");
        if (k == 1)
            cJSON_AddStringToObject(d, "content", text);
        if (k == 2)
            cJSON_AddStringToObject(c, "finish_reason", finish);
        else
            cJSON_AddNullToObject(c, "finish_reason");
        cJSON_AddItemToArray(ch, c);
        add_event(&buf, &len, o);
    }
    if (use) {
        cJSON *o = envelope(id, created, model, true);
        cJSON_AddArrayToObject(o, "choices");
        cJSON_AddItemToObject(o, "usage", use);
        add_event(&buf, &len, o);
    }
    add_event(&buf, &len, NULL);
    return buf;
}

void serve_vlm_chat(serve_ctx *ctx, serve_model *model, const npg_chat_history *h, const npg_image *const *images,
                    size_t n_images, npg_generation_config *cfg, bool stream, bool include_usage,
                    serve_reply *r) {
    char *prompt = NULL;
    size_t n_prompt = 0;
    npg_status st = render(model->vlm, h, &prompt, &n_prompt);
    if (st != NPG_OK) {
        serve_reply_error(r, 400, "invalid_request_error", "messages", NULL, "%s", npg_last_error());
        return;
    }
    if (!serve_single_enter(model, r)) {
        free(prompt);
        return;
    }
    npg_decoded_results *res = NULL;
    st = npg_vlm_pipeline_generate(model->vlm, prompt, images, n_images, cfg, NULL, &res);
    serve_single_leave(model);
    free(prompt);
    if (st != NPG_OK) {
        bool limit = st == NPG_ERR_LIMIT;
        serve_reply_error(r, st == NPG_ERR_INVALID_ARGUMENT || limit ? 400 : 500,
                          st == NPG_ERR_INVALID_ARGUMENT || limit ? "invalid_request_error" : "server_error",
                          "messages", limit ? "context_length_exceeded" : NULL, "%s", npg_last_error());
        return;
    }
    size_t size = 0;
    char *text = NULL;
    const int32_t *ids = NULL;
    size_t n_gen = 0;
    npg_finish_reason fr = NPG_FINISH_EOS;
    if (npg_decoded_results_get_string(res, NULL, &size) == NPG_OK && (text = malloc(size)))
        npg_decoded_results_get_string(res, text, &size);
    npg_decoded_results_get_ids(res, &ids, &n_gen);
    npg_decoded_results_get_finish_reason(res, &fr);
    npg_decoded_results_free(res);
    serve_metrics_tokens(&ctx->metrics, n_prompt, n_gen, 0, 0);
    char id[48];
    snprintf(id, sizeof id, "chatcmpl-%llx", (unsigned long long)atomic_fetch_add(&ctx->next_seed, 1));
    long long created = (long long)time(NULL);
    const char *finish = fr == NPG_FINISH_LENGTH ? "length" : "stop";
    if (stream) {
        r->body = sse_body(id, created, model->name, text ? text : "", finish,
                           include_usage ? usage(n_prompt, n_gen) : NULL);
        r->content_type = "text/event-stream";
    } else {
        cJSON *o = envelope(id, created, model->name, false);
        cJSON *ch = cJSON_AddArrayToObject(o, "choices");
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", 0);
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", text ? text : "");
        cJSON_AddStringToObject(c, "finish_reason", finish);
        cJSON_AddItemToArray(ch, c);
        cJSON_AddItemToObject(o, "usage", usage(n_prompt, n_gen));
        r->body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        r->content_type = "application/json";
    }
    r->status = r->body ? 200 : 500;
    free(text);
}
