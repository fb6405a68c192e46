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
 * |x|) and, for the methods, H = X^T X and C = X^T X_f ([k, k] doubles each). NNCF reduces each sample
 * to its mean over tokens; npugen keeps the token products, which the searches use directly.
 *
 * Two ways to gather them:
 *  - npg_calib_run: one pass of the float model, every layer's cheap statistics at once (what --ratio's
 *    activation metrics rank by, before any matrix is decided);
 *  - npg_calib_stream: layer by layer, as GPTQ's reference implementation does. The samples' hidden
 *    states go through layer l with its float weights while its statistics are gathered (X: the inputs
 *    the compressed model's layer will see, i.e. those of the already compressed layers 0..l-1;
 *    X_f: the float model's own inputs, kept in a second stream), then the caller compresses layer l,
 *    its stored values replace the float ones and the samples go through it to become layer l+1's
 *    inputs. Only one layer's H and C exist at a time (the bound: a 1.1B model calibrates in
 *    well under 4 GB), plus the hidden states of every sample (2 x tokens x hidden floats).
 *    X^T X_f lets the methods aim at the float model's output (w^T X_f) from the inputs the compressed
 *    model really has (X): for codes q the output error is |X_f w - X q|^2 = w^T F w - 2 q^T C^T w +
 *    q^T H q, so they use C^T w where plain calibration has H w. */
#ifndef NPG_COMPRESS_CALIB_H
#define NPG_COMPRESS_CALIB_H

#include <stdbool.h>
#include <stdint.h>

#include "models/tensor_names.h"
#include "npugen.h"

enum { NPG_SLOT_ATTN = 0, NPG_SLOT_O, NPG_SLOT_FFN, NPG_SLOT_DOWN, NPG_SLOT_COUNT };

typedef struct npg_calib_slot {
    int64_t k;
    uint64_t count;                /* rows seen */
    double *sum, *sumsq, *sum_abs; /* [k] */
    float *max_abs;                /* [k] */
    double *hessian;               /* [k, k] X^T X, or NULL (npg_calib_run) */
    double *cross;                 /* [k, k] X^T X_f (float-model inputs), or NULL */
    /* npg_calib_stream: a subset of the token rows, evenly spaced over the calibration tokens (at most
     * NPG_CALIB_SUBSET; NNCF's scale estimation works on such a subset, X-form, instead of H): X's rows
     * [sub_n, k] and the float model's matching rows (NULL without C: X_f = X) */
    int64_t sub_n, sub_stride;
    float *sub_x, *sub_xf;
} npg_calib_slot;

/* Token rows kept per slot for the X-form searches (scale estimation and AWQ on inputs wider than
 * this: there |X_s v|^2 over the subset costs rows x k x NPG_CALIB_SUBSET, against rows x k^2 for
 * v^T H v). */
#define NPG_CALIB_SUBSET 512

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
    const struct npg_compute *compute; /* npg_calib_stream: its matmul context (threadpool) for the methods */
    double t0_ms;                      /* npg_calib_stream: when the pass started (progress) */
} npg_calib;

/* Progress of the layer-by-layer pass (npg_calib_stream and the caller's compress step): phase, its
 * own steps, the layer (0-based) and how far through that layer the pass is ([0, 1]); the time left is
 * estimated from the share of layers done. */
void npg_calib_progress(const npg_calib *c, const npg_export_options *o, const char *phase, const char *unit,
                        size_t done, size_t total, int64_t layer, double layer_frac);

/* Runs the float model in src_dir over the dataset of o (o->dataset, o->num_samples) and keeps every
 * slot's per-channel statistics (no H, no C). Progress phase "calibration" (one step per sample). */
npg_status npg_calib_run(const char *src_dir, const npg_export_options *o, npg_calib **out);
void npg_calib_free(npg_calib *c);

/* What the layer-by-layer calibration asks of its caller (the export's data-aware step). */
typedef struct npg_calib_layer_ops {
    /* compresses layer `layer` from c's slots of that layer (H and C set) */
    npg_status (*compress)(void *user, npg_calib *c, int64_t layer);
    /* the values the export will store for tensor `name`, as f32 ([count]) */
    npg_status (*stored)(void *user, const char *name, float *out, int64_t count);
    void *user;
} npg_calib_layer_ops;

/* Layer-by-layer calibration and compression (see above). Progress phase "calibration": one step per
 * sample and layer. */
npg_status npg_calib_stream(const char *src_dir, const npg_export_options *o, const npg_calib_layer_ops *ops);

/* The slot whose input the matrix `name` reads, or NULL (not a per-layer linear layer). */
npg_calib_slot *npg_calib_find(npg_calib *c, const char *name, int64_t *layer);

/* After AWQ folded x' = x / scale[c] into the slot's producer: the statistics of x' (the float-model
 * inputs go through the same scaled layer: C is divided on both sides too). */
void npg_calib_slot_divide(npg_calib_slot *s, const float *scale);

#endif
