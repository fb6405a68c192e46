/* vlm_pipeline.c — npg_vlm_pipeline: OpenVINO GenAI's VLMPipeline over an LLM pipeline.
 *
 * A request: the images are preprocessed (src/image, Pillow-exact) and encoded by the vision tower and
 * projector on the CPU — once per conversation, features cached by pixel hash; the prompt's image tags
 * are normalized to <ov_genai_image_N>, the chat template (chat mode) renders the history, every tag
 * is expanded to the model's image tokens in the TEXT (as the HF processors do: tokenizing the
 * expanded text is what gives Gemma-3's "\n\n\n" token), and the ids become input embedding rows:
 * text rows embedded as usual (Gemma's sqrt(hidden) scale), image-token rows replaced by the image's
 * features in order (unscaled), each Gemma-3 image one bidirectional span. The language model's
 * generation loop is the LLM pipeline's, fed those rows. */
#include "pipeline/vlm_pipeline.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/timer.h"
#include "hub/hub.h"
#include "pipeline/pipeline_common.h"
#include "pipeline/results.h"
#include "tokenizer/tokenizer.h"

npg_status npg_model_is_vlm(const char *models_path, bool *is_vlm) {
    if (!models_path || !is_vlm)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_model_is_vlm: %s is NULL", !models_path ? "models_path" : "is_vlm");
    char *dir = NULL;
    NPG_TRY(npg_hub_resolve_model_dir(models_path, &dir));
    npg_vision_config vc;
    npg_status st = npg_vision_config_load(dir, &vc);
    free(dir);
    *is_vlm = st == NPG_OK;
    if (st == NPG_ERR_NOT_FOUND) {
        npg_clear_error();
        return NPG_OK;
    }
    return st;
}

static void clear_images(npg_vlm_pipeline *p, size_t keep) {
    for (size_t i = keep; i < p->n_images; i++)
        free(p->images[i].features);
    p->n_images = keep;
}

/* The model's image tokens, checked against its tokenizer and config. */
static npg_status setup_tokens(npg_vlm_pipeline *p) {
    const npg_vision_config *c = &p->vision->cfg;
    const npg_tokenizer *tok = p->llm->tokenizer;
    npg_vlm_tokens *t = &p->tokens;
    t->count = (size_t)c->mm_tokens;
    if (c->projector == NPG_PROJECTOR_GEMMA3) {
        *t = (npg_vlm_tokens){.native_tag = "<start_of_image>",
                              .lead = "",
                              .prefix = "\n\n<start_of_image>",
                              .image_token = "<image_soft_token>",
                              .suffix = "<end_of_image>\n\n",
                              .count = (size_t)c->mm_tokens};
        if (npg_tokenizer_token_to_id(tok, "<start_of_image>") != c->boi_token_id ||
            npg_tokenizer_token_to_id(tok, "<end_of_image>") != c->eoi_token_id)
            return npg_fail(NPG_ERR_FORMAT,
                            "%s: the tokenizer's <start_of_image>/<end_of_image> are not config.json's "
                            "boi_token_index %d / eoi_token_index %d",
                            p->llm->model_dir, c->boi_token_id, c->eoi_token_id);
    } else {
        *t = (npg_vlm_tokens){
            .native_tag = "<image>", .lead = "\n", .prefix = "", .image_token = "<image>", .suffix = "", .count = t->count};
    }
    if (npg_tokenizer_token_to_id(tok, t->image_token) != c->image_token_id)
        return npg_fail(NPG_ERR_FORMAT, "%s: the tokenizer's %s is not config.json's image token id %d",
                        p->llm->model_dir, t->image_token, c->image_token_id);
    return NPG_OK;
}

npg_status npg_vlm_pipeline_create_with_properties(const char *models_path, const char *device,
                                                   const npg_properties *properties, npg_vlm_pipeline **pipe) {
    const npg_device *dev = NULL;
    NPG_TRY(npg_pipeline_find_device("npg_vlm_pipeline_create", models_path, device, pipe != NULL, &dev));
    npg_properties *lprops = NULL;
    NPG_TRY(npg_vlm_device_properties(dev, properties, &lprops));
    npg_vlm_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        npg_properties_free(lprops);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the VLM pipeline");
    }
    npg_status st = npg_vision_model_load(models_path, &p->vision);
    if (st == NPG_ERR_NOT_FOUND && strstr(npg_last_error(), "no vision tower"))
        st = npg_fail(NPG_ERR_UNSUPPORTED, "%s: not a vision-language model (%s): use the LLM pipeline", models_path,
                      npg_last_error());
    if (st == NPG_OK)
        st = npg_llm_pipeline_create_with_properties(models_path, device, lprops, &p->llm);
    if (st == NPG_OK && p->vision->cfg.text_hidden != p->llm->model->cfg.hidden)
        st = npg_fail(NPG_ERR_FORMAT, "%s: the projector gives %lld-wide features but the language model is %lld wide",
                      models_path, (long long)p->vision->cfg.text_hidden, (long long)p->llm->model->cfg.hidden);
    if (st == NPG_OK)
        st = npg_image_processor_create(p->llm->model_dir, &p->processor);
    int threads = 0;
    if (st == NPG_OK)
        st = npg_engine_threads(lprops, &threads);
    if (st == NPG_OK)
        st = npg_engine_isa(lprops, &p->isa);
    if (st == NPG_OK)
        st = npg_threadpool_create(threads, &p->pool);
    if (st == NPG_OK)
        st = setup_tokens(p);
    npg_properties_free(lprops);
    if (st != NPG_OK) {
        npg_vlm_pipeline_free(p);
        return st;
    }
    *pipe = p;
    return NPG_OK;
}

npg_status npg_vlm_pipeline_create(const char *models_path, const char *device, size_t property_args_size,
                                   npg_vlm_pipeline **pipe, ...) {
    npg_properties *props = NULL;
    va_list ap;
    va_start(ap, pipe);
    npg_status st = npg_pipeline_properties_from_args("npg_vlm_pipeline_create", property_args_size, ap, &props);
    va_end(ap);
    if (st == NPG_OK)
        st = npg_vlm_pipeline_create_with_properties(models_path, device, props, pipe);
    npg_properties_free(props);
    return st;
}

void npg_vlm_pipeline_free(npg_vlm_pipeline *p) {
    if (!p)
        return;
    clear_images(p, 0);
    free(p->images);
    npg_threadpool_free(p->pool);
    npg_image_processor_free(p->processor);
    npg_vision_model_free(p->vision);
    npg_llm_pipeline_free(p->llm);
    free(p);
}

/* ---- images ------------------------------------------------------------------------------------ */

static npg_status encode_image(npg_vlm_pipeline *p, const npg_image *img, float **features) {
    const npg_vision_config *c = &p->vision->cfg;
    float *pv = NULL;
    size_t h = 0, w = 0;
    NPG_TRY(npg_image_preprocess(p->processor, img, &pv, &h, &w));
    npg_status st = NPG_OK;
    if ((int64_t)h != c->image_size || (int64_t)w != c->image_size)
        st = npg_fail(NPG_ERR_FORMAT,
                      "%s: the image processor gives %zu x %zu pixels but the vision tower takes %lld x %lld",
                      p->llm->model_dir, w, h, (long long)c->image_size, (long long)c->image_size);
    float *f = st == NPG_OK ? malloc((size_t)(c->mm_tokens * c->text_hidden) * sizeof(float)) : NULL;
    if (st == NPG_OK && !f)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for an image's features");
    if (st == NPG_OK)
        st = npg_vision_encode(p->vision, pv, p->pool, p->isa, f, NULL);
    npg_free(pv);
    if (st != NPG_OK) {
        free(f);
        return st;
    }
    *features = f;
    return NPG_OK;
}

/* Appends the request's images to p->images: the features of pixels already there are copied, the
 * others encoded. */
npg_status npg_vlm_add_images(npg_vlm_pipeline *p, const npg_image *const *images, size_t n, double *vision_ms) {
    *vision_ms = 0.0;
    const npg_vision_config *c = &p->vision->cfg;
    size_t fbytes = (size_t)(c->mm_tokens * c->text_hidden) * sizeof(float);
    if (p->n_images + n > p->cap_images) {
        size_t cap = p->n_images + n + 4;
        npg_vlm_image *a = realloc(p->images, cap * sizeof *a);
        NPG_CHECK_ALLOC(a);
        p->images = a;
        p->cap_images = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const npg_image *img = images[i];
        if (!img)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "images[%zu] is NULL", i);
        size_t w = npg_image_width(img), h = npg_image_height(img);
        uint64_t hash = npg_hash64(npg_image_data(img), w * h * 3, (uint64_t)w * 1000003u + h);
        npg_vlm_image *e = &p->images[p->n_images];
        *e = (npg_vlm_image){.hash = hash, .width = w, .height = h};
        for (size_t j = 0; j < p->n_images && !e->features; j++) {
            const npg_vlm_image *o = &p->images[j];
            if (o->hash == hash && o->width == w && o->height == h) {
                e->features = malloc(fbytes);
                NPG_CHECK_ALLOC(e->features);
                memcpy(e->features, o->features, fbytes);
            }
        }
        if (!e->features) {
            double t0 = npg_now_ms();
            npg_status st = encode_image(p, img, &e->features);
            if (st != NPG_OK)
                return npg_fail_context(st, "image %zu", i);
            *vision_ms += npg_now_ms() - t0;
        }
        p->n_images++;
    }
    return NPG_OK;
}

/* ---- prompt rows --------------------------------------------------------------------------------- */

void npg_vlm_prompt_free(npg_vlm_prompt *r) {
    if (!r)
        return;
    free(r->ids);
    free(r->embeds);
    free(r->span);
    free(r->keys);
    memset(r, 0, sizeof *r);
}

/* Embeds ids[n]: text rows as the model embeds them, the k-th run of `count` image-token rows replaced by
 * image order[k]'s features, a span per image (Gemma-3), cache keys unique per image row. */
static npg_status build_rows(const npg_vlm_pipeline *p, const size_t *order, npg_vlm_prompt *r) {
    const npg_model *m = p->llm->model;
    const npg_vision_config *vc = &p->vision->cfg;
    const int32_t *ids = r->ids;
    size_t n = r->n, H = (size_t)m->cfg.hidden, count = p->tokens.count, n_img = 0;
    for (size_t i = 0; i < n; i++)
        n_img += ids[i] == vc->image_token_id;
    if (n_img != r->n_images * count)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "the prompt holds %zu %s tokens where its %zu image%s expand to %zu: the image token is "
                        "reserved for images (write %s or <ov_genai_image_N> instead)",
                        n_img, p->tokens.image_token, r->n_images, r->n_images == 1 ? "" : "s", r->n_images * count,
                        p->tokens.native_tag);
    r->embeds = malloc(n * H * sizeof(float));
    r->span = calloc(n, sizeof(int32_t));
    r->keys = malloc(n * sizeof(int32_t));
    if (!r->embeds || !r->span || !r->keys)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the prompt's %zu embedding rows", n);
    bool spans = vc->projector == NPG_PROJECTOR_GEMMA3; /* token_type_ids: bidirectional within an image */
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        float *row = r->embeds + i * H;
        if (ids[i] != vc->image_token_id) {
            npg_weight_get_row(&m->embed, ids[i], row);
            if (m->cfg.embed_scale != 1.0f)
                for (size_t d = 0; d < H; d++)
                    row[d] *= m->cfg.embed_scale;
            r->keys[i] = ids[i];
            continue;
        }
        size_t k = seen / count, t = seen % count, img = order[k];
        memcpy(row, p->images[img].features + t * H, H * sizeof(float));
        r->span[i] = spans ? (int32_t)(k + 1) : 0;
        r->keys[i] = -(int32_t)(1 + (img % 32768) * 65536 + t % 65536);
        seen++;
    }
    return NPG_OK;
}

npg_status npg_vlm_build_prompt(const npg_vlm_pipeline *p, const char *text, bool add_special, npg_vlm_prompt *out) {
    memset(out, 0, sizeof *out);
    char *expanded = NULL;
    size_t *order = NULL;
    NPG_TRY(npg_vlm_expand_prompt(&p->tokens, text, p->n_images, &expanded, &order, &out->n_images));
    double t0 = npg_now_ms();
    npg_status st = npg_tokenizer_encode(p->llm->tokenizer, expanded, add_special, &out->ids, &out->n);
    out->tokenize_ms = npg_now_ms() - t0;
    free(expanded);
    if (st == NPG_OK)
        st = build_rows(p, order, out);
    free(order);
    if (st != NPG_OK)
        npg_vlm_prompt_free(out);
    return st;
}

/* ---- generation ---------------------------------------------------------------------------------- */

static npg_status run(npg_vlm_pipeline *p, const char *text, bool add_special, bool chat, double vision_ms,
                      const npg_generation_config *cfg, const npg_streamer *streamer, npg_decoded_results **results) {
    npg_vlm_prompt r;
    NPG_TRY(npg_vlm_build_prompt(p, text, add_special, &r));
    npg_prompt_rows rows = {.embeds = r.embeds, .span = r.span, .keys = r.keys};
    npg_status st = npg_pipeline_run_rows(p->llm, r.ids, r.n, r.n_images ? &rows : NULL, chat, NULL, cfg, streamer,
                                          r.tokenize_ms, results);
    if (st == NPG_ERR_LIMIT && r.n_images) /* say how much of the prompt the images are */
        st = npg_fail_context(st, "%zu prompt tokens, %zu of them image tokens (%zu image%s x %zu)", r.n,
                              r.n_images * p->tokens.count, r.n_images, r.n_images == 1 ? "" : "s", p->tokens.count);
    if (st == NPG_OK) {
        (*results)->perf.vision_ms = (float)vision_ms;
        (*results)->perf.generate_ms += (float)vision_ms;
    }
    npg_vlm_prompt_free(&r);
    return st;
}

static npg_status generate_unlocked(npg_vlm_pipeline *p, const char *prompt, const npg_image *const *images,
                                    size_t n_images, const npg_generation_config *cfg, const npg_streamer *streamer,
                                    npg_decoded_results **results) {
    if (!prompt || !results || (!images && n_images))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_vlm_pipeline_generate: %s is NULL",
                        !prompt ? "prompt" : !results ? "results" : "images");
    bool chat = p->llm->chat_active;
    if (!chat)
        clear_images(p, 0);
    size_t base = p->n_images;
    double vision_ms = 0.0;
    npg_status st = npg_vlm_add_images(p, images, n_images, &vision_ms);
    char *norm = NULL;
    if (st == NPG_OK)
        st = npg_vlm_normalize_prompt(&p->tokens, prompt, base, n_images, p->n_images, &norm);
    if (st == NPG_OK && !chat) {
        st = run(p, norm, true, false, vision_ms, cfg, streamer, results);
    } else if (st == NPG_OK) {
        size_t before = npg_chat_history_size(p->llm->history);
        char *text = NULL;
        bool add_special = true;
        st = npg_chat_history_push(p->llm->history, "user", norm);
        if (st == NPG_OK)
            st = npg_pipeline_render_history(p->llm, p->llm->history, &text, &add_special);
        if (st == NPG_OK)
            st = run(p, text, add_special, true, vision_ms, cfg, streamer, results);
        free(text);
        if (st == NPG_OK) {
            st = npg_chat_history_push(p->llm->history, "assistant", (*results)->text);
            if (st != NPG_OK) {
                npg_decoded_results_free(*results);
                *results = NULL;
            }
        }
        if (st != NPG_OK) /* the turn is dropped: its user message and its images */
            npg_chat_history_truncate(p->llm->history, before);
    }
    if (st != NPG_OK)
        clear_images(p, base);
    free(norm);
    return st;
}

/* One call at a time, refused rather than queued (as the LLM pipeline: npugen.h, "Threads"). */
static npg_status enter(const npg_vlm_pipeline *p, const char *fn) {
    if (!p)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: pipe is NULL", fn);
    return npg_pipeline_enter(&((npg_vlm_pipeline *)p)->busy, fn);
}

static void leave(const npg_vlm_pipeline *p) { npg_pipeline_leave(&((npg_vlm_pipeline *)p)->busy); }

npg_status npg_vlm_pipeline_generate(npg_vlm_pipeline *p, const char *prompt, const npg_image *const *images,
                                     size_t n_images, const npg_generation_config *config,
                                     const npg_streamer *streamer, npg_decoded_results **results) {
    NPG_TRY(enter(p, "npg_vlm_pipeline_generate"));
    npg_status st = generate_unlocked(p, prompt, images, n_images, config, streamer, results);
    leave(p);
    return st;
}

static void reset_conversation(npg_vlm_pipeline *p, bool active) {
    npg_chat_history_clear(p->llm->history);
    p->llm->n_cached = 0;
    p->llm->chat_active = active;
    clear_images(p, 0);
}

npg_status npg_vlm_pipeline_start_chat(npg_vlm_pipeline *p, const char *system_message) {
    NPG_TRY(enter(p, "npg_vlm_pipeline_start_chat"));
    reset_conversation(p, true);
    npg_status st = NPG_OK;
    if (system_message && *system_message)
        st = npg_chat_history_push(p->llm->history, "system", system_message);
    leave(p);
    return st;
}

npg_status npg_vlm_pipeline_finish_chat(npg_vlm_pipeline *p) {
    NPG_TRY(enter(p, "npg_vlm_pipeline_finish_chat"));
    reset_conversation(p, false);
    leave(p);
    return NPG_OK;
}

npg_status npg_vlm_pipeline_get_generation_config(const npg_vlm_pipeline *p, npg_generation_config **config) {
    if (!p)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_vlm_pipeline_get_generation_config: pipe is NULL");
    return npg_llm_pipeline_get_generation_config(p->llm, config);
}

npg_status npg_vlm_pipeline_set_generation_config(npg_vlm_pipeline *p, const npg_generation_config *config) {
    NPG_TRY(enter(p, "npg_vlm_pipeline_set_generation_config"));
    npg_status st = npg_llm_pipeline_set_generation_config(p->llm, config);
    leave(p);
    return st;
}

npg_status npg_vlm_pipeline_get_llm(const npg_vlm_pipeline *p, const npg_llm_pipeline **llm) {
    if (!p || !llm)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_vlm_pipeline_get_llm: an argument is NULL");
    *llm = p->llm;
    return NPG_OK;
}

npg_status npg_vlm_pipeline_get_image_tokens(const npg_vlm_pipeline *p, size_t *n) {
    if (!p || !n)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_vlm_pipeline_get_image_tokens: an argument is NULL");
    *n = p->tokens.count;
    return NPG_OK;
}

npg_status npg_vlm_pipeline_get_vision_flops(const npg_vlm_pipeline *p, double *flops) {
    if (!p || !flops)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_vlm_pipeline_get_vision_flops: an argument is NULL");
    *flops = npg_vision_flops(&p->vision->cfg);
    return NPG_OK;
}
