/* fft.c — the power spectrum of a real frame of any length, for the STFT of the mel front end.
 *
 * Whisper's n_fft = 400 = 2^4 * 5^2 is not a power of two, so this is a mixed-radix Stockham FFT
 * (autosort: no bit reversal, any factor order): radix 2, 3, 4 and 5 butterflies written out, any
 * other prime factor through a direct DFT (O(R^2): fine for the small primes of real n_fft values). An even-length real input of n samples runs as one
 * complex FFT of n/2 points (even samples real, odd imaginary) plus the usual split step; an odd
 * length runs as a complex FFT of n points. Everything is double precision (the spectrum feeds a
 * log10, so rounding in quiet bins must stay far below whisper's float32 tolerance).
 *
 * Stage with radix R, after Ns = product of the radices done (Govindaraju et al., SC'08):
 *   for j < m/R: k = j % Ns; v[r] = x[j + r*m/R] * w_m^(r*k*m/(Ns*R)); V = DFT_R(v);
 *                y[(j/Ns)*Ns*R + k + s*Ns] = V[s]   (w_m = exp(-2 pi i / m)) */
#include <math.h>
#include <stdlib.h>

#include "audio/audio.h"
#include "core/error.h"

#define NPG_FFT_MAX_FACTORS 64

struct npg_rfft {
    size_t n;      /* real input length */
    size_t m;      /* complex FFT length: n/2 (even n) or n */
    bool half;     /* even n: the packed real FFT */
    size_t n_factors;
    size_t factors[NPG_FFT_MAX_FACTORS];
    size_t max_factor; /* the scratch of one butterfly: 2 * max_factor doubles */
    double *st_re[NPG_FFT_MAX_FACTORS], *st_im[NPG_FFT_MAX_FACTORS]; /* per-stage twiddles (see stage()) */
    double *tw_re, *tw_im;     /* [m]: exp(-2 pi i t / m) */
    double *post_re, *post_im; /* [n/2 + 1] (even n): exp(-2 pi i k / n) */
};

npg_status npg_rfft_create(size_t n, npg_rfft **out) {
    if (n < 2 || n > (1u << 24))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "FFT length %zu is outside 2..%u", n, 1u << 24);
    npg_rfft *f = calloc(1, sizeof *f);
    NPG_CHECK_ALLOC(f);
    f->n = n;
    f->half = n % 2 == 0;
    f->m = f->half ? n / 2 : n;
    size_t rest = f->m;
    while (rest % 4 == 0) {
        f->factors[f->n_factors++] = 4;
        rest /= 4;
    }
    while (rest % 2 == 0) {
        f->factors[f->n_factors++] = 2;
        rest /= 2;
    }
    for (size_t p = 3; rest > 1; p += 2) {
        if (p * p > rest)
            p = rest; /* what is left is prime */
        while (rest % p == 0) {
            f->factors[f->n_factors++] = p;
            rest /= p;
        }
    }
    f->max_factor = 1;
    for (size_t i = 0; i < f->n_factors; i++)
        f->max_factor = f->factors[i] > f->max_factor ? f->factors[i] : f->max_factor;
    f->tw_re = malloc(f->m * sizeof(double));
    f->tw_im = malloc(f->m * sizeof(double));
    size_t np = f->half ? n / 2 + 1 : 0;
    if (f->half) {
        f->post_re = malloc(np * sizeof(double));
        f->post_im = malloc(np * sizeof(double));
    }
    if (!f->tw_re || !f->tw_im || (f->half && (!f->post_re || !f->post_im))) {
        npg_rfft_free(f);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for an FFT of %zu points", n);
    }
    const double two_pi = 6.283185307179586476925286766559;
    for (size_t t = 0; t < f->m; t++) {
        double a = -two_pi * (double)t / (double)f->m;
        f->tw_re[t] = cos(a);
        f->tw_im[t] = sin(a);
    }
    /* per-stage twiddles in the order stage() reads them: [k * (R-1) + r - 1] = w_m^(r*k*m/(Ns*R)) */
    size_t Ns = 1;
    for (size_t i = 0; i < f->n_factors; i++) {
        size_t R = f->factors[i], cnt = Ns * (R - 1);
        f->st_re[i] = malloc((cnt ? cnt : 1) * sizeof(double));
        f->st_im[i] = malloc((cnt ? cnt : 1) * sizeof(double));
        if (!f->st_re[i] || !f->st_im[i]) {
            npg_rfft_free(f);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for an FFT of %zu points", n);
        }
        for (size_t k = 0; k < Ns; k++)
            for (size_t r = 1; r < R; r++) {
                size_t t = r * k * (f->m / (Ns * R));
                f->st_re[i][k * (R - 1) + r - 1] = f->tw_re[t];
                f->st_im[i][k * (R - 1) + r - 1] = f->tw_im[t];
            }
        Ns *= R;
    }
    for (size_t k = 0; k < np; k++) {
        double a = -two_pi * (double)k / (double)n;
        f->post_re[k] = cos(a);
        f->post_im[k] = sin(a);
    }
    *out = f;
    return NPG_OK;
}

void npg_rfft_free(npg_rfft *f) {
    if (!f)
        return;
    free(f->tw_re);
    free(f->tw_im);
    free(f->post_re);
    free(f->post_im);
    for (size_t i = 0; i < f->n_factors; i++) {
        free(f->st_re[i]);
        free(f->st_im[i]);
    }
    free(f);
}

size_t npg_rfft_work_len(const npg_rfft *f) { return 4 * f->m + 2 * f->max_factor; }

/* One Stockham stage of radix R over m points: (xr, xi) -> (yr, yi). j = g * Ns + k walks the groups
 * g and the positions k within a group without divisions; twr/twi hold this stage's twiddles,
 * w_m^(r*k*m/(Ns*R)) at [k * (R-1) + r - 1]. */
static void stage(const npg_rfft *f, size_t R, size_t Ns, const double *twr, const double *twi, const double *xr,
                  const double *xi, double *yr, double *yi, double *vr, double *vi) {
    const size_t m = f->m, stride = m / R, groups = stride / Ns, wR = m / R;
    for (size_t g = 0; g < groups; g++) {
        for (size_t k = 0; k < Ns; k++) {
            size_t j = g * Ns + k, o = g * Ns * R + k;
            vr[0] = xr[j];
            vi[0] = xi[j];
            const double *tr = twr + k * (R - 1), *ti = twi + k * (R - 1);
            for (size_t r = 1; r < R; r++) {
                double a = xr[j + r * stride], b = xi[j + r * stride];
                vr[r] = a * tr[r - 1] - b * ti[r - 1];
                vi[r] = a * ti[r - 1] + b * tr[r - 1];
            }
            if (R == 2) {
                yr[o] = vr[0] + vr[1];
                yi[o] = vi[0] + vi[1];
                yr[o + Ns] = vr[0] - vr[1];
                yi[o + Ns] = vi[0] - vi[1];
            } else if (R == 4) {
                double s02r = vr[0] + vr[2], s02i = vi[0] + vi[2], d02r = vr[0] - vr[2], d02i = vi[0] - vi[2];
                double s13r = vr[1] + vr[3], s13i = vi[1] + vi[3], d13r = vr[1] - vr[3], d13i = vi[1] - vi[3];
                yr[o] = s02r + s13r;
                yi[o] = s02i + s13i;
                yr[o + Ns] = d02r + d13i; /* d02 - i*d13 */
                yi[o + Ns] = d02i - d13r;
                yr[o + 2 * Ns] = s02r - s13r;
                yi[o + 2 * Ns] = s02i - s13i;
                yr[o + 3 * Ns] = d02r - d13i; /* d02 + i*d13 */
                yi[o + 3 * Ns] = d02i + d13r;
            } else if (R == 3) {
                const double s60 = 0.86602540378443864676372317075294; /* sin(2 pi / 3) */
                double t1r = vr[1] + vr[2], t1i = vi[1] + vi[2], t2r = vr[1] - vr[2], t2i = vi[1] - vi[2];
                double ar = vr[0] - 0.5 * t1r, ai = vi[0] - 0.5 * t1i, br = s60 * t2r, bi = s60 * t2i;
                yr[o] = vr[0] + t1r;
                yi[o] = vi[0] + t1i;
                yr[o + Ns] = ar + bi; /* a - i*b */
                yi[o + Ns] = ai - br;
                yr[o + 2 * Ns] = ar - bi; /* a + i*b */
                yi[o + 2 * Ns] = ai + br;
            } else if (R == 5) {
                const double c1 = 0.30901699437494742410229341718282, c2 = -0.80901699437494742410229341718282;
                const double s1 = 0.95105651629515357211643933337938, s2 = 0.58778525229247312916870595463907;
                double t1r = vr[1] + vr[4], t1i = vi[1] + vi[4], t2r = vr[2] + vr[3], t2i = vi[2] + vi[3];
                double t3r = vr[1] - vr[4], t3i = vi[1] - vi[4], t4r = vr[2] - vr[3], t4i = vi[2] - vi[3];
                double a1r = vr[0] + c1 * t1r + c2 * t2r, a1i = vi[0] + c1 * t1i + c2 * t2i;
                double a2r = vr[0] + c2 * t1r + c1 * t2r, a2i = vi[0] + c2 * t1i + c1 * t2i;
                double b1r = s1 * t3r + s2 * t4r, b1i = s1 * t3i + s2 * t4i;
                double b2r = s2 * t3r - s1 * t4r, b2i = s2 * t3i - s1 * t4i;
                yr[o] = vr[0] + t1r + t2r;
                yi[o] = vi[0] + t1i + t2i;
                yr[o + Ns] = a1r + b1i; /* a1 - i*b1 */
                yi[o + Ns] = a1i - b1r;
                yr[o + 4 * Ns] = a1r - b1i; /* a1 + i*b1 */
                yi[o + 4 * Ns] = a1i + b1r;
                yr[o + 2 * Ns] = a2r + b2i; /* a2 - i*b2 */
                yi[o + 2 * Ns] = a2i - b2r;
                yr[o + 3 * Ns] = a2r - b2i; /* a2 + i*b2 */
                yi[o + 3 * Ns] = a2i + b2r;
            } else {
                for (size_t s = 0; s < R; s++) {
                    double accr = 0.0, acci = 0.0;
                    for (size_t r = 0; r < R; r++) {
                        size_t t = ((r * s) % R) * wR;
                        accr += vr[r] * f->tw_re[t] - vi[r] * f->tw_im[t];
                        acci += vr[r] * f->tw_im[t] + vi[r] * f->tw_re[t];
                    }
                    yr[o + s * Ns] = accr;
                    yi[o + s * Ns] = acci;
                }
            }
        }
    }
}

void npg_rfft_power(const npg_rfft *f, const double *x, double *power, double *work) {
    const size_t m = f->m;
    double *ar = work, *ai = work + m, *br = work + 2 * m, *bi = work + 3 * m;
    double *vr = work + 4 * m, *vi = vr + f->max_factor;
    if (f->half) {
        for (size_t k = 0; k < m; k++) {
            ar[k] = x[2 * k];
            ai[k] = x[2 * k + 1];
        }
    } else {
        for (size_t k = 0; k < m; k++) {
            ar[k] = x[k];
            ai[k] = 0.0;
        }
    }
    size_t Ns = 1;
    for (size_t i = 0; i < f->n_factors; i++) {
        size_t R = f->factors[i];
        stage(f, R, Ns, f->st_re[i], f->st_im[i], ar, ai, br, bi, vr, vi);
        double *t = ar;
        ar = br;
        br = t;
        t = ai;
        ai = bi;
        bi = t;
        Ns *= R;
    }
    if (!f->half) {
        for (size_t k = 0; k <= f->n / 2; k++)
            power[k] = ar[k] * ar[k] + ai[k] * ai[k];
        return;
    }
    /* split step: X[k] = (Z[k] + conj Z[m-k]) / 2 - i w^k (Z[k] - conj Z[m-k]) / 2, w = exp(-2 pi i / n) */
    for (size_t k = 0; k <= m; k++) {
        size_t k1 = k % m, k2 = (m - k) % m;
        double zr = ar[k1], zi = ai[k1], cr = ar[k2], ci = -ai[k2];
        double er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
        double dr = 0.5 * (zr - cr), di = 0.5 * (zi - ci);
        double or_ = di, oi = -dr; /* -i * d */
        double wr = f->post_re[k], wi = f->post_im[k];
        double xr = er + wr * or_ - wi * oi, xi = ei + wr * oi + wi * or_;
        power[k] = xr * xr + xi * xi;
    }
}
