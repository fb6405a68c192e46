/* processor.c — Hugging Face image processors (the slow, Pillow-based ones) from
 * preprocessor_config.json: CLIPImageProcessor (LLaVA) and Gemma3ImageProcessor / SiglipImageProcessor.
 *
 * The order and arithmetic follow transformers (image_processing_clip.py, image_processing_gemma3.py,
 * image_transforms.py):
 *  - resize: CLIP with size {"shortest_edge": s}: get_resize_output_image_size(default_to_square=
 *    False): the short side becomes s, the long one int(s * long / short) (truncated, in double);
 *    size {"height", "width"}: that size. Pillow's resize with the configured resample, uint8 out.
 *  - center_crop (CLIP): crop_size {"height", "width"}.
 *  - rescale: image.astype(float64) * rescale_factor, then .astype(float32).
 *  - normalize: (x - mean) / std in float32, mean and std cast to float32 first.
 *  - HWC -> CHW. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "image/image.h"

struct npg_image_processor {
    char *path; /* preprocessor_config.json, for messages */
    bool do_resize;
    bool shortest_edge; /* size is {"shortest_edge": size_h} */
    size_t size_h, size_w;
    npg_resample resample;
    bool do_center_crop;
    size_t crop_h, crop_w;
    bool do_rescale;
    double rescale_factor;
    bool do_normalize;
    float mean[3], std[3];
};

enum proc_kind { PROC_CLIP, PROC_GEMMA3, PROC_SIGLIP };

static const double clip_mean[3] = {0.48145466, 0.4578275, 0.40821073}; /* OPENAI_CLIP_MEAN */
static const double clip_std[3] = {0.26862954, 0.26130258, 0.27577711}; /* OPENAI_CLIP_STD */

static npg_status read_size_value(const cJSON *v, const char *key, const char *path, size_t *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e6 || v->valuedouble != floor(v->valuedouble))
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' must be a whole number of pixels from 1 to 1000000", path, key);
    *out = (size_t)v->valuedouble;
    return NPG_OK;
}

/* "size" / "crop_size": a number or {"shortest_edge": n} or {"height": h, "width": w}. A bare number
 * means shortest_edge where `number_is_edge` (CLIP's get_size_dict(default_to_square=False)), a square
 * otherwise. */
static npg_status read_size(const cJSON *root, const char *key, const char *path, bool number_is_edge,
                            bool edge_allowed, bool *is_edge, size_t *h, size_t *w) {
    const cJSON *v = npg_json_get(root, key);
    if (!v || cJSON_IsNull(v))
        return NPG_OK; /* keep the default */
    if (cJSON_IsNumber(v)) {
        NPG_TRY(read_size_value(v, key, path, h));
        *w = *h;
        *is_edge = number_is_edge;
        return NPG_OK;
    }
    if (!cJSON_IsObject(v))
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' must be a number or an object", path, key);
    const cJSON *edge = npg_json_get(v, "shortest_edge");
    if (edge) {
        if (!edge_allowed)
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s: '%s.shortest_edge' is not supported by this processor", path,
                            key);
        if (npg_json_get(v, "longest_edge"))
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s: '%s.longest_edge' is not supported", path, key);
        NPG_TRY(read_size_value(edge, "shortest_edge", path, h));
        *w = *h;
        *is_edge = true;
        return NPG_OK;
    }
    const cJSON *hv = npg_json_get(v, "height"), *wv = npg_json_get(v, "width");
    if (!hv || !wv)
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' needs \"height\" and \"width\" (or \"shortest_edge\")", path, key);
    NPG_TRY(read_size_value(hv, "height", path, h));
    NPG_TRY(read_size_value(wv, "width", path, w));
    *is_edge = false;
    return NPG_OK;
}

static npg_status read_bool(const cJSON *root, const char *key, const char *path, bool *out) {
    const cJSON *v = npg_json_get(root, key);
    if (!v || cJSON_IsNull(v))
        return NPG_OK;
    if (!cJSON_IsBool(v))
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' must be true or false", path, key);
    *out = cJSON_IsTrue(v);
    return NPG_OK;
}

static npg_status read_triple(const cJSON *root, const char *key, const char *path, float out[3]) {
    const cJSON *v = npg_json_get(root, key);
    if (!v || cJSON_IsNull(v))
        return NPG_OK;
    if (cJSON_IsNumber(v)) { /* transformers accepts one number for all channels */
        out[0] = out[1] = out[2] = (float)v->valuedouble;
        return NPG_OK;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 3)
        return npg_fail(NPG_ERR_FORMAT, "%s: '%s' must be a list of 3 numbers (R, G, B)", path, key);
    for (int c = 0; c < 3; c++) {
        const cJSON *e = cJSON_GetArrayItem(v, c);
        if (!cJSON_IsNumber(e))
            return npg_fail(NPG_ERR_FORMAT, "%s: '%s'[%d] is not a number", path, key, c);
        out[c] = (float)e->valuedouble; /* numpy: np.array(mean, dtype=float32) */
    }
    return NPG_OK;
}

static npg_status configure(npg_image_processor *p, const cJSON *root) {
    const char *path = p->path;
    const char *type = npg_json_get_string(root, "image_processor_type");
    if (!type)
        return npg_fail(NPG_ERR_FORMAT, "%s: 'image_processor_type' is missing", path);
    /* The "Fast" (torchvision) processors resize differently; npugen reproduces the slow ones. */
    size_t tl = strlen(type);
    size_t base = tl > 4 && strcmp(type + tl - 4, "Fast") == 0 ? tl - 4 : tl;
    enum proc_kind kind;
    if (base == strlen("CLIPImageProcessor") && strncmp(type, "CLIPImageProcessor", base) == 0)
        kind = PROC_CLIP;
    else if (base == strlen("Gemma3ImageProcessor") && strncmp(type, "Gemma3ImageProcessor", base) == 0)
        kind = PROC_GEMMA3;
    else if (base == strlen("SiglipImageProcessor") && strncmp(type, "SiglipImageProcessor", base) == 0)
        kind = PROC_SIGLIP;
    else
        return npg_fail(NPG_ERR_UNSUPPORTED,
                        "%s: image_processor_type '%s' is not supported (CLIPImageProcessor, "
                        "Gemma3ImageProcessor, SiglipImageProcessor)",
                        path, type);
    /* the processors' defaults (their __init__) */
    p->do_resize = p->do_rescale = p->do_normalize = true;
    p->rescale_factor = 1.0 / 255;
    p->size_h = p->size_w = 224;
    if (kind == PROC_CLIP) {
        p->shortest_edge = true;
        p->resample = NPG_RESAMPLE_BICUBIC;
        p->do_center_crop = true;
        p->crop_h = p->crop_w = 224;
        for (int c = 0; c < 3; c++)
            p->mean[c] = (float)clip_mean[c], p->std[c] = (float)clip_std[c];
    } else {
        p->resample = kind == PROC_GEMMA3 ? NPG_RESAMPLE_BILINEAR : NPG_RESAMPLE_BICUBIC;
        for (int c = 0; c < 3; c++)
            p->mean[c] = p->std[c] = 0.5f; /* IMAGENET_STANDARD_MEAN / _STD */
    }
    NPG_TRY(read_bool(root, "do_resize", path, &p->do_resize));
    NPG_TRY(
        read_size(root, "size", path, kind == PROC_CLIP, kind == PROC_CLIP, &p->shortest_edge, &p->size_h, &p->size_w));
    double r = 0;
    if (npg_json_get_number(root, "resample", &r)) {
        if (r != floor(r) || r < 1 || r > 5)
            return npg_fail(NPG_ERR_UNSUPPORTED,
                            "%s: 'resample' %g is not supported (1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING)",
                            path, r);
        p->resample = (npg_resample)(int)r;
    }
    if (kind == PROC_CLIP) {
        NPG_TRY(read_bool(root, "do_center_crop", path, &p->do_center_crop));
        bool crop_edge = false;
        NPG_TRY(read_size(root, "crop_size", path, false, false, &crop_edge, &p->crop_h, &p->crop_w));
    }
    NPG_TRY(read_bool(root, "do_rescale", path, &p->do_rescale));
    if (npg_json_get(root, "rescale_factor") && !npg_json_get_number(root, "rescale_factor", &p->rescale_factor))
        return npg_fail(NPG_ERR_FORMAT, "%s: 'rescale_factor' must be a number", path);
    NPG_TRY(read_bool(root, "do_normalize", path, &p->do_normalize));
    NPG_TRY(read_triple(root, "image_mean", path, p->mean));
    NPG_TRY(read_triple(root, "image_std", path, p->std));
    for (int c = 0; c < 3; c++)
        if (p->do_normalize && p->std[c] == 0.0f)
            return npg_fail(NPG_ERR_FORMAT, "%s: 'image_std'[%d] is 0", path, c);
    bool pan_and_scan = false;
    NPG_TRY(read_bool(root, "do_pan_and_scan", path, &pan_and_scan));
    if (pan_and_scan)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: 'do_pan_and_scan' true is not supported yet (set it false)", path);
    return NPG_OK;
}

npg_status npg_image_processor_create(const char *model_dir, npg_image_processor **out) {
    if (!model_dir || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_processor_create: %s is NULL",
                        !model_dir ? "model_dir" : "out");
    npg_image_processor *p = calloc(1, sizeof *p);
    NPG_CHECK_ALLOC(p);
    p->path = npg_path_join(model_dir, "preprocessor_config.json");
    if (!p->path) {
        free(p);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory in %s", __func__);
    }
    cJSON *root = NULL;
    npg_status st = npg_json_parse_file(p->path, &root);
    if (st == NPG_OK && !cJSON_IsObject(root))
        st = npg_fail(NPG_ERR_FORMAT, "%s: not a JSON object", p->path);
    if (st == NPG_OK)
        st = configure(p, root);
    cJSON_Delete(root);
    if (st != NPG_OK) {
        npg_image_processor_free(p);
        return st;
    }
    *out = p;
    return NPG_OK;
}

void npg_image_processor_free(npg_image_processor *p) {
    if (!p)
        return;
    free(p->path);
    free(p);
}

npg_status npg_image_processor_prepare(const npg_image_processor *p, const npg_image *img, npg_image **out) {
    if (!p || !img || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_processor_prepare: %s is NULL",
                        !p     ? "p"
                        : !img ? "img"
                               : "out");
    npg_image *cur = NULL;
    if (p->do_resize) {
        size_t h = p->size_h, w = p->size_w;
        if (p->shortest_edge) {
            /* get_resize_output_image_size(default_to_square=False): Python's int(s * long / short) */
            size_t s = p->size_h, ih = img->height, iw = img->width;
            size_t shorter = iw <= ih ? iw : ih, longer = iw <= ih ? ih : iw;
            size_t new_long = (size_t)((double)(s * longer) / (double)shorter);
            h = iw <= ih ? new_long : s;
            w = iw <= ih ? s : new_long;
        }
        NPG_TRY(npg_image_resize(img, w, h, p->resample, &cur));
    }
    if (p->do_center_crop) {
        npg_image *cropped = NULL;
        npg_status st = npg_image_center_crop(cur ? cur : img, p->crop_w, p->crop_h, &cropped);
        npg_image_free(cur);
        NPG_TRY(st);
        cur = cropped;
    }
    if (!cur)
        NPG_TRY(npg_image_from_rgb(img->width, img->height, img->rgb, &cur));
    *out = cur;
    return NPG_OK;
}

npg_status npg_image_preprocess(const npg_image_processor *p, const npg_image *img, float **pixel_values,
                                size_t *height, size_t *width) {
    if (!p || !img || !pixel_values || !height || !width)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_preprocess: a required argument is NULL");
    npg_image *prep = NULL;
    NPG_TRY(npg_image_processor_prepare(p, img, &prep));
    size_t h = prep->height, w = prep->width, plane = h * w;
    float *pv = malloc(plane * 3 * sizeof *pv);
    if (!pv) {
        npg_image_free(prep);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "npg_image_preprocess: out of memory for 3 x %zu x %zu", h, w);
    }
    for (int c = 0; c < 3; c++) {
        float m = p->mean[c], s = p->std[c];
        for (size_t i = 0; i < plane; i++) {
            uint8_t u = prep->rgb[i * 3 + (size_t)c];
            /* rescale in float64, stored as float32; then normalize in float32 (numpy's dtypes) */
            float x = p->do_rescale ? (float)((double)u * p->rescale_factor) : (float)u;
            if (p->do_normalize) {
                float d = x - m; /* two separately rounded float operations, never fused */
                x = d / s;
            }
            pv[(size_t)c * plane + i] = x;
        }
    }
    npg_image_free(prep);
    *pixel_values = pv;
    *height = h;
    *width = w;
    return NPG_OK;
}
