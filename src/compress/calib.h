/* calib.h — calibration statistics for data-aware `npugen export` (--dataset): the inputs every
 * linear layer sees when the float model runs on CPU over the calibration samples.
 *
 * Samples: the dataset text is cut at blank lines; each piece is tokenized with the model's tokenizer
 * (special tokens added, as a prompt would be) and cut into windows of at most min(max_pos, 512)
 * tokens (a window after the first starts with BOS, as `npugen eval` does); the first num_samples
 * windows are used.
 *
 * Per layer there are four distinct linear inputs (slots): the attention input (q/k/v), the o_proj
 * input, the MLP input (gate/up) and the down_proj input. For each slot over all calibration tokens:
 * sum, sum of squares, sum of |x| and max |x| per input channel (the sensitivity metrics, AWQ's mean
 * |x|), optionally X^T X (GPTQ's Hessian, [k, k] doubles), and up to NPG_CALIB_ROWS token rows taken
 * at an even stride (AWQ's and scale estimation's output-error searches). NNCF reduces each sample to
 * its mean over tokens; npugen keeps token rows, which the searches use directly.
 *
 * Memory: the statistics of every slot are kept for the whole run (one pass over the data): the
 * Hessians dominate, sum over layers of (3 hidden^2 + ffn^2) doubles, only when asked for. */
#ifndef NPG_COMPRESS_CALIB_H
#define NPG_COMPRESS_CALIB_H

#include <stdbool.h>
#include <stdint.h>

#include "models/tensor_names.h"
#include "npugen.h"

#define NPG_CALIB_ROWS 256

enum { NPG_SLOT_ATTN = 0, NPG_SLOT_O, NPG_SLOT_FFN, NPG_SLOT_DOWN, NPG_SLOT_COUNT };

typedef struct npg_calib_slot {
    int64_t k;
    uint64_t count;                /* rows seen */
    double *sum, *sumsq, *sum_abs; /* [k] */
    float *max_abs;                /* [k] */
    double *hessian;               /* [k, k] sum of x x^T, or NULL */
    float *rows;                   /* [cap, k] kept rows */
    int64_t n_rows, cap;
} npg_calib_slot;

/* Tensor roles a layer's data-aware processing names (index into npg_calib.names). */
enum {
    NPG_CN_Q,
    NPG_CN_K,
    NPG_CN_V,
    NPG_CN_O,
    NPG_CN_GATE,
    NPG_CN_UP,
    NPG_CN_DOWN,
    NPG_CN_ATTN_NORM,
    NPG_CN_FFN_NORM,
    NPG_CN_COUNT
};

typedef struct npg_calib {
    int64_t n_layers;
    npg_calib_slot *slots;            /* [n_layers * NPG_SLOT_COUNT] */
    char (*names)[NPG_CN_COUNT][256]; /* [n_layers]: "" when the family has no such tensor */
    size_t n_samples;
    uint64_t n_tokens;
    bool norm_plus_one; /* RMSNorm scales by (1 + w) (Gemma): AWQ folds into 1 + w */
    int64_t head_dim,
        n_rep; /* o_proj input channel c reads v_proj row (c / (head_dim n_rep)) head_dim + c % head_dim */
} npg_calib;

/* Runs the float model in src_dir over the dataset of o (o->dataset, o->num_samples); hessian: also
 * accumulate X^T X. Progress phase "calibration" (one step per sample). */
npg_status npg_calib_run(const char *src_dir, const npg_export_options *o, bool hessian, npg_calib **out);
void npg_calib_free(npg_calib *c);

/* The slot whose input the matrix `name` reads, or NULL (not a per-layer linear layer). */
npg_calib_slot *npg_calib_find(npg_calib *c, const char *name, int64_t *layer);

/* After AWQ folded x' = x / scale[c] into the slot's producer: the statistics of x'. */
void npg_calib_slot_divide(npg_calib_slot *s, const float *scale);

#endif
