/* export.h — internals of `npugen export` (the entry point, npg_export_model, and its options are public:
 * include/npugen.h): a Hugging Face folder into a compressed model folder.
 *
 * The meaning of every option follows optimum-cli / NNCF (docs/quantization.md has the details and
 * where npugen differs):
 *   format        fp32 | fp16 | int8 (per output channel) | int4 (symmetric; group-wise or channel-wise)
 *                 | nf4 (channel-wise). Matrices only: 1-D tensors (norms, biases) keep their dtype.
 *   group_size    int4: -1 channel-wise, N >= 2 group-wise (default 128); 0 and 1 are refused.
 *   ratio         share of the eligible matrices' weights in 4-bit (NNCF's data-free criterion picks
 *                 which; see export_plan.c); the rest get the backup precision.
 *   all_layers    embeddings and lm_head are 4-bit candidates too (otherwise backup precision).
 *   backup        int8_sym | int8_asym (stored as symmetric int8: npugen has no asymmetric int8) |
 *                 none (keep the source float type).
 * A source whose config names a GPTQ quantization (quantization_config / quantize_config.json) is
 * exported as-is (src/compress/gptq.c): the format options do not apply.
 *
 * Output: OUT_DIR/model.npgw (format/npgw.h) + npugen_export.json (the settings, also inside the
 * container's metadata) + the source's tokenizer / config / generation files. Everything is written
 * under "OUT_DIR.tmp-XXXXXX" and renamed at the end; a failure removes it, so OUT_DIR either does not
 * change or is complete. */
#ifndef NPG_COMPRESS_EXPORT_H
#define NPG_COMPRESS_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "format/safetensors.h"
#include "weights/weights.h"
#include "npugen.h"

struct npg_gptq_config;
struct npgw_writer;

/* ---- shared between export*.c and gptq.c ---------------------------------------------------- */

/* Sends one message to the options' log callback (printf-style). */
void npg_export_log(const npg_export_options *o, npg_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* One output tensor and where its bytes come from. */
typedef enum npg_export_kind {
    NPG_EXPORT_COPY,    /* float tensor stored as its own dtype: bytes copied */
    NPG_EXPORT_CONVERT, /* 2-D float tensor converted / quantized to `wtype` */
    NPG_EXPORT_GPTQ,    /* a GPTQ layer (qweight, qzeros, scales, g_idx) repacked exactly */
} npg_export_kind;

typedef struct npg_export_item {
    char *name;                    /* output name */
    npg_export_kind kind;
    npg_wtype wtype;
    int n_dims;
    int64_t shape[4];
    int64_t group_size;            /* Q4_G */
    const npg_tensor_info *src;    /* COPY / CONVERT: the source tensor */
    bool eligible4;                /* a 4-bit candidate */
    bool embedding;                /* embed / lm_head style */
    double sensitivity;            /* ratio < 1: NNCF data-free score */
    /* GPTQ */
    const npg_tensor_info *qweight, *qzeros, *scales, *g_idx;
    /* data-aware export (dataaware.c; owned, freed with the plan): f32 values replacing the source's
     * ([n, k], or [n] for a norm) and/or the final 4-bit codes [n, k] (stored code values 0..15) with
     * their scales (npg_quant_scale_count) */
    float *override;
    uint8_t *codes;
    float *qscales;
} npg_export_item;


/* Every output tensor, in source order, with its storage decided. */
typedef struct npg_export_plan {
    npg_export_item *items;
    size_t n, cap;
    uint64_t source_bytes;    /* bytes of the source tensors read */
    size_t n_4bit, n_backup, n_float, n_gptq, n_fallback;
    uint64_t weights_4bit, weights_eligible; /* parameters (n * k) in 4-bit / among the ratio's candidates */
} npg_export_plan;

/* Decides every tensor's storage (export_plan.c). With ratio < 1 this reads the candidate matrices
 * once to score them (progress phase "sensitivity"); calib (NULL without --dataset) gives the
 * activation statistics of the data-aware sensitivity metrics. */
struct npg_calib;
npg_status npg_export_plan_build(const npg_tensor_store *ts, const struct npg_gptq_config *gq,
                                 const npg_export_options *o, struct npg_calib *calib, npg_export_plan *plan);
void npg_export_plan_free(npg_export_plan *plan);

/* Streams every item into the writer after npgw_writer_begin (export_write.c). */
npg_status npg_export_write_items(const npg_export_plan *plan, struct npgw_writer *w, const npg_export_options *o);

/* Rows r0 .. r0+nr-1 of an item's 2-D matrix as f32: its override when set, else the source. */
void npg_export_item_rows(const npg_export_item *it, int64_t r0, int64_t nr, float *out);
/* Rows r0 .. r0+nr-1 of a 2-D F32/F16/BF16 source tensor [*, k] as f32 (export_write.c). */
void npg_export_read_rows(const npg_tensor_info *t, int64_t r0, int64_t nr, float *out);
/* Lets the kernel drop the source pages of a tensor we are done with (keeps peak RSS low while
 * streaming a model larger than memory would like); harmless if they are needed again. */
void npg_export_release_pages(const void *p, size_t n);
/* Time left of a phase that ran elapsed_ms for done of total units at a steady pace; -1 before any. */
double npg_export_eta_ms(double elapsed_ms, uint64_t done, uint64_t total);

#endif
