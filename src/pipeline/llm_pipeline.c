/* llm_pipeline.c — npg_llm_pipeline: creation from a model folder and properties, generation entry
 * points, chat mode. The generation loop itself is in generate.c. */
#include "pipeline/llm_pipeline.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/file.h"
#include "core/strbuf.h"
#include "core/timer.h"
#include "device/registry.h"
#include "pipeline/pipeline_common.h"
#include "pipeline/results.h"
#include "template/chat_history.h"
#include "tokenizer/tokenizer.h"

#include <utf8proc.h>

static void drop_property(npg_properties *props, const char *key) {
    for (size_t i = 0; i < props->count; i++)
        if (strcmp(props->items[i].key, key) == 0) {
            free(props->items[i].key);
            free(props->items[i].value);
            memmove(&props->items[i], &props->items[i + 1], (props->count - i - 1) * sizeof props->items[0]);
            props->count--;
            return;
        }
}

/* generation_config.json when present, else defaults; eos ids fall back to config.json's, then the
 * tokenizer's. */
static npg_status load_generation_config(npg_llm_pipeline *p) {
    char *path = npg_path_join(p->model_dir, "generation_config.json");
    NPG_CHECK_ALLOC(path);
    npg_status st = npg_path_exists(path) ? npg_generation_config_create_from_json(path, &p->config)
                                          : npg_generation_config_create(&p->config);
    free(path);
    NPG_TRY(st);
    if (p->config->n_eos == 0) {
        for (int i = 0; i < p->model->cfg.n_eos; i++)
            NPG_TRY(npg_generation_config_add_eos_token_id(p->config, p->model->cfg.eos_token_ids[i]));
        if (p->config->n_eos == 0 && npg_tokenizer_eos_token_id(p->tokenizer) >= 0)
            NPG_TRY(npg_generation_config_add_eos_token_id(p->config, npg_tokenizer_eos_token_id(p->tokenizer)));
    }
    return NPG_OK;
}

npg_status npg_llm_pipeline_create_with_properties(const char *models_path, const char *device,
                                                   const npg_properties *properties, npg_llm_pipeline **pipe) {
    const npg_device *dev = NULL;
    NPG_TRY(npg_pipeline_find_device("npg_llm_pipeline_create", models_path, device, pipe != NULL, &dev));
    NPG_TRY(npg_device_check_properties(dev, properties));
    double t0 = npg_now_ms();
    npg_llm_pipeline *p = calloc(1, sizeof *p);
    NPG_CHECK_ALLOC(p);
    snprintf(p->device, sizeof p->device, "%s", dev->name);
    npg_status st = npg_pipeline_open_folder(models_path, properties, &p->model_dir, &p->props);
    if (st == NPG_OK) { /* NPU with a full blob (or a weightless one and WEIGHTS_PATH): the model
                          * comes from the blob (or WEIGHTS_PATH), not the folder */
        bool from_weights_path = false;
        st = dev->load_model ? dev->load_model(p->props, &p->model, &from_weights_path) : NPG_ERR_NOT_FOUND;
        if (st == NPG_ERR_NOT_FOUND)
            st = npg_model_load(p->model_dir, &p->model);
        else if (st == NPG_OK && from_weights_path) /* the model already is WEIGHTS_PATH's: no second load */
            drop_property(p->props, "WEIGHTS_PATH");
    }
    if (st == NPG_OK)
        st = npg_tokenizer_create(p->model_dir, &p->tokenizer);
    if (st == NPG_OK)
        st = load_generation_config(p);
    if (st == NPG_OK)
        st = npg_chat_history_create(&p->history);
    p->load_ms = npg_now_ms() - t0;
    if (st == NPG_OK) {
        double tc = npg_now_ms();
        st = dev->create_engine(p->model, p->model_dir, p->props, &p->engine);
        if (st == NPG_OK) {
            p->compile_ms = p->engine->compile_ms > 0 ? p->engine->compile_ms : npg_now_ms() - tc;
            p->plan_imported = p->engine->imported;
        }
    }
    if (st != NPG_OK) {
        npg_llm_pipeline_free(p);
        return st;
    }
    npg_log(p->props, NPG_LOG_INFO, "%s: loaded %s on %s in %.1f ms", models_path, p->model->cfg.arch_name, dev->name,
            p->load_ms);
    *pipe = p;
    return NPG_OK;
}

npg_status npg_llm_pipeline_create(const char *models_path, const char *device, size_t property_args_size,
                                   npg_llm_pipeline **pipe, ...) {
    npg_properties *props = NULL;
    va_list ap;
    va_start(ap, pipe);
    npg_status st = npg_pipeline_properties_from_args("npg_llm_pipeline_create", property_args_size, ap, &props);
    va_end(ap);
    if (st == NPG_OK)
        st = npg_llm_pipeline_create_with_properties(models_path, device, props, pipe);
    npg_properties_free(props);
    return st;
}

void npg_llm_pipeline_free(npg_llm_pipeline *p) {
    if (!p)
        return;
    if (p->engine)
        p->engine->ops->free(p->engine);
    npg_chat_history_free(p->history);
    npg_generation_config_free(p->config);
    npg_tokenizer_free(p->tokenizer);
    npg_model_free(p->model);
    npg_properties_free(p->props);
    free(p->cached_ids);
    free(p->model_dir);
    free(p);
}

/* NPG_ERR_INVALID_ARGUMENT naming the first byte that is not valid UTF-8. */
static npg_status check_utf8(const char *text) {
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)text;
    size_t len = strlen(text), i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "prompt is not valid UTF-8 (byte %zu of %zu)", i + 1, len);
        i += (size_t)n;
    }
    return NPG_OK;
}

static npg_status encode_prompt(npg_llm_pipeline *p, const char *text, bool add_special, int32_t **ids, size_t *n,
                                double *ms) {
    double t0 = npg_now_ms();
    npg_status st = npg_tokenizer_encode(p->tokenizer, text, add_special, ids, n);
    *ms = npg_now_ms() - t0;
    return st;
}

npg_status npg_pipeline_render_history(const npg_llm_pipeline *p, const npg_chat_history *h, char **out,
                                       bool *add_special) {
    char *text = NULL;
    npg_status st = npg_tokenizer_apply_chat_template(p->tokenizer, h, true, NULL, &text);
    if (st == NPG_ERR_NOT_FOUND) {
        npg_strbuf sb = {0};
        st = NPG_OK;
        for (size_t i = 0; i < npg_chat_history_size(h) && st == NPG_OK; i++) {
            const char *role, *content;
            st = npg_chat_history_at(h, i, &role, &content);
            if (st == NPG_OK && i > 0)
                st = npg_strbuf_append_char(&sb, '\n');
            if (st == NPG_OK)
                st = npg_strbuf_append_str(&sb, content);
        }
        if (st == NPG_OK)
            st = npg_strbuf_detach(&sb, &text);
        npg_strbuf_free(&sb);
    }
    NPG_TRY(st);
    const char *bos = npg_tokenizer_bos_token(p->tokenizer);
    *add_special = !(bos && *bos && strncmp(text, bos, strlen(bos)) == 0);
    *out = text;
    return NPG_OK;
}

/* Renders `history` (npg_pipeline_render_history) and tokenizes it. */
static npg_status render_history(npg_llm_pipeline *p, const npg_chat_history *h, int32_t **ids, size_t *n,
                                 double *ms) {
    char *text = NULL;
    bool add_special = true;
    NPG_TRY(npg_pipeline_render_history(p, h, &text, &add_special));
    npg_status st = encode_prompt(p, text, add_special, ids, n, ms);
    free(text);
    return st;
}

npg_status npg_pipeline_render_history_ids(npg_llm_pipeline *p, const npg_chat_history *h, int32_t **ids, size_t *n) {
    double ms = 0;
    return render_history(p, h, ids, n, &ms);
}

static npg_status generate_unlocked(npg_llm_pipeline *p, const char *prompt, const npg_generation_config *config,
                                     const npg_streamer *streamer, npg_decoded_results **results) {
    if (!p || !prompt || !results)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_pipeline_generate: %s is NULL",
                        !p ? "pipe" : !prompt ? "prompt" : "results");
    int32_t *ids = NULL;
    size_t n = 0;
    double ms = 0;
    npg_status st;
    if (!p->chat_active) {
        NPG_TRY(encode_prompt(p, prompt, true, &ids, &n, &ms));
        st = npg_pipeline_run(p, ids, n, false, prompt, config, streamer, ms, results);
        free(ids);
        return st;
    }
    /* chat: the prompt is the next user turn; on failure the history is left as it was. Its UTF-8 is
     * checked here so the message counts bytes of the user's text, not of the rendered template. */
    NPG_TRY(check_utf8(prompt));
    size_t before = npg_chat_history_size(p->history);
    NPG_TRY(npg_chat_history_push(p->history, "user", prompt));
    st = render_history(p, p->history, &ids, &n, &ms);
    if (st == NPG_OK)
        st = npg_pipeline_run(p, ids, n, true, NULL, config, streamer, ms, results);
    free(ids);
    if (st == NPG_OK) {
        st = npg_chat_history_push(p->history, "assistant", (*results)->text);
        if (st != NPG_OK) {
            npg_decoded_results_free(*results);
            *results = NULL;
        }
    }
    if (st != NPG_OK) /* drop the user turn (and an assistant turn pushed half-way): frees only, cannot fail */
        npg_chat_history_truncate(p->history, before);
    return st;
}

static npg_status generate_ids_unlocked(npg_llm_pipeline *p, const int32_t *ids, size_t n_ids,
                                         const npg_generation_config *config, const npg_streamer *streamer,
                                         npg_decoded_results **results) {
    if (!p || (!ids && n_ids) || !results)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_pipeline_generate_ids: %s is NULL",
                        !p ? "pipe" : !results ? "results" : "ids");
    return npg_pipeline_run(p, ids, n_ids, false, NULL, config, streamer, 0.0, results);
}

static npg_status generate_with_history_unlocked(npg_llm_pipeline *p, const npg_chat_history *history,
                                                  const npg_generation_config *config, const npg_streamer *streamer,
                                                  npg_decoded_results **results) {
    if (!p || !history || !results)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_pipeline_generate_with_history: %s is NULL",
                        !p ? "pipe" : !history ? "history" : "results");
    int32_t *ids = NULL;
    size_t n = 0;
    double ms = 0;
    NPG_TRY(render_history(p, history, &ids, &n, &ms));
    npg_status st = npg_pipeline_run(p, ids, n, true, NULL, config, streamer, ms, results);
    free(ids);
    return st;
}

static npg_status start_chat_unlocked(npg_llm_pipeline *p, const char *system_message) {
    npg_chat_history_clear(p->history);
    p->n_cached = 0;
    p->chat_active = true;
    if (system_message && *system_message)
        NPG_TRY(npg_chat_history_push(p->history, "system", system_message));
    return NPG_OK;
}

static npg_status finish_chat_unlocked(npg_llm_pipeline *p) {
    npg_chat_history_clear(p->history);
    p->n_cached = 0;
    p->chat_active = false;
    return NPG_OK;
}

static npg_status get_generation_config_unlocked(const npg_llm_pipeline *p, npg_generation_config **config) {
    if (!p || !config)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_pipeline_get_generation_config: an argument is NULL");
    return npg_generation_config_clone(p->config, config);
}

static npg_status set_generation_config_unlocked(npg_llm_pipeline *p, const npg_generation_config *config) {
    if (!p || !config)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_pipeline_set_generation_config: an argument is NULL");
    NPG_TRY(npg_generation_config_validate(config));
    npg_generation_config *copy = NULL;
    NPG_TRY(npg_generation_config_clone(config, &copy));
    npg_generation_config_free(p->config);
    p->config = copy;
    return NPG_OK;
}

npg_status npg_llm_pipeline_get_tokenizer(const npg_llm_pipeline *p, const npg_tokenizer **tok) {
    if (!p || !tok)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_llm_pipeline_get_tokenizer: an argument is NULL");
    *tok = p->tokenizer;
    return NPG_OK;
}

/* ---- one call at a time (npg_pipeline_enter) ---------------------------------------------------- */
static npg_status enter(const npg_llm_pipeline *p, const char *fn) {
    if (!p)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: pipe is NULL", fn);
    return npg_pipeline_enter(&((npg_llm_pipeline *)p)->busy, fn); /* mutable state of a const-used handle */
}

static void leave(const npg_llm_pipeline *p) { npg_pipeline_leave(&((npg_llm_pipeline *)p)->busy); }

npg_status npg_llm_pipeline_generate(npg_llm_pipeline *p, const char *prompt, const npg_generation_config *config,
                                     const npg_streamer *streamer, npg_decoded_results **results) {
    NPG_TRY(enter(p, "npg_llm_pipeline_generate"));
    npg_status st = generate_unlocked(p, prompt, config, streamer, results);
    leave(p);
    return st;
}

npg_status npg_llm_pipeline_generate_ids(npg_llm_pipeline *p, const int32_t *ids, size_t n_ids,
                                         const npg_generation_config *config, const npg_streamer *streamer,
                                         npg_decoded_results **results) {
    NPG_TRY(enter(p, "npg_llm_pipeline_generate_ids"));
    npg_status st = generate_ids_unlocked(p, ids, n_ids, config, streamer, results);
    leave(p);
    return st;
}

npg_status npg_llm_pipeline_generate_with_history(npg_llm_pipeline *p, const npg_chat_history *history,
                                                  const npg_generation_config *config, const npg_streamer *streamer,
                                                  npg_decoded_results **results) {
    NPG_TRY(enter(p, "npg_llm_pipeline_generate_with_history"));
    npg_status st = generate_with_history_unlocked(p, history, config, streamer, results);
    leave(p);
    return st;
}

npg_status npg_llm_pipeline_start_chat(npg_llm_pipeline *p, const char *system_message) {
    NPG_TRY(enter(p, "npg_llm_pipeline_start_chat"));
    npg_status st = start_chat_unlocked(p, system_message);
    leave(p);
    return st;
}

npg_status npg_llm_pipeline_finish_chat(npg_llm_pipeline *p) {
    NPG_TRY(enter(p, "npg_llm_pipeline_finish_chat"));
    npg_status st = finish_chat_unlocked(p);
    leave(p);
    return st;
}

npg_status npg_llm_pipeline_get_generation_config(const npg_llm_pipeline *p, npg_generation_config **config) {
    NPG_TRY(enter(p, "npg_llm_pipeline_get_generation_config"));
    npg_status st = get_generation_config_unlocked(p, config);
    leave(p);
    return st;
}

npg_status npg_llm_pipeline_set_generation_config(npg_llm_pipeline *p, const npg_generation_config *config) {
    NPG_TRY(enter(p, "npg_llm_pipeline_set_generation_config"));
    npg_status st = set_generation_config_unlocked(p, config);
    leave(p);
    return st;
}
