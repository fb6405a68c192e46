#include "kernels/matvec_part.h"

#include "kernels/gguf_quants.h"
#include "weights/weights.h"

enum { PART_ALIGN = 16, SCRATCH_ALIGN = 64 };

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

void npg_matvec_kernels_init(npg_matvec_kernels *mk, npg_isa isa) {
    npg_isa best = npg_isa_detect();
    mk->isa = isa > best ? best : isa;
    switch (mk->isa) { /* as matmul.c's kernel_set_for */
    case NPG_ISA_AVX512: npg_kernels_avx512(&mk->ks); break;
    case NPG_ISA_AVX2: npg_kernels_avx2(&mk->ks); break;
    case NPG_ISA_SCALAR: npg_kernels_scalar(&mk->ks); break;
    }
}

bool npg_matvec_part_ok(const npg_weight *w) {
    if (!w || w->n <= 0 || w->k <= 0)
        return false;
    return !(w->type == NPG_W_Q4_G && !npg_q4g_fast(w->group_size));
}

/* GGUF Q8 activations: k codes then k / 32 scales, rounded to a cache line (gguf_quants.c's layout) */
static size_t ggml_act_bytes(int64_t k) {
    return ((size_t)k + (size_t)(k / 32) * sizeof(float) + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
}

static size_t qact_bytes(int64_t k) {
    size_t b = npg_qact_row_bytes(round_up(k, NPG_QBLOCK));
    return (b + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
}

/* the VNNI layout of one activation row, one per order a call may need */
static size_t vnni_bytes(int64_t k) {
    return (npg_ggml_vnni_row_bytes(k) + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
}

size_t npg_matvec_scratch_bytes(int64_t max_k) {
    return qact_bytes(max_k) + ggml_act_bytes(max_k) + 3 * vnni_bytes(max_k);
}

/* The int8-activation GGUF kernel npg_matmul would take for m = 1 (NULL: the f32 dot kernel), and
 * whether it reads the VNNI layout: gguf_quants.c's own choice, so the outputs are npg_matmul's. */
static npg_ggml_qdot_fn ggml_qdot(const npg_matvec_kernels *mk, const npg_weight *w, bool *vnni) {
    return npg_ggml_qdot_pick(mk->isa, w->type, w->k, vnni);
}

void npg_matvec_prepare(const npg_matvec_kernels *mk, const float *x, int64_t k, const npg_weight *const *w, int count,
                        uint8_t *scratch, npg_matvec_in *in) {
    *in = (npg_matvec_in){.x = x, .k = k};
    bool qa = false, gq = false, order_used[3] = {false, false, false};
    for (int i = 0; i < count; i++) {
        bool vnni = false;
        if (npg_wtype_is_ggml(w[i]->type) && ggml_qdot(mk, w[i], &vnni) != NULL) {
            gq = true;
            if (vnni)
                order_used[npg_ggml_vnni_order_for(w[i]->type, k)] = true;
        } else if (!npg_wtype_is_ggml(w[i]->type))
            qa = qa || w[i]->type > NPG_W_BF16;
    }
    if (qa) {
        int64_t kp = round_up(k, NPG_QBLOCK);
        in->qa = (npg_qact){.base = scratch, .stride = npg_qact_row_bytes(kp), .kp = kp};
        mk->ks.quantize_act(x, k, &in->qa, 0);
        npg_qact_finish_row(&in->qa, 0);
    }
    if (gq) {
        int8_t *codes = (int8_t *)(scratch + qact_bytes(k));
        npg_ggml_quantize_act(x, k, codes, (float *)(codes + k));
        in->gq = codes;
        uint8_t *v = scratch + qact_bytes(k) + ggml_act_bytes(k);
        for (int o = 0; o < 3; o++, v += vnni_bytes(k))
            if (order_used[o]) {
                npg_ggml_vnni_layout(codes, (const float *)(codes + k), k, (npg_ggml_vnni_order)o, v);
                in->gv[o] = v;
            }
    }
}

void npg_matvec_rows(int64_t n, int part, int parts, int64_t *lo, int64_t *hi) {
    int64_t a = round_up(n * part / parts, PART_ALIGN), b = round_up(n * (part + 1) / parts, PART_ALIGN);
    *lo = a < n ? a : n;
    *hi = part + 1 == parts || b > n ? n : b;
}

void npg_matvec_part(const npg_matvec_kernels *mk, const npg_matvec_in *in, const npg_weight *w, float *y, int part,
                     int parts) {
    int64_t lo, hi;
    npg_matvec_rows(w->n, part, parts, &lo, &hi);
    if (lo >= hi)
        return;
    if (npg_wtype_is_ggml(w->type)) { /* gguf_quants.c's rows_task / qrows_task, one row */
        const uint8_t *base = w->data;
        size_t rb = npg_ggml_row_bytes(w->type, w->k);
        bool vnni = false;
        npg_ggml_qdot_fn qdot = in->gq ? ggml_qdot(mk, w, &vnni) : NULL;
        if (qdot && vnni) { /* the VNNI kernels read their layout only (xd unused) */
            const int8_t *xv = (const int8_t *)in->gv[npg_ggml_vnni_order_for(w->type, w->k)];
            for (int64_t r = lo; r < hi; r++)
                y[r] = qdot(base + (size_t)r * rb, xv, NULL, w->k);
        } else if (qdot) {
            const float *xd = (const float *)(in->gq + w->k);
            for (int64_t r = lo; r < hi; r++)
                y[r] = qdot(base + (size_t)r * rb, in->gq, xd, w->k);
        } else {
            npg_ggml_dot_fn dot = npg_ggml_dot_for(mk->isa, w->type);
            for (int64_t r = lo; r < hi; r++)
                y[r] = dot(base + (size_t)r * rb, in->x, w->k);
        }
        return;
    }
    /* matmul.c's tiles_task for m = 1: the whole input in one call per tile of nr rows */
    npg_tile_kernel kern = mk->ks.row[w->type];
    bool integer = w->type > NPG_W_BF16;
    npg_mm_args a = {.w = w, .x = in->x, .y = y, .ldy = w->n};
    if (integer)
        a.qa = in->qa;
    int64_t klen = integer ? in->qa.kp : w->k;
    for (int64_t j = lo; j < hi; j += kern.nr)
        kern.fn(&a, 0, 1, j, (int)(hi - j < kern.nr ? hi - j : kern.nr), 0, klen, 0);
}

void npg_matvec_prefetch(const npg_weight *w, int part, int parts, size_t bytes) {
    int64_t lo, hi;
    npg_matvec_rows(w->n, part, parts, &lo, &hi);
    if (lo >= hi)
        return;
    size_t rb = npg_quant_row_bytes(w->type, w->k);
    size_t have = (size_t)(hi - lo) * rb;
    const char *p = (const char *)w->data + (size_t)lo * rb;
    for (size_t o = 0; o < bytes && o < have; o += 64)
        __builtin_prefetch(p + o, 0, 2);
}
