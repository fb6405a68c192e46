/* resample.c — Pillow's Image.resize for 8-bit RGB, bit for bit (libImaging/Resample.c, re-derived).
 *
 * The arithmetic that decides every output byte, in Pillow's order:
 *  1. Per output column (and, separately, row) xx: scale = in / out; filterscale = max(scale, 1);
 *     support = filter_support * filterscale (the filter widens when shrinking: antialiasing);
 *     center = (xx + 0.5) * scale; taps from xmin = (int)(center - support + 0.5) (clamped at 0) to
 *     (int)(center + support + 0.5) (clamped at in), weight of tap x = filter((x - center + 0.5) /
 *     filterscale), in double, then divided by their sum.
 *  2. Weights to fixed point with 22 fractional bits, rounded half away from zero.
 *  3. Horizontal pass first (only where the width changes), each sum started at 2^21 (rounding) and
 *     reduced to uint8 by an arithmetic >> 22 clamped to 0..255; then the vertical pass the same way
 *     (only where the height changes), reading the horizontally resampled uint8 rows.
 * The intermediate rounding to uint8 is why a float reimplementation is off by one here and there:
 * nothing here is float but the weights before step 2. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"

#define PRECISION_BITS 22 /* 32 - 8 bits of pixel - 2 bits of headroom for negative lobes */

typedef double (*filter_fn)(double x);

static double box_filter(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

static double bilinear_filter(double x) {
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double hamming_filter(double x) {
    x = fabs(x);
    if (x == 0.0)
        return 1.0;
    if (x >= 1.0)
        return 0.0;
    x *= M_PI;
    /* Pillow writes the window constants as float literals: 0.54f and 0.46f, promoted to double */
    return sin(x) / x * ((double)0.54f + (double)0.46f * cos(x));
}

/* Keys' cubic convolution with a = -0.5 */
static double bicubic_filter(double x) {
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc(double x) {
    if (x == 0.0)
        return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos_filter(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

/* One axis: for each output index, the first input index, the tap count and the fixed-point weights
 * (ksize per output, unused ones 0). */
typedef struct axis_coeffs {
    int ksize;
    int *first;
    int *count;
    int32_t *weights;
} axis_coeffs;

static void axis_free(axis_coeffs *a) {
    free(a->first);
    free(a->count);
    free(a->weights);
}

static npg_status axis_prepare(int in_size, int out_size, filter_fn filter, double filter_support, axis_coeffs *a) {
    memset(a, 0, sizeof *a);
    double scale = (double)in_size / out_size; /* the box is the whole image: in0 = 0, in1 = in_size */
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = filter_support * filterscale;
    a->ksize = (int)ceil(support) * 2 + 1;
    double *kk = malloc((size_t)a->ksize * sizeof *kk);
    a->first = malloc((size_t)out_size * sizeof *a->first);
    a->count = malloc((size_t)out_size * sizeof *a->count);
    a->weights = calloc((size_t)out_size * (size_t)a->ksize, sizeof *a->weights);
    if (!kk || !a->first || !a->count || !a->weights) {
        free(kk);
        axis_free(a);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "npg_image_resize: out of memory for %d x %d weights", out_size,
                        a->ksize);
    }
    double ss = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            double w = filter((x + xmin - center + 0.5) * ss);
            kk[x] = w;
            ww += w;
        }
        int32_t *k = a->weights + (size_t)xx * (size_t)a->ksize;
        for (int x = 0; x < xmax; x++) {
            double w = ww != 0.0 ? kk[x] / ww : kk[x];
            double f = w * (1 << PRECISION_BITS);
            k[x] = (int32_t)(w < 0 ? -0.5 + f : 0.5 + f);
        }
        a->first[xx] = xmin;
        a->count[xx] = xmax;
    }
    free(kk);
    return NPG_OK;
}

static uint8_t clip8(int32_t v) {
    v >>= PRECISION_BITS; /* arithmetic: floor for the negative sums of negative lobes */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* in: in_w x rows, out: out_w x rows */
static void pass_horizontal(const uint8_t *in, size_t in_w, uint8_t *out, size_t out_w, size_t rows,
                            const axis_coeffs *a) {
    for (size_t y = 0; y < rows; y++) {
        const uint8_t *src = in + y * in_w * 3;
        uint8_t *dst = out + y * out_w * 3;
        for (size_t xx = 0; xx < out_w; xx++) {
            const int32_t *k = a->weights + xx * (size_t)a->ksize;
            const uint8_t *p = src + (size_t)a->first[xx] * 3;
            int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < a->count[xx]; x++) {
                s0 += p[x * 3 + 0] * k[x];
                s1 += p[x * 3 + 1] * k[x];
                s2 += p[x * 3 + 2] * k[x];
            }
            dst[xx * 3 + 0] = clip8(s0);
            dst[xx * 3 + 1] = clip8(s1);
            dst[xx * 3 + 2] = clip8(s2);
        }
    }
}

/* in: width x in_rows, out: width x out_h; `a` indexes input rows */
static void pass_vertical(const uint8_t *in, size_t width, uint8_t *out, size_t out_h, const axis_coeffs *a) {
    size_t row = width * 3;
    for (size_t yy = 0; yy < out_h; yy++) {
        const int32_t *k = a->weights + yy * (size_t)a->ksize;
        const uint8_t *src = in + (size_t)a->first[yy] * row;
        uint8_t *dst = out + yy * row;
        for (size_t i = 0; i < row; i++) {
            int32_t s = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < a->count[yy]; y++)
                s += src[(size_t)y * row + i] * k[y];
            dst[i] = clip8(s);
        }
    }
}

npg_status npg_image_resize(const npg_image *img, size_t width, size_t height, npg_resample resample, npg_image **out) {
    if (!img || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_resize: %s is NULL", !img ? "img" : "out");
    filter_fn filter;
    double support;
    switch (resample) {
    case NPG_RESAMPLE_BOX: filter = box_filter, support = 0.5; break;
    case NPG_RESAMPLE_BILINEAR: filter = bilinear_filter, support = 1.0; break;
    case NPG_RESAMPLE_HAMMING: filter = hamming_filter, support = 1.0; break;
    case NPG_RESAMPLE_BICUBIC: filter = bicubic_filter, support = 2.0; break;
    case NPG_RESAMPLE_LANCZOS: filter = lanczos_filter, support = 3.0; break;
    default:
        return npg_fail(NPG_ERR_UNSUPPORTED,
                        "npg_image_resize: resample %d is not supported (1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, "
                        "5 HAMMING; NEAREST 0 is not provided)",
                        (int)resample);
    }
    /* int arithmetic below, as Pillow's: sizes are bounded by the pixel limit, far below INT_MAX */
    NPG_TRY(npg_image_check_size(width, height, "npg_image_resize: output"));
    npg_image *res = NULL;
    NPG_TRY(npg_image_alloc(width, height, "npg_image_resize", &res));
    bool need_h = width != img->width, need_v = height != img->height;
    axis_coeffs ax = {0}, ay = {0};
    uint8_t *tmp = NULL;
    npg_status st = NPG_OK;
    if (need_v && (st = axis_prepare((int)img->height, (int)height, filter, support, &ay)) != NPG_OK)
        goto fail;
    if (need_h) {
        if ((st = axis_prepare((int)img->width, (int)width, filter, support, &ax)) != NPG_OK)
            goto fail;
        /* Only the input rows the vertical pass reads (Pillow's ybox_first..ybox_last) are resampled;
         * the result is the same as resampling all of them, with less work. */
        size_t first = 0, last = img->height;
        if (need_v) {
            first = (size_t)ay.first[0];
            last = (size_t)ay.first[height - 1] + (size_t)ay.count[height - 1];
        }
        uint8_t *dst = need_v ? NULL : res->rgb;
        if (need_v) {
            tmp = malloc(width * (last - first) * 3);
            if (!tmp) {
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "npg_image_resize: out of memory");
                goto fail;
            }
            dst = tmp;
            for (size_t i = 0; i < height; i++)
                ay.first[i] -= (int)first;
        }
        pass_horizontal(img->rgb + first * img->width * 3, img->width, dst, width, last - first, &ax);
    }
    if (need_v)
        pass_vertical(need_h ? tmp : img->rgb, width, res->rgb, height, &ay);
    if (!need_h && !need_v)
        memcpy(res->rgb, img->rgb, width * height * 3);
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    *out = res;
    return NPG_OK;
fail:
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    npg_image_free(res);
    return st;
}
