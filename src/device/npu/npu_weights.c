/* npu_weights.c — slot enumeration, fingerprints and BEST_PERF repacking of the plan's weights. */
#include "device/npu/npu_weights.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/half.h"
#include "core/hash.h"
#include "weights/weights.h"

/* F16/BF16 weights whose whole F32 copy stays under this size are converted by BEST_PERF: a model
 * that small stays in the last-level cache from one token to the next, and decode is then bound by
 * the conversion in the kernels' inner loop, not by memory (npg-kernels, m = 1, 2 threads: a
 * 2048×2048 matrix takes 0.9 ms in F32 against 2.9 ms in BF16, but 5632×2048 takes 11.3 ms in F32
 * against 6.6 ms in BF16 once it no longer fits; docs/npu.md). Larger models keep their 2-byte
 * layout, which halves the bytes read per token. 16 MiB is half of one 32 MiB L3 slice; the L3 size
 * a VM reports (socket-wide) is not what one core sees, so it is not asked. */
#define NPU_F32_REPACK_MAX_BYTES ((size_t)16 << 20)
/* q/k/v and gate/up are stacked while the stacked copies stay under this size. Beyond it each matmul
 * is long enough that the saved pool barriers do not matter, and the copy costs memory and compile
 * time (on the measurement VM fresh memory faults in at ~30 MB/s: 12 s for TinyLlama-1.1B int4). */
#define NPU_STACK_MAX_BYTES ((size_t)64 << 20)

/* Appends the slot (role, layer) when it exists in m (and holds data, when present_only). */
static void add_slot(npg_model *m, npu_slot *out, size_t cap, size_t *n, bool present_only, npg_tensor_role r,
                     int64_t layer) {
    npu_slot s;
    if (!npu_model_slot(m, r, layer, &s) || (present_only && (s.w ? !s.w->data : !*s.v)))
        return;
    if (out && *n < cap)
        out[*n] = s;
    (*n)++;
}

size_t npu_model_slots(npg_model *m, bool present_only, npu_slot *out, size_t cap) {
    const npg_model_config *c = &m->cfg;
    size_t n = 0;
    add_slot(m, out, cap, &n, present_only, NPG_TENSOR_EMBED, -1);
    if (!present_only || m->lm_head.data != m->embed.data || m->lm_head.type != m->embed.type)
        add_slot(m, out, cap, &n, present_only, NPG_TENSOR_LM_HEAD, -1);
    for (int64_t l = 0; m->layers && l < c->n_layers; l++)
        for (int r = NPG_TENSOR_WQ; r <= NPG_TENSOR_W_DOWN; r++)
            add_slot(m, out, cap, &n, present_only, (npg_tensor_role)r, l);
    add_slot(m, out, cap, &n, present_only, NPG_TENSOR_FINAL_NORM, -1);
    for (int64_t l = 0; m->layers && l < c->n_layers; l++)
        for (int r = NPG_TENSOR_BQ; r < NPG_TENSOR_ROLE_COUNT; r++)
            add_slot(m, out, cap, &n, present_only, (npg_tensor_role)r, l);
    return n;
}

bool npu_model_slot(npg_model *m, npg_tensor_role role, int64_t layer, npu_slot *out) {
    if ((int)role < 0 || role >= NPG_TENSOR_ROLE_COUNT || (npg_tensor_role_per_layer(role) ? layer < 0 : layer != -1))
        return false;
    if (npg_tensor_role_is_matrix(role)) {
        npg_weight *w = npg_model_matrix(m, role, layer);
        if (!w)
            return false;
        *out = (npu_slot){.role = role, .layer = layer, .w = w};
        return true;
    }
    float **v = npg_model_vector(m, role, layer);
    if (!v)
        return false;
    int64_t rows, cols;
    npg_tensor_shape(&m->cfg, role, &rows, &cols);
    *out = (npu_slot){.role = role, .layer = layer, .v = v, .len = rows};
    return true;
}

size_t npu_weight_data_bytes(const npg_weight *w) { return npg_quant_data_bytes(w->type, w->n, w->k); }

size_t npu_weight_scale_count(const npg_weight *w) {
    return (size_t)npg_quant_scale_count(w->type, w->n, w->k, w->group_size);
}

npg_status npu_weights_fingerprint(const npg_model *m, uint64_t *hash, uint64_t *bytes) {
    npg_model *mm = (npg_model *)m; /* the enumeration hands out writable slots; nothing is written */
    size_t n = npu_model_slots(mm, true, NULL, 0);
    npu_slot *slots = malloc(n * sizeof *slots);
    NPG_CHECK_ALLOC(slots);
    npu_model_slots(mm, true, slots, n);
    npg_hash h;
    npg_hash_init(&h, 0x4e5055u);
    uint64_t total = 0;
    npg_status st = NPG_OK;
    for (size_t i = 0; i < n && st == NPG_OK; i++) {
        const npu_slot *s = &slots[i];
        char name[256];
        st = npg_tensor_name(&m->cfg, s->role, s->layer, name, sizeof name);
        if (st != NPG_OK)
            break;
        npg_hash_update(&h, name, strlen(name) + 1); /* the tensor's name from the architecture's table */
        int64_t head[6] = {s->role, s->layer, 0, 0, 0, 0};
        if (s->w) {
            head[2] = s->w->type;
            head[3] = s->w->n;
            head[4] = s->w->k;
            head[5] = s->w->group_size;
            npg_hash_update(&h, head, sizeof head);
            size_t db = npu_weight_data_bytes(s->w), sc = npu_weight_scale_count(s->w);
            npg_hash_update(&h, s->w->data, db);
            if (sc)
                npg_hash_update(&h, s->w->scales, sc * sizeof(float));
            total += db + sc * sizeof(float);
        } else {
            head[3] = s->len;
            npg_hash_update(&h, head, sizeof head);
            npg_hash_update(&h, *s->v, (size_t)s->len * sizeof(float));
            total += (size_t)s->len * sizeof(float);
        }
    }
    free(slots);
    NPG_TRY(st);
    *hash = npg_hash_final(&h);
    *bytes = total;
    return NPG_OK;
}

npg_status npu_owned_add(npu_owned *o, void *p) {
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 32;
        void **q = realloc(o->ptr, cap * sizeof *q);
        if (!q) {
            free(p);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory recording repacked weights");
        }
        o->ptr = q;
        o->cap = cap;
    }
    o->ptr[o->n++] = p;
    return NPG_OK;
}

void npu_owned_free(npu_owned *o) {
    for (size_t i = 0; i < o->n; i++)
        free(o->ptr[i]);
    free(o->ptr);
    memset(o, 0, sizeof *o);
}

static bool is_half(npg_wtype t) { return t == NPG_W_F16 || t == NPG_W_BF16; }

void npu_layout_choose(const npg_model *src, bool best_perf, npu_layout *out) {
    memset(out, 0, sizeof *out);
    if (!best_perf)
        return;
    const npg_model_config *c = &src->cfg;
    out->fuse_qkv = !c->fused_qkv;
    out->fuse_gate_up = !c->fused_gate_up;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const npg_layer_weights *L = &src->layers[l];
        if (out->fuse_qkv && (L->wq.type != L->wk.type || L->wq.type != L->wv.type ||
                              L->wq.group_size != L->wk.group_size || L->wq.group_size != L->wv.group_size))
            out->fuse_qkv = false;
        if (out->fuse_gate_up && (L->w_gate.type != L->w_up.type || L->w_gate.group_size != L->w_up.group_size))
            out->fuse_gate_up = false;
    }
    /* stacking copies q/k/v and gate/up: worth it while the copy is small (the barrier saved per
     * matmul matters for small matrices; for large ones the copy only costs memory and time) */
    size_t stacked = 0;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const npg_layer_weights *L = &src->layers[l];
        const npg_weight *qkv[] = {&L->wq, &L->wk, &L->wv}, *gu[] = {&L->w_gate, &L->w_up};
        for (int i = 0; out->fuse_qkv && i < 3; i++)
            stacked += npu_weight_data_bytes(qkv[i]) + npu_weight_scale_count(qkv[i]) * sizeof(float);
        for (int i = 0; out->fuse_gate_up && i < 2; i++)
            stacked += npu_weight_data_bytes(gu[i]) + npu_weight_scale_count(gu[i]) * sizeof(float);
    }
    if (stacked > NPU_STACK_MAX_BYTES)
        out->fuse_qkv = out->fuse_gate_up = false;
    /* F32 conversion: every matmul weight a half type and the F32 copy small */
    size_t f32_bytes = 0;
    bool all_half = is_half(src->lm_head.type);
    f32_bytes += (size_t)(src->lm_head.n * src->lm_head.k) * 4;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const npg_layer_weights *L = &src->layers[l];
        const npg_weight *mats[] = {&L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo, &L->w_gate, &L->w_up, &L->w_gate_up, &L->w_down};
        for (int i = 0; i < 9; i++)
            if (mats[i]->data) {
                all_half = all_half && is_half(mats[i]->type);
                f32_bytes += (size_t)(mats[i]->n * mats[i]->k) * 4;
            }
    }
    out->to_f32 = all_half && f32_bytes <= NPU_F32_REPACK_MAX_BYTES;
}

static void *alloc_aligned(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
        return NULL;
    return p;
}

/* dst = the rows of parts[0..count) stacked, converted to F32 when to_f32 and the type is a half
 * type; borrowed (no copy) for a single unconverted part. */
static npg_status stack(const npg_weight *const *parts, int count, bool to_f32, npg_weight *dst, npu_owned *owned) {
    const npg_weight *p0 = parts[0];
    bool convert = to_f32 && is_half(p0->type);
    if (count == 1 && !convert) {
        *dst = *p0;
        return NPG_OK;
    }
    int64_t n = 0;
    for (int i = 0; i < count; i++) {
        if (parts[i]->type != p0->type || parts[i]->k != p0->k || parts[i]->group_size != p0->group_size)
            return npg_fail(NPG_ERR_INTERNAL, "repack: stacked matrices differ in type or width");
        n += parts[i]->n;
    }
    npg_weight w = {.type = convert ? NPG_W_F32 : p0->type, .n = n, .k = p0->k, .group_size = p0->group_size};
    size_t db = npg_quant_data_bytes(w.type, n, w.k), sc = (size_t)npg_quant_scale_count(w.type, n, w.k, w.group_size);
    uint8_t *data = alloc_aligned(db);
    if (!data)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory repacking a [%lld, %lld] matrix", (long long)n,
                        (long long)w.k);
    NPG_TRY(npu_owned_add(owned, data));
    float *scales = NULL;
    if (sc) {
        scales = alloc_aligned(sc * sizeof(float));
        if (!scales)
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory repacking scales");
        NPG_TRY(npu_owned_add(owned, scales));
    }
    size_t at = 0, at_sc = 0;
    int64_t row = 0;
    for (int i = 0; i < count; i++) {
        const npg_weight *p = parts[i];
        if (convert) { /* exact: every half value is an f32 */
            /* the halves may sit at an odd address (a safetensors header of odd length): memcpy
             * each, a uint16_t load there is undefined behaviour */
            const uint8_t *h = p->data;
            float *o = (float *)data + row * w.k;
            size_t cnt = (size_t)(p->n * p->k);
            for (size_t j = 0; j < cnt; j++) {
                uint16_t x;
                memcpy(&x, h + 2 * j, sizeof x);
                o[j] = p->type == NPG_W_BF16 ? npg_bf16_to_f32(x) : npg_f16_to_f32(x);
            }
        } else {
            size_t b = npu_weight_data_bytes(p), s = npu_weight_scale_count(p);
            memcpy(data + at, p->data, b);
            if (s)
                memcpy(scales + at_sc, p->scales, s * sizeof(float));
            at += b;
            at_sc += s;
        }
        row += p->n;
    }
    w.data = data;
    w.scales = scales;
    *dst = w;
    return NPG_OK;
}

npg_status npu_weights_repack(const npg_model *src, const npu_layout *layout, npg_model *dst, npu_owned *owned) {
    const npg_model_config *c = &src->cfg;
    bool f = layout->to_f32;
    dst->embed = src->embed; /* row lookups: one row per token, no gain from converting */
    dst->final_norm = src->final_norm;
    const npg_weight *head[] = {&src->lm_head};
    NPG_TRY(stack(head, 1, f, &dst->lm_head, owned));
    dst->cfg.fused_qkv = c->fused_qkv || layout->fuse_qkv;
    dst->cfg.fused_gate_up = c->fused_gate_up || layout->fuse_gate_up;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const npg_layer_weights *S = &src->layers[l];
        npg_layer_weights *D = &dst->layers[l];
        /* vectors are borrowed as they are */
        D->bq = S->bq, D->bk = S->bk, D->bv = S->bv, D->bo = S->bo;
        D->attn_norm = S->attn_norm, D->post_attn_norm = S->post_attn_norm;
        D->ffn_norm = S->ffn_norm, D->post_ffn_norm = S->post_ffn_norm;
        D->q_norm = S->q_norm, D->k_norm = S->k_norm;
        if (c->fused_qkv) {
            const npg_weight *p[] = {&S->wqkv};
            NPG_TRY(stack(p, 1, f, &D->wqkv, owned));
        } else if (layout->fuse_qkv) {
            const npg_weight *p[] = {&S->wq, &S->wk, &S->wv};
            NPG_TRY(stack(p, 3, f, &D->wqkv, owned));
        } else {
            const npg_weight *q[] = {&S->wq}, *k[] = {&S->wk}, *v[] = {&S->wv};
            NPG_TRY(stack(q, 1, f, &D->wq, owned));
            NPG_TRY(stack(k, 1, f, &D->wk, owned));
            NPG_TRY(stack(v, 1, f, &D->wv, owned));
        }
        if (c->fused_gate_up) {
            const npg_weight *p[] = {&S->w_gate_up};
            NPG_TRY(stack(p, 1, f, &D->w_gate_up, owned));
        } else if (layout->fuse_gate_up) {
            const npg_weight *p[] = {&S->w_gate, &S->w_up};
            NPG_TRY(stack(p, 2, f, &D->w_gate_up, owned));
        } else {
            const npg_weight *g[] = {&S->w_gate}, *u[] = {&S->w_up};
            NPG_TRY(stack(g, 1, f, &D->w_gate, owned));
            NPG_TRY(stack(u, 1, f, &D->w_up, owned));
        }
        const npg_weight *o[] = {&S->wo}, *d[] = {&S->w_down};
        NPG_TRY(stack(o, 1, f, &D->wo, owned));
        NPG_TRY(stack(d, 1, f, &D->w_down, owned));
    }
    dst->weight_bytes = src->weight_bytes;
    return NPG_OK;
}
