/* export_write.c — streams the planned tensors into the container, a few rows at a time.
 *
 * Memory: one chunk of at most ~1 Mi f32 values (4 MiB) plus its quantized bytes, and a tensor's
 * scales ([n] or [n, k/g] f32, written after its data). Source pages are released after each tensor
 * (npg_export_release_pages), so peak RSS stays near the chunk size whatever the model size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/error.h"
#include "core/half.h"
#include "core/timer.h"
#include "format/npgw_writer.h"
#include "compress/export.h"
#include "compress/gptq.h"
#include "weights/weights.h"

void npg_export_read_rows(const npg_tensor_info *t, int64_t r0, int64_t nr, float *out) {
    int64_t k = t->n_dims >= 2 ? t->shape[t->n_dims - 1] : t->n_elements;
    int64_t count = nr * k, base = r0 * k;
    switch (t->dtype) {
    case NPG_DT_F32: memcpy(out, t->data + 4 * base, (size_t)count * 4); break;
    case NPG_DT_F16:
    case NPG_DT_BF16:
        for (int64_t i = 0; i < count; i++) {
            uint16_t h;
            memcpy(&h, t->data + 2 * (base + i), 2);
            out[i] = t->dtype == NPG_DT_F16 ? npg_f16_to_f32(h) : npg_bf16_to_f32(h);
        }
        break;
    default: memset(out, 0, (size_t)count * sizeof(float)); break;
    }
}

void npg_export_item_rows(const npg_export_item *it, int64_t r0, int64_t nr, float *out) {
    if (it->override)
        memcpy(out, it->override + r0 * it->shape[1], (size_t)(nr * it->shape[1]) * sizeof(float));
    else
        npg_export_read_rows(it->src, r0, nr, out);
}

/* Packs precomputed 4-bit codes (GPTQ / scale estimation) into stored rows; the padding gets the code
 * of 0 (8 for int4, 7 for NF4), as the quantizers in weights.c write it. */
static npg_status write_codes(const npg_export_item *it, npgw_writer *w) {
    int64_t n = it->shape[0], k = it->shape[1], kp = npg_quant_row_elems(it->wtype, k);
    size_t rb = npg_quant_row_bytes(it->wtype, k);
    uint8_t *row = malloc(rb);
    NPG_CHECK_ALLOC(row);
    npg_status st = NPG_OK;
    unsigned zero = it->wtype == NPG_W_NF4_CW ? 7u : 8u;
    for (int64_t r = 0; r < n && st == NPG_OK; r++) {
        memset(row, 0, rb);
        for (int64_t c = 0; c < kp; c++) {
            unsigned code = c < k ? it->codes[r * k + c] : zero;
            uint8_t *b = &row[(c / 128) * 64 + (c % 64)];
            *b = (uint8_t)((c % 128) < 64 ? ((*b & 0xf0u) | code) : ((*b & 0x0fu) | (code << 4)));
        }
        st = npgw_writer_write(w, row, rb);
    }
    free(row);
    if (st == NPG_OK)
        st = npgw_writer_write(w, it->qscales, (size_t)npg_quant_scale_count(it->wtype, n, k, it->group_size) *
                                                   sizeof(float));
    return st;
}

/* A 1-D tensor whose values data-aware export changed (an AWQ-scaled norm), in its own dtype. */
static npg_status write_override_vector(const npg_export_item *it, npgw_writer *w) {
    int64_t len = it->shape[0];
    void *buf = malloc(npg_quant_data_bytes(it->wtype, 1, len));
    NPG_CHECK_ALLOC(buf);
    npg_status st = npg_quantize_rows(it->wtype, it->override, 1, len, 0, buf, NULL);
    if (st == NPG_OK)
        st = npgw_writer_write(w, buf, npg_quant_data_bytes(it->wtype, 1, len));
    free(buf);
    return st;
}

void npg_export_release_pages(const void *p, size_t n) {
    if (!p || n == 0)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p / page * page;
    uintptr_t b = ((uintptr_t)p + n + page - 1) / page * page;
    /* private read-only file mapping: dropped pages are re-read from the file if touched again */
    (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

double npg_export_eta_ms(double elapsed_ms, uint64_t done, uint64_t total) {
    if (done == 0 || total == 0)
        return -1.0;
    return done >= total ? 0.0 : elapsed_ms * (double)(total - done) / (double)done;
}

/* Converts / quantizes a 2-D float source into the item's type, chunk by chunk. */
static npg_status write_convert(const npg_export_item *it, npgw_writer *w) {
    int64_t n = it->shape[0], k = it->shape[1];
    int64_t rows = ((int64_t)1 << 20) / k;
    rows = rows < 1 ? 1 : rows > n ? n : rows;
    int64_t n_scales = npg_quant_scale_count(it->wtype, n, k, it->group_size);
    float *src = malloc((size_t)(rows * k) * sizeof(float));
    void *dst = malloc(npg_quant_data_bytes(it->wtype, rows, k));
    float *scales = n_scales ? malloc((size_t)n_scales * sizeof(float)) : NULL;
    npg_status st = NPG_OK;
    if (!src || !dst || (n_scales && !scales))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory converting tensor '%s'", it->name);
    int64_t per_row = n_scales / n;
    for (int64_t r0 = 0; r0 < n && st == NPG_OK; r0 += rows) {
        int64_t nr = n - r0 < rows ? n - r0 : rows;
        npg_export_item_rows(it, r0, nr, src);
        npg_export_release_pages(it->src->data + (size_t)(r0 * k) * (it->src->n_bytes / (size_t)(n * k)),
                                 (size_t)(nr * k) * (it->src->n_bytes / (size_t)(n * k)));
        st = npg_quantize_rows(it->wtype, src, nr, k, it->group_size, dst, scales ? scales + r0 * per_row : NULL);
        if (st != NPG_OK) {
            st = npg_fail_context(st, "tensor '%s'", it->name);
            break;
        }
        if (it->wtype == NPG_W_F16) { /* a value beyond f16's range would silently become infinite */
            const uint16_t *h = dst;
            for (int64_t i = 0; i < nr * k; i++)
                if ((h[i] & 0x7c00u) == 0x7c00u && isfinite(src[i])) {
                    st = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                                  "tensor '%s': value %g (row %lld) is outside the f16 range; use --weight-format fp32",
                                  it->name, (double)src[i], (long long)(r0 + i / k));
                    break;
                }
            if (st != NPG_OK)
                break;
        }
        st = npgw_writer_write(w, dst, npg_quant_data_bytes(it->wtype, nr, k));
    }
    if (st == NPG_OK && n_scales)
        st = npgw_writer_write(w, scales, (size_t)n_scales * sizeof(float));
    free(src);
    free(dst);
    free(scales);
    return st;
}

/* A float tensor in its own dtype: the bytes as they are, in 4 MiB pieces. */
static npg_status write_copy(const npg_export_item *it, npgw_writer *w) {
    const size_t piece = (size_t)4 << 20;
    for (size_t off = 0; off < it->src->n_bytes; off += piece) {
        size_t c = it->src->n_bytes - off < piece ? it->src->n_bytes - off : piece;
        NPG_TRY(npgw_writer_write(w, it->src->data + off, c));
        npg_export_release_pages(it->src->data + off, c);
    }
    return NPG_OK;
}

npg_status npg_export_write_items(const npg_export_plan *plan, npgw_writer *w, const npg_export_options *o) {
    double t0 = npg_now_ms();
    uint64_t done = 0;
    for (size_t i = 0; i < plan->n; i++) {
        const npg_export_item *it = &plan->items[i];
        switch (it->kind) {
        case NPG_EXPORT_COPY: NPG_TRY(it->override ? write_override_vector(it, w) : write_copy(it, w)); break;
        case NPG_EXPORT_CONVERT: NPG_TRY(it->codes ? write_codes(it, w) : write_convert(it, w)); break;
        case NPG_EXPORT_GPTQ: NPG_TRY(npg_gptq_write_layer(it, w)); break;
        }
        if (it->kind == NPG_EXPORT_GPTQ) {
            const npg_tensor_info *parts[] = {it->qweight, it->qzeros, it->scales, it->g_idx};
            for (int p = 0; p < 4; p++)
                if (parts[p]) {
                    done += parts[p]->n_bytes;
                    npg_export_release_pages(parts[p]->data, parts[p]->n_bytes);
                }
        } else {
            done += it->src->n_bytes;
            npg_export_release_pages(it->src->data, it->src->n_bytes);
        }
        if (o->progress) {
            double el = npg_now_ms() - t0;
            npg_export_progress pr = {.phase = "write", .tensor = i + 1, .n_tensors = plan->n, .bytes_done = done,
                                      .bytes_total = plan->source_bytes, .elapsed_ms = el, .unit = "tensors",
                                      .eta_ms = npg_export_eta_ms(el, done, plan->source_bytes)};
            o->progress(o->progress_user, &pr);
        }
    }
    return NPG_OK;
}
