/* fft.c — the power spectrum of a real frame of any length, for the STFT of the mel front end.
 *
 * Whisper's n_fft = 400 = 2^4 * 5^2 is not a power of two, so this is a mixed-radix Stockham FFT
 * (autosort: no bit reversal, any factor order): radix 4 and 2 butterflies written out, 3, 5 and any
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
    free(f);
}

size_t npg_rfft_work_len(const npg_rfft *f) { return 4 * f->m + 2 * f->max_factor; }

/* One Stockham stage of radix R over m points: (xr, xi) -> (yr, yi). */
static void stage(const npg_rfft *f, size_t R, size_t Ns, const double *xr, const double *xi, double *yr, double *yi,
                  double *vr, double *vi) {
    const size_t m = f->m, stride = m / R, tstep0 = m / (Ns * R), wR = m / R;
    for (size_t j = 0; j < stride; j++) {
        size_t k = j % Ns, tstep = k * tstep0;
        for (size_t r = 0; r < R; r++) {
            double a = xr[j + r * stride], b = xi[j + r * stride];
            size_t t = r * tstep; /* < m: r*k*m/(Ns*R) with k < Ns, r < R */
            vr[r] = a * f->tw_re[t] - b * f->tw_im[t];
            vi[r] = a * f->tw_im[t] + b * f->tw_re[t];
        }
        size_t o = (j / Ns) * Ns * R + k;
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
        stage(f, R, Ns, ar, ai, br, bi, vr, vi);
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
