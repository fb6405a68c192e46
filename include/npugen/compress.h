/* npugen/compress.h — the public C API, part: compression tools (`npugen export`, `npugen eval`).
 * Not a header of its own: include "npugen.h", which includes every part in order inside its
 * extern "C" block, after the shared definitions (status codes, properties, NPG_API) they use. */
#ifndef NPUGEN_COMPRESS_H
#define NPUGEN_COMPRESS_H
#ifndef NPUGEN_H
#error "include npugen.h, not npugen/compress.h"
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Compression tools: `npugen export` (a Hugging Face folder into a compressed model folder) and
 * `npugen eval` (perplexity, KL divergence and top-1 agreement against a reference). Option meanings
 * follow optimum-cli / NNCF (docs/quantization.md); the evaluation follows llama.cpp's perplexity tool
 * (docs/quantization.md, src/compress/eval.h).
 * Export output: OUT_DIR/model.npgw + npugen_export.json + the source's tokenizer / config /
 * generation files, written under "OUT_DIR.tmp-XXXXXX" and renamed at the end (OUT_DIR either does
 * not change or is complete). A GPTQ source is exported as-is. */

typedef enum npg_export_format {
    NPG_EXPORT_FP32 = 0,
    NPG_EXPORT_FP16,
    NPG_EXPORT_INT8,
    NPG_EXPORT_INT4,
    NPG_EXPORT_NF4,
} npg_export_format;

typedef enum npg_export_backup {
    NPG_BACKUP_INT8_ASYM = 0, /* NNCF's default; stored as symmetric int8 (Q8_CW) */
    NPG_BACKUP_INT8_SYM,
    NPG_BACKUP_NONE,
} npg_export_backup;

/* What the caller sees while the export streams. Each phase counts its own steps in its own unit:
 * "sensitivity" and "write" tensors (with source bytes), "calibration" samples through layers (one
 * step per sample and layer), "awq" layers, "scale-estimation" and "gptq" matrices. The data-aware
 * phases take turns layer by layer, so they also say which layer runs and the time left of the whole
 * data-aware pass, estimated from the layers done. */
typedef struct npg_export_progress {
    const char *phase;       /* "calibration", "awq", "scale-estimation", "gptq", "sensitivity" or "write" */
    size_t tensor, n_tensors; /* steps of this phase done / in all (counted in `unit`) */
    uint64_t bytes_done, bytes_total; /* source bytes ("sensitivity", "write"), else 0 */
    double elapsed_ms;        /* since this phase (data-aware: the data-aware pass) started */
    const char *unit;         /* "tensors", "samples", "layers" or "matrices" */
    int64_t layer, n_layers;  /* data-aware phases: the layer being processed (1-based) of n_layers; else 0 */
    double eta_ms;            /* time left of the phase (data-aware: of the pass); < 0 when not known yet */
} npg_export_progress;

/* --sensitivity-metric (NNCF's names): how --ratio < 1 ranks the 4-bit candidates. DEFAULT is
 * weight_quantization_error without a dataset and max_activation_variance with one (NNCF's defaults). */
typedef enum npg_export_sensitivity {
    NPG_SENS_DEFAULT = 0,
    NPG_SENS_WEIGHT_QUANTIZATION_ERROR,
    NPG_SENS_HESSIAN_INPUT_ACTIVATION,
    NPG_SENS_MEAN_ACTIVATION_VARIANCE,
    NPG_SENS_MAX_ACTIVATION_VARIANCE,
    NPG_SENS_MEAN_ACTIVATION_MAGNITUDE,
} npg_export_sensitivity;

typedef struct npg_export_options {
    npg_export_format format;
    bool sym;
    int64_t group_size;  /* -1 channel-wise; NPG_EXPORT_GROUP_DEFAULT = the format's default */
    float ratio;         /* [0, 1] */
    bool all_layers;
    npg_export_backup backup;
    bool overwrite;
    /* Data-aware compression (docs/quantization.md): a calibration text (UTF-8; samples cut at blank
     * lines) run through the model on CPU. awq / scale_estimation / gptq and the activation-based
     * sensitivity metrics need it; 4-bit formats only. num_samples 0 = 128. */
    const char *dataset;
    int num_samples;
    bool awq;
    bool scale_estimation;
    bool gptq;
    bool gptq_act_order; /* GPTQ: columns in decreasing Hessian diagonal order (the default, as NNCF's) */
    bool gptq_natural_order; /* GPTQ: columns in file order instead (--no-gptq-act-order) */
    npg_export_sensitivity sensitivity;
    /* A vision-language model's vision tower and projector (tensors under vision_tower.* and
     * multi_modal_projector.*, either spelling): their matmul weights in fp16 (the default), int8 (per
     * output channel) or fp32, whatever `format` the language model gets; their other tensors (patch
     * convolution, position table, Gemma-3's projection matrix, norms) in fp16 (fp32 with fp32). */
    npg_export_format vision_format;
    /* optional: warnings and notes (level WARNING / INFO), one message per call */
    npg_log_callback log;
    void *log_user;
    /* optional: called after every tensor */
    void (*progress)(void *user, const npg_export_progress *p);
    void *progress_user;
} npg_export_options;

#define NPG_EXPORT_GROUP_DEFAULT INT64_MIN

/* Defaults of optimum-cli: int4 unless set, sym false, group size default, ratio 1, backup int8_asym. */
NPG_API void npg_export_options_init(npg_export_options *o);
/* Checks the option combination (NPG_ERR_INVALID_ARGUMENT naming the option): group size 0 / 1 / < -1,
 * ratio outside [0, 1] or not a number. */
NPG_API npg_status npg_export_options_check(const npg_export_options *o);
/* int4 without sym (asymmetric, NNCF's default) is refused for float sources; a GPTQ source is
 * exported as-is whatever the options, so npg_export_model applies this check only to float sources. */
NPG_API npg_status npg_export_options_check_sym(const npg_export_options *o);
/* Name parsing for the CLI: "fp16" ... -> enum; NPG_ERR_INVALID_ARGUMENT listing the choices. */
NPG_API npg_status npg_export_format_parse(const char *s, npg_export_format *out);
NPG_API npg_status npg_export_backup_parse(const char *s, npg_export_backup *out);
NPG_API const char *npg_export_format_name(npg_export_format f);
NPG_API const char *npg_export_backup_name(npg_export_backup b);
NPG_API npg_status npg_export_sensitivity_parse(const char *s, npg_export_sensitivity *out);
NPG_API const char *npg_export_sensitivity_name(npg_export_sensitivity m);

/* The whole export (see the top of this section). */
NPG_API npg_status npg_export_model(const char *src_dir, const char *out_dir, const npg_export_options *o);

typedef struct npg_eval_options {
    int64_t ctx;   /* window; 0 = min(max_position_embeddings, 512) */
    size_t chunks; /* at most this many windows (llama.cpp's --chunks); 0 = all */
    int threads;   /* 0 = all cores */
} npg_eval_options;

typedef struct npg_eval_result {
    double perplexity;
    size_t tokens;         /* scored tokens */
    size_t text_tokens;    /* tokens of the whole text */
    int64_t ctx;           /* the window actually used */
    size_t windows;
    bool has_reference;
    double kl_divergence;  /* with a reference */
    double top1_agreement; /* with a reference, in [0, 1] */
} npg_eval_result;

NPG_API void npg_eval_options_init(npg_eval_options *o);

/* Evaluates the model folder (Hugging Face or exported) on `text` (NUL-terminated UTF-8);
 * ref_dir may be NULL. */
NPG_API npg_status npg_eval_text(const char *model_dir, const char *ref_dir, const char *text,
                                 const npg_eval_options *o, npg_eval_result *out);
/* Several models (same vocab; the first one's tokenizer) on the same windows, out[n_models]; the
 * reference runs once per window. */
NPG_API npg_status npg_eval_text_many(const char *const *model_dirs, size_t n_models, const char *ref_dir,
                                      const char *text, const npg_eval_options *o, npg_eval_result *out);

#endif /* NPUGEN_COMPRESS_H */
