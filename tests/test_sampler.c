/* test_sampler.c — greedy, seeded sampling, top_k / top_p / min_p, penalties (hand-computed),
 * min_new_tokens masking, and a chi-square check of the multinomial draw (fixed seeds, so every
 * run is deterministic). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/sampler.h"
#include "testutil.h"

/* Test-local deterministic numbers (not the sampler's generator). */
static uint32_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

static void random_logits(float *l, size_t n, uint64_t seed, float scale) {
    for (size_t i = 0; i < n; i++)
        l[i] = ((float)lcg(&seed) / 2147483648.0f - 0.5f) * scale;
}

static npg_generation_config *make_cfg(bool sample, float temperature, size_t top_k, float top_p, float min_p,
                                       uint64_t seed) {
    npg_generation_config *c = NULL;
    if (npg_generation_config_create(&c) != NPG_OK)
        return NULL;
    c->do_sample = sample;
    c->temperature = temperature;
    c->top_k = top_k;
    c->top_p = top_p;
    c->min_p = min_p;
    c->rng_seed = seed;
    return c;
}

static npg_sampler *make_sampler(const npg_generation_config *c, size_t vocab) {
    npg_sampler *s = NULL;
    if (npg_sampler_create(c, vocab, 1 << 20, &s) != NPG_OK) {
        fprintf(stderr, "  sampler_create: %s\n", npg_last_error());
        return NULL;
    }
    if (npg_sampler_begin(s, NULL, 0) != NPG_OK) {
        npg_sampler_free(s);
        return NULL;
    }
    return s;
}

/* One draw from a copy of `logits` (next() modifies its input). */
static int32_t draw(npg_sampler *s, const float *logits, float *scratch, size_t vocab) {
    memcpy(scratch, logits, vocab * sizeof *scratch);
    return npg_sampler_next(s, scratch, 0);
}

static size_t argmax_ref(const float *l, size_t n) {
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (l[i] > l[b])
            b = i;
    return b;
}

static void test_greedy(void) {
    npg_generation_config *c = make_cfg(false, 1.0f, 0, 1.0f, 0.0f, 0);
    REQUIRE(c);
    npg_sampler *s = make_sampler(c, 5);
    REQUIRE(s);
    float a[5] = {0.1f, 3.0f, -1.0f, 3.0f, 2.0f};
    CHECK(npg_sampler_next(s, a, 0) == 1); /* tie → lowest id */
    float b[5] = {NAN, -1.0f, 5.0f, NAN, 4.0f};
    CHECK(npg_sampler_next(s, b, 0) == 2);
    float d[5] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    CHECK(npg_sampler_next(s, d, 0) == 0);
    npg_sampler_free(s);
    npg_generation_config_free(c);

    /* greedy ignores the sampling knobs */
    c = make_cfg(false, 5.0f, 3, 0.5f, 0.5f, 9);
    REQUIRE(c);
    s = make_sampler(c, 1000);
    REQUIRE(s);
    float l[1000];
    random_logits(l, 1000, 77, 10.0f);
    size_t want = argmax_ref(l, 1000);
    for (int i = 0; i < 5; i++)
        CHECK(npg_sampler_next(s, l, 0) == (int32_t)want);
    npg_sampler_free(s);
    npg_generation_config_free(c);
}

static void test_seeded_reproducible(void) {
    enum { V = 100, N = 500 };
    float l[V], tmp[V];
    random_logits(l, V, 5, 4.0f);
    int32_t x[N], y[N], z[N];
    npg_generation_config *c = make_cfg(true, 1.0f, 0, 1.0f, 0.0f, 42);
    REQUIRE(c);
    npg_sampler *s1 = make_sampler(c, V), *s2 = make_sampler(c, V);
    c->rng_seed = 43;
    npg_sampler *s3 = make_sampler(c, V);
    REQUIRE(s1 && s2 && s3);
    for (int i = 0; i < N; i++) {
        x[i] = draw(s1, l, tmp, V);
        y[i] = draw(s2, l, tmp, V);
        z[i] = draw(s3, l, tmp, V);
    }
    CHECK(memcmp(x, y, sizeof x) == 0);
    int differ = 0;
    for (int i = 0; i < N; i++)
        differ += x[i] != z[i];
    CHECK(differ > N / 2); /* the distribution is spread: most draws differ between seeds */
    /* begin re-seeds: the same sequence again */
    REQUIRE_OK(npg_sampler_begin(s1, NULL, 0));
    bool same = true;
    for (int i = 0; i < N; i++)
        same = same && draw(s1, l, tmp, V) == x[i];
    CHECK(same);
    /* reseed to 43 reproduces the other seed */
    npg_sampler_reseed(s1, 43);
    same = true;
    for (int i = 0; i < N; i++)
        same = same && draw(s1, l, tmp, V) == z[i];
    CHECK(same);
    npg_sampler_free(s1);
    npg_sampler_free(s2);
    npg_sampler_free(s3);
    npg_generation_config_free(c);
}

static void test_top_k_1_and_tiny_top_p_are_greedy(void) {
    enum { V = 1000 };
    static float l[V], tmp[V];
    npg_generation_config *ck = make_cfg(true, 1.5f, 1, 1.0f, 0.0f, 1);
    npg_generation_config *cp = make_cfg(true, 1.5f, 0, 1e-6f, 0.0f, 2);
    REQUIRE(ck && cp);
    npg_sampler *sk = make_sampler(ck, V), *sp = make_sampler(cp, V);
    REQUIRE(sk && sp);
    for (uint64_t t = 0; t < 50; t++) {
        random_logits(l, V, 100 + t, 6.0f);
        if (t % 5 == 0)
            l[V - 1] = l[argmax_ref(l, V)]; /* a tie: the lower id must win */
        int32_t want = (int32_t)argmax_ref(l, V);
        CHECK(draw(sk, l, tmp, V) == want);
        CHECK(draw(sp, l, tmp, V) == want);
    }
    npg_sampler_free(sk);
    npg_sampler_free(sp);
    /* a subnormal temperature (1 / T overflows) also reduces to the argmax */
    ck->top_k = 0;
    ck->temperature = 1e-40f;
    sk = make_sampler(ck, V);
    REQUIRE(sk);
    random_logits(l, V, 999, 6.0f);
    CHECK(draw(sk, l, tmp, V) == (int32_t)argmax_ref(l, V));
    npg_sampler_free(sk);
    npg_generation_config_free(ck);
    npg_generation_config_free(cp);
}

/* Draws n times; counts[] per id. */
static void histogram(npg_sampler *s, const float *l, size_t vocab, int n, int *counts) {
    float *tmp = malloc(vocab * sizeof *tmp);
    memset(counts, 0, vocab * sizeof *counts);
    for (int i = 0; i < n; i++) {
        int32_t id = draw(s, l, tmp, vocab);
        if (id >= 0 && (size_t)id < vocab)
            counts[id]++;
    }
    free(tmp);
}

/* Pearson chi-square of counts against probabilities p (over ids with p > 0; any count where
 * p == 0 makes it infinite). */
static double chi_square(const int *counts, const double *p, size_t k, int n) {
    double x2 = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (p[i] == 0.0) {
            if (counts[i] != 0)
                return HUGE_VAL;
            continue;
        }
        double e = p[i] * n;
        x2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    return x2;
}

static void test_multinomial_frequencies(void) {
    enum { K = 4, N = 20000 };
    const double p[K] = {0.1, 0.2, 0.3, 0.4};
    float l[K];
    for (int i = 0; i < K; i++)
        l[i] = (float)log(p[i]) + 3.0f; /* a shift must not matter */
    int counts[K];
    /* chi-square with 3 degrees of freedom: 16.27 is the 0.999 quantile */
    npg_generation_config *c = make_cfg(true, 1.0f, 0, 1.0f, 0.0f, 2024);
    REQUIRE(c);
    npg_sampler *s = make_sampler(c, K);
    REQUIRE(s);
    histogram(s, l, K, N, counts);
    double x2 = chi_square(counts, p, K, N);
    fprintf(stderr, "  T=1 counts %d %d %d %d chi2 %.2f\n", counts[0], counts[1], counts[2], counts[3], x2);
    CHECK(x2 < 16.27);
    npg_sampler_free(s);
    /* temperature 0.5 squares the probabilities: {1, 4, 9, 16} / 30 */
    c->temperature = 0.5f;
    s = make_sampler(c, K);
    REQUIRE(s);
    histogram(s, l, K, N, counts);
    const double p2[K] = {1.0 / 30, 4.0 / 30, 9.0 / 30, 16.0 / 30};
    x2 = chi_square(counts, p2, K, N);
    fprintf(stderr, "  T=0.5 counts %d %d %d %d chi2 %.2f\n", counts[0], counts[1], counts[2], counts[3], x2);
    CHECK(x2 < 16.27);
    /* and the T=1 distribution no longer fits */
    CHECK(chi_square(counts, p, K, N) > 100.0);
    npg_sampler_free(s);
    npg_generation_config_free(c);
}

static void test_top_k_top_p_min_p(void) {
    enum { N = 8000 };
    int counts[10];
    /* top_k = 3 over 10 ids: only the 3 largest, renormalised */
    float l10[10] = {0.5f, 2.0f, -1.0f, 1.0f, 0.0f, 1.5f, -0.5f, 0.2f, 0.9f, 0.1f};
    npg_generation_config *c = make_cfg(true, 1.0f, 3, 1.0f, 0.0f, 7);
    REQUIRE(c);
    npg_sampler *s = make_sampler(c, 10);
    REQUIRE(s);
    histogram(s, l10, 10, N, counts);
    double z = exp(2.0) + exp(1.5) + exp(1.0);
    double pk[10] = {0};
    pk[1] = exp(2.0) / z;
    pk[5] = exp(1.5) / z;
    pk[3] = exp(1.0) / z;
    CHECK(chi_square(counts, pk, 10, N) < 13.82); /* 2 dof, 0.999 */
    npg_sampler_free(s);

    /* top_p = 0.7 over {0.5, 0.3, 0.15, 0.05}: 0.5 < 0.7 <= 0.8, so {0, 1} renormalised to 5:3 */
    const double p4[4] = {0.5, 0.3, 0.15, 0.05};
    float l4[4];
    for (int i = 0; i < 4; i++)
        l4[i] = (float)log(p4[i]);
    c->top_k = 0;
    c->top_p = 0.7f;
    s = make_sampler(c, 4);
    REQUIRE(s);
    histogram(s, l4, 4, N, counts);
    const double pp[4] = {0.625, 0.375, 0.0, 0.0};
    CHECK(chi_square(counts, pp, 4, N) < 10.83); /* 1 dof */
    npg_sampler_free(s);
    /* top_p = 0.85 keeps {0, 1, 2} */
    c->top_p = 0.85f;
    s = make_sampler(c, 4);
    histogram(s, l4, 4, N, counts);
    const double pp3[4] = {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.0};
    CHECK(chi_square(counts, pp3, 4, N) < 13.82);
    npg_sampler_free(s);

    /* min_p = 0.55: keep p >= 0.275 → {0, 1}; min_p = 0.25: keep p >= 0.125 → {0, 1, 2} */
    c->top_p = 1.0f;
    c->min_p = 0.55f;
    s = make_sampler(c, 4);
    histogram(s, l4, 4, N, counts);
    CHECK(chi_square(counts, pp, 4, N) < 10.83);
    npg_sampler_free(s);
    c->min_p = 0.25f;
    s = make_sampler(c, 4);
    histogram(s, l4, 4, N, counts);
    CHECK(chi_square(counts, pp3, 4, N) < 13.82);
    npg_sampler_free(s);
    /* min_p = 1 keeps only the maximum */
    c->min_p = 1.0f;
    s = make_sampler(c, 4);
    histogram(s, l4, 4, N, counts);
    CHECK(counts[0] == N);
    npg_sampler_free(s);
    npg_generation_config_free(c);
}

/* A Gemma-sized vocab: top_k picks among the k best, top_p with no top_k goes through the growing
 * partial sort (uniform logits make the nucleus half the vocab). */
static void test_large_vocab(void) {
    enum { V = 262144 };
    float *l = malloc(V * sizeof *l), *tmp = malloc(V * sizeof *tmp);
    REQUIRE(l && tmp);
    random_logits(l, V, 31, 8.0f);
    npg_generation_config *c = make_cfg(true, 1.0f, 50, 0.9f, 0.0f, 11);
    REQUIRE(c);
    npg_sampler *s = make_sampler(c, V);
    REQUIRE(s);
    /* the 50th largest logit */
    float *sorted = malloc(V * sizeof *sorted);
    memcpy(sorted, l, V * sizeof *sorted);
    float kth = -INFINITY;
    for (int k = 0; k < 50; k++) { /* 50 passes of selection: slow but obviously right */
        size_t b = argmax_ref(sorted, V);
        kth = sorted[b];
        sorted[b] = -INFINITY;
    }
    clock_t t0 = clock();
    bool in_top = true;
    for (int i = 0; i < 100; i++) {
        int32_t id = draw(s, l, tmp, V);
        in_top = in_top && id >= 0 && id < V && l[id] >= kth;
    }
    double ms = 1000.0 * (double)(clock() - t0) / CLOCKS_PER_SEC / 100.0;
    fprintf(stderr, "  vocab %d, top_k 50 + top_p 0.9: %.3f ms per step\n", V, ms);
    CHECK(in_top);
    npg_sampler_free(s);

    for (size_t i = 0; i < V; i++)
        l[i] = 0.0f;
    c->top_k = 0;
    c->top_p = 0.5f;
    s = make_sampler(c, V);
    REQUIRE(s);
    t0 = clock();
    bool low_half = true;
    size_t max_id = 0;
    for (int i = 0; i < 20; i++) {
        int32_t id = draw(s, l, tmp, V);
        low_half = low_half && id >= 0 && id <= V / 2; /* ties → lower ids form the nucleus */
        max_id = (size_t)id > max_id ? (size_t)id : max_id;
    }
    ms = 1000.0 * (double)(clock() - t0) / CLOCKS_PER_SEC / 20.0;
    fprintf(stderr, "  vocab %d, uniform, top_p 0.5 (worst case, full sort): %.3f ms per step\n", V, ms);
    CHECK(low_half);
    CHECK(max_id > V / 8); /* draws spread over the nucleus, not only its head */
    npg_sampler_free(s);
    free(sorted);
    free(l);
    free(tmp);
    npg_generation_config_free(c);
}

static void test_penalties_hand_computed(void) {
    npg_generation_config *c = make_cfg(false, 1.0f, 0, 1.0f, 0.0f, 0);
    REQUIRE(c);
    c->repetition_penalty = 2.0f;
    c->presence_penalty = 0.5f;
    c->frequency_penalty = 0.25f;
    npg_sampler *s = make_sampler(c, 8);
    REQUIRE(s);
    const int32_t prompt[] = {0, 1, 2, 0};
    REQUIRE_OK(npg_sampler_begin(s, prompt, 4));
    npg_sampler_accept(s, 2);
    npg_sampler_accept(s, 2);
    npg_sampler_accept(s, 3);
    npg_sampler_accept(s, 99); /* outside the vocab: ignored */
    float l[8] = {2.0f, -2.0f, 1.0f, -1.0f, 0.5f, 3.0f, 0.0f, 4.0f};
    int32_t id = npg_sampler_next(s, l, 3);
    /* id 0 (prompt, twice): 2 / 2 = 1 — penalised once per distinct id
     * id 1 (prompt): -2 * 2 = -4
     * id 2 (prompt and generated twice): 1 / 2 - 0.5 - 2 * 0.25 = -0.5
     * id 3 (generated once): -1 * 2 - 0.5 - 0.25 = -2.75
     * ids 4..7 unseen: unchanged */
    const float want[8] = {1.0f, -4.0f, -0.5f, -2.75f, 0.5f, 3.0f, 0.0f, 4.0f};
    for (int i = 0; i < 8; i++)
        CHECK(fabsf(l[i] - want[i]) < 1e-6f);
    CHECK(id == 7);
    /* a new begin forgets the history */
    REQUIRE_OK(npg_sampler_begin(s, NULL, 0));
    float l2[8] = {2.0f, -2.0f, 1.0f, -1.0f, 0.5f, 3.0f, 0.0f, 4.0f};
    (void)npg_sampler_next(s, l2, 0);
    CHECK(l2[0] == 2.0f && l2[2] == 1.0f && l2[3] == -1.0f);
    npg_sampler_free(s);

    /* frequency penalty alone turns greedy away from a repeated id */
    c->repetition_penalty = 1.0f;
    c->presence_penalty = 0.0f;
    c->frequency_penalty = 1.0f;
    s = make_sampler(c, 3);
    REQUIRE(s);
    float l3[3] = {0.0f, 2.5f, 1.0f};
    CHECK(npg_sampler_next(s, l3, 0) == 1);
    npg_sampler_accept(s, 1);
    npg_sampler_accept(s, 1);
    float l4[3] = {0.0f, 2.5f, 1.0f};
    CHECK(npg_sampler_next(s, l4, 2) == 2 && fabsf(l4[1] - 0.5f) < 1e-6f);
    npg_sampler_free(s);
    npg_generation_config_free(c);
}

static void test_min_new_tokens(void) {
    npg_generation_config *c = make_cfg(false, 1.0f, 0, 1.0f, 0.0f, 0);
    REQUIRE(c);
    c->min_new_tokens = 2;
    REQUIRE_OK(npg_generation_config_set_eos_token_id(c, 4));
    REQUIRE_OK(npg_generation_config_add_eos_token_id(c, 500)); /* beyond the vocab: ignored */
    const int64_t stop[] = {3};
    REQUIRE_OK(npg_generation_config_set_stop_token_ids(c, stop, 1));
    npg_sampler *s = make_sampler(c, 5);
    REQUIRE(s);
    float l[5] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
    CHECK(npg_sampler_next(s, l, 0) == 2);
    CHECK(isinf(l[4]) && l[4] < 0.0f && isinf(l[3]));
    float l2[5] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
    CHECK(npg_sampler_next(s, l2, 1) == 2);
    float l3[5] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
    CHECK(npg_sampler_next(s, l3, 2) == 4); /* reached: eos allowed */
    npg_sampler_free(s);
    /* with ignore_eos, eos is an ordinary id and is not masked; stop_token_ids still are */
    c->ignore_eos = true;
    s = make_sampler(c, 5);
    REQUIRE(s);
    float l4[5] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
    CHECK(npg_sampler_next(s, l4, 0) == 4 && isinf(l4[3]));
    npg_sampler_free(s);
    /* sampling never draws a masked id */
    c->ignore_eos = false;
    c->do_sample = true;
    c->min_new_tokens = 1000;
    s = make_sampler(c, 5);
    REQUIRE(s);
    const float l5[5] = {0.0f, 0.0f, 0.0f, 5.0f, 5.0f};
    int counts[5];
    histogram(s, l5, 5, 3000, counts);
    CHECK(counts[3] == 0 && counts[4] == 0 && counts[0] > 800 && counts[1] > 800 && counts[2] > 800);
    npg_sampler_free(s);
    npg_generation_config_free(c);
}

static void test_errors(void) {
    npg_generation_config *c = make_cfg(true, 0.0f, 0, 1.0f, 0.0f, 0);
    REQUIRE(c);
    npg_sampler *s = NULL;
    CHECK(npg_sampler_create(c, 10, 10, &s) == NPG_ERR_INVALID_ARGUMENT); /* temperature 0 with sampling */
    CHECK(strstr(npg_last_error(), "temperature") != NULL);
    c->temperature = 1.0f;
    CHECK(npg_sampler_create(c, 0, 10, &s) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "vocab") != NULL);
    CHECK(npg_sampler_create(NULL, 10, 10, &s) == NPG_ERR_INVALID_ARGUMENT);
    REQUIRE_OK(npg_sampler_create(c, 10, 3, &s));
    const int32_t bad[] = {1, 10};
    CHECK(npg_sampler_begin(s, bad, 2) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "prompt[1] = 10") != NULL);
    const int32_t longp[] = {1, 2, 3, 4};
    CHECK(npg_sampler_begin(s, longp, 4) == NPG_ERR_LIMIT);
    CHECK(npg_sampler_begin(NULL, longp, 1) == NPG_ERR_INVALID_ARGUMENT);
    REQUIRE_OK(npg_sampler_begin(s, longp, 3));
    npg_sampler_free(s);
    npg_sampler_free(NULL);
    npg_generation_config_free(c);
}

int main(void) {
    RUN(test_greedy);
    RUN(test_seeded_reproducible);
    RUN(test_top_k_1_and_tiny_top_p_are_greedy);
    RUN(test_multinomial_frequencies);
    RUN(test_top_k_top_p_min_p);
    RUN(test_large_vocab);
    RUN(test_penalties_hand_computed);
    RUN(test_min_new_tokens);
    RUN(test_errors);
    return npg_test_summary();
}
