/* gptq.h — pre-quantized GPTQ checkpoints exported as-is into npugen's INT4 layouts.
 *
 * Checkpoint convention (AutoGPTQ / transformers / optimum, 4 bits): for a linear layer P with
 * W [N, K] (N outputs, K inputs) the folder stores
 *   P.qweight int32 [K/8, N]   q[k][n] = (qweight[k/8][n] >> 4*(k%8)) & 15
 *   P.qzeros  int32 [G, N/8]   z[g][n] = (qzeros[g][n/8] >> 4*(n%8)) & 15
 *   P.scales  f16   [G, N]
 *   P.g_idx   int32 [K]        group of input k (absent: k / group_size)
 * and W[n][k] = scales[g][n] * (q[k][n] - zero[g][n]) with g = g_idx[k]. The "gptq" checkpoint format
 * (AutoGPTQ v1, the Hub's usual one) stores zero - 1 in qzeros; "gptq_v2" (GPTQModel) stores the zero
 * itself. Symmetric 4-bit means zero == 8 everywhere.
 *
 * npugen's INT4 value is (code - 8) * scale (src/weights/weights.h), so code = q and scale = the f16 scale
 * widened to f32 reproduce W bit for bit — no re-quantization. With desc_act (act-order) g_idx is a
 * permutation of groups over k, while Q4_G groups are contiguous runs of k; the layer is then stored
 * as Q4_G with the largest group size g' that divides K and keeps g_idx constant on every run of g'
 * inputs (g' = gcd of K and every k where g_idx changes), scales expanded to [N, K/g']. That is still
 * exact; it costs 32/g' bits per weight of scales (g' is often 1 for act-order checkpoints: 36 bits
 * per weight, so export such models from their float weights when size matters). g' = K is Q4_CW.
 * Refused: bits != 4, asymmetric zeros, shapes that disagree, g_idx out of range. */
#ifndef NPG_COMPRESS_GPTQ_H
#define NPG_COMPRESS_GPTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "format/npgw_writer.h"
#include "format/safetensors.h"
#include "compress/export.h"

typedef struct npg_gptq_config {
    bool present;          /* the folder declares a GPTQ quantization */
    int64_t bits;
    int64_t group_size;    /* -1 = one group over K */
    bool desc_act;
    bool sym;
    bool v2;               /* checkpoint_format "gptq_v2": zeros stored as is */
    char source[32];       /* "config.json" or "quantize_config.json", for messages */
} npg_gptq_config;

/* Reads quantization_config of config.json, else quantize_config.json. present = false when neither
 * exists. A quant_method other than gptq is NPG_ERR_UNSUPPORTED; bits != 4 is NPG_ERR_UNSUPPORTED. */
npg_status npg_gptq_config_load(const char *dir, npg_gptq_config *out);

/* Fills the item (kind GPTQ, name "P.weight", wtype, shape, group_size) from P's tensors in the
 * store, checking shapes, dtypes, g_idx and that every zero is 8. `prefix` is "P." */
npg_status npg_gptq_plan_layer(const npg_gptq_config *c, const npg_tensor_store *ts, const char *prefix,
                               npg_export_item *it);
/* Streams the item's data rows then scales into the writer. */
npg_status npg_gptq_write_layer(const npg_export_item *it, npgw_writer *w);

#endif
