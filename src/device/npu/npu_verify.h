/* npu_verify.h — verifying a full blob's weights while the first forward pass runs.
 *
 * Importing a full blob used to hash every tensor before the plan was ready (a 1.1B int4 blob:
 * 646 MB), which kept process start → first token at ~0.33 s. Instead, a background thread hashes
 * the tensors in the order the forward pass reaches them — the embedding, then layer 0, 1, ..., then
 * the final norm and lm_head — and the forward pass waits, before each stage, until that stage's
 * tensors are verified (npu_verify_wait). A weight is therefore never used before it is verified,
 * hashing overlaps compute, and a corrupted tensor fails the forward pass (NPG_ERR_CHECKSUM naming
 * the tensor) before any logits exist, so no token is emitted. */
#ifndef NPG_DEVICE_NPU_VERIFY_H
#define NPG_DEVICE_NPU_VERIFY_H

#include <stdint.h>

#include "npugen.h"

struct npu_blob;
typedef struct npu_verify npu_verify;

/* Starts hashing blob `b`'s tensors (stages as above) on `threads` background threads (0 = one per core; at most 8). `b`
 * must outlive the verifier; `path` names the file in messages. */
npg_status npu_verify_start(const struct npu_blob *b, const char *path, int threads, npu_verify **out);
/* Blocks until every tensor of stages 0..stage is verified; stage 0 = the embedding (and other
 * tensors needed before layer 0), 1 + l = layer l, n_layers + 1 = the rest. NPG_ERR_CHECKSUM once
 * any tensor of those stages is corrupted (every later call too). Cheap once all are verified. */
npg_status npu_verify_wait(npu_verify *v, int64_t stage);
/* As a forward-state hook (npg_forward_state.weights_ready). */
npg_status npu_verify_hook(void *user, int64_t stage);
/* Waits for the threads to finish (stopping early) and frees. NULL is fine. */
void npu_verify_free(npu_verify *v);

#endif
