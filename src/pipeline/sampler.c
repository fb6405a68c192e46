/* sampler.c — logits processing and token selection (see sampler.h for the order of steps).
 *
 * Semantics chosen (and where they differ from the references):
 *  - repetition_penalty (Hugging Face RepetitionPenaltyLogitsProcessor): for every distinct id seen
 *    in prompt + generated, logit > 0 is divided by the penalty and logit <= 0 multiplied by it, once
 *    per distinct id. (OpenVINO GenAI applies it once for the prompt set and once more for the
 *    generated set, so an id in both is penalised twice; we do not.)
 *  - presence / frequency penalties (OpenAI / vLLM): logit -= presence + frequency * count, over the
 *    ids generated in this call (not the prompt), whatever the logit's sign. (OpenVINO GenAI moves
 *    the logit toward zero instead: it subtracts for logit >= 0 and adds for logit < 0, which raises
 *    negative logits of repeated ids; we keep the OpenAI definition.)
 *  - min_new_tokens: while fewer ids were generated, every id that would end generation
 *    (npg_generation_config_is_stop_id) gets -inf.
 *  - greedy: argmax, ties → lowest id; NaN counts as -inf; all -inf → id 0.
 *  - sampling: probabilities p ∝ exp((logit - max) / T); top_k keeps exactly k ids (ties at the
 *    boundary → lower ids; HF keeps every tie); top_p keeps the smallest prefix of the
 *    descending order whose mass reaches top_p of the remaining mass (HF's rule, at least one id);
 *    min_p keeps ids with p >= min_p * max p; the draw walks the kept ids in that order with
 *    u ∈ [0, 1) from xoshiro256** seeded through splitmix64 from rng_seed.
 *
 * Buffers (all [vocab], allocated in create, never afterwards):
 *   gen_count[id]  times id was accepted since begin
 *   seen[id]       1 when id is in the prompt or was accepted
 *   seen_ids[..]   the distinct seen ids (n_seen of them), so penalties and reset cost O(distinct)
 *   cand/key       candidate ids and their keys (logits during top-k selection, then weights)
 */
#include "pipeline/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct npg_sampler {
    npg_generation_config *cfg; /* owned clone */
    size_t vocab;
    size_t max_tokens;
    uint32_t *gen_count; /* [vocab] */
    uint8_t *seen;       /* [vocab] */
    int32_t *seen_ids;   /* [vocab]; first n_seen valid */
    size_t n_seen;
    int32_t *cand; /* [vocab] */
    float *key;    /* [vocab] */
    uint64_t rng[4];
};

/* ---------------------------------------------------------------------------------------------- */
/* Random numbers: xoshiro256** (Blackman & Vigna), state expanded from the seed by splitmix64.     */
/* ---------------------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t s[4]) {
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(uint64_t s[4]) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

void npg_sampler_reseed(npg_sampler *s, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64(&x); /* splitmix64 never yields four zeros in a row */
}

/* ---------------------------------------------------------------------------------------------- */
/* Create / begin / accept                                                                         */
/* ---------------------------------------------------------------------------------------------- */

npg_status npg_sampler_create(const npg_generation_config *config, size_t vocab, size_t max_tokens, npg_sampler **out) {
    if (!config || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_sampler_create: %s is NULL", config ? "out" : "config");
    if (vocab == 0 || vocab > (size_t)INT32_MAX)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_sampler_create: vocab must be in [1, %d], got %zu", INT32_MAX,
                        vocab);
    NPG_TRY(npg_generation_config_validate(config));
    npg_sampler *s = calloc(1, sizeof *s);
    NPG_CHECK_ALLOC(s);
    s->vocab = vocab;
    s->max_tokens = max_tokens;
    npg_status st = npg_generation_config_clone(config, &s->cfg);
    if (st == NPG_OK) {
        s->gen_count = calloc(vocab, sizeof *s->gen_count);
        s->seen = calloc(vocab, sizeof *s->seen);
        s->seen_ids = malloc(vocab * sizeof *s->seen_ids);
        s->cand = malloc(vocab * sizeof *s->cand);
        s->key = malloc(vocab * sizeof *s->key);
        if (!s->gen_count || !s->seen || !s->seen_ids || !s->cand || !s->key)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "npg_sampler_create: out of memory for vocab %zu", vocab);
    }
    if (st != NPG_OK) {
        npg_sampler_free(s);
        return st;
    }
    npg_sampler_reseed(s, config->rng_seed);
    *out = s;
    return NPG_OK;
}

void npg_sampler_free(npg_sampler *s) {
    if (!s)
        return;
    npg_generation_config_free(s->cfg);
    free(s->gen_count);
    free(s->seen);
    free(s->seen_ids);
    free(s->cand);
    free(s->key);
    free(s);
}

static void mark_seen(npg_sampler *s, int32_t id) {
    if (!s->seen[id]) {
        s->seen[id] = 1;
        s->seen_ids[s->n_seen++] = id; /* n_seen <= vocab: each id enters once */
    }
}

npg_status npg_sampler_begin(npg_sampler *s, const int32_t *prompt, size_t n_prompt) {
    if (!s || (n_prompt > 0 && !prompt))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_sampler_begin: %s is NULL", s ? "prompt" : "sampler");
    for (size_t i = 0; i < s->n_seen; i++) {
        s->seen[s->seen_ids[i]] = 0;
        s->gen_count[s->seen_ids[i]] = 0;
    }
    s->n_seen = 0;
    npg_sampler_reseed(s, s->cfg->rng_seed);
    if (n_prompt > s->max_tokens)
        return npg_fail(NPG_ERR_LIMIT, "npg_sampler_begin: prompt of %zu ids exceeds the sampler's max_tokens %zu",
                        n_prompt, s->max_tokens);
    for (size_t i = 0; i < n_prompt; i++) {
        if (prompt[i] < 0 || (size_t)prompt[i] >= s->vocab)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "npg_sampler_begin: prompt[%zu] = %d is outside the vocab [0, %zu)", i, prompt[i],
                            s->vocab);
        mark_seen(s, prompt[i]);
    }
    return NPG_OK;
}

void npg_sampler_accept(npg_sampler *s, int32_t id) {
    if (!s || id < 0 || (size_t)id >= s->vocab)
        return; /* an id the logits cannot hold cannot be penalised either */
    mark_seen(s, id);
    if (s->gen_count[id] < UINT32_MAX)
        s->gen_count[id]++;
}

/* ---------------------------------------------------------------------------------------------- */
/* Logits processors                                                                              */
/* ---------------------------------------------------------------------------------------------- */

static void apply_penalties(const npg_sampler *s, float *logits) {
    const float rep = s->cfg->repetition_penalty;
    const float pres = s->cfg->presence_penalty;
    const float freq = s->cfg->frequency_penalty;
    if (rep == 1.0f && pres == 0.0f && freq == 0.0f)
        return;
    for (size_t i = 0; i < s->n_seen; i++) {
        int32_t id = s->seen_ids[i];
        float l = logits[id];
        if (rep != 1.0f)
            l = l > 0.0f ? l / rep : l * rep;
        uint32_t n = s->gen_count[id];
        if (n > 0)
            l -= pres + freq * (float)n;
        logits[id] = l;
    }
}

static void mask_stop_ids(const npg_sampler *s, float *logits) {
    const npg_generation_config *c = s->cfg;
    if (!c->ignore_eos)
        for (size_t i = 0; i < c->n_eos; i++)
            if (c->eos_token_ids[i] >= 0 && (size_t)c->eos_token_ids[i] < s->vocab)
                logits[c->eos_token_ids[i]] = -INFINITY;
    for (size_t i = 0; i < c->n_stop_ids; i++)
        if (c->stop_token_ids[i] >= 0 && (size_t)c->stop_token_ids[i] < s->vocab)
            logits[c->stop_token_ids[i]] = -INFINITY;
}

static size_t argmax(const float *logits, size_t vocab) {
    size_t best = 0;
    float bv = isnan(logits[0]) ? -INFINITY : logits[0];
    for (size_t i = 1; i < vocab; i++)
        if (logits[i] > bv) { /* strict: ties keep the lower id; NaN never wins */
            bv = logits[i];
            best = i;
        }
    return best;
}

/* ---------------------------------------------------------------------------------------------- */
/* Selection over parallel arrays key[] / id[]: "better" = larger key, then lower id (a total      */
/* order, so results never depend on the input order). The heap is a min-heap: its root is the   */
/* worst entry kept so far.                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static bool better(float ka, int32_t ia, float kb, int32_t ib) { return ka > kb || (ka == kb && ia < ib); }

static void swap_entries(float *key, int32_t *id, size_t a, size_t b) {
    float k = key[a];
    key[a] = key[b];
    key[b] = k;
    int32_t t = id[a];
    id[a] = id[b];
    id[b] = t;
}

static void sift_down(float *key, int32_t *id, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(key[w], id[w], key[l], id[l]))
            w = l;
        if (r < n && better(key[w], id[w], key[r], id[r]))
            w = r;
        if (w == i)
            return;
        swap_entries(key, id, i, w);
        i = w;
    }
}

static void heap_build(float *key, int32_t *id, size_t n) {
    for (size_t i = n / 2; i-- > 0;)
        sift_down(key, id, n, i);
}

/* Min-heap of n entries → best first. */
static void heap_sort_desc(float *key, int32_t *id, size_t n) {
    for (size_t end = n; end > 1; end--) {
        swap_entries(key, id, 0, end - 1);
        sift_down(key, id, end - 1, 0);
    }
}

/* The k best logits (NaN as -inf) into key/id[0..k), best first. O(vocab + k log k · log vocab). */
static void select_top_logits(const float *logits, size_t vocab, size_t k, float *key, int32_t *id) {
    for (size_t i = 0; i < k; i++) {
        key[i] = isnan(logits[i]) ? -INFINITY : logits[i];
        id[i] = (int32_t)i;
    }
    heap_build(key, id, k);
    for (size_t i = k; i < vocab; i++) {
        /* ids rise, so an equal logit is never better than the root: one compare for most ids */
        if (logits[i] > key[0]) {
            key[0] = logits[i];
            id[0] = (int32_t)i;
            sift_down(key, id, k, 0);
        }
    }
    heap_sort_desc(key, id, k);
}

/* Reorders key/id[0..n) so the m best come first, best first; the rest keep all other entries. */
static void partial_sort(float *key, int32_t *id, size_t n, size_t m) {
    if (m > n)
        m = n;
    heap_build(key, id, m);
    for (size_t i = m; i < n; i++)
        if (better(key[i], id[i], key[0], id[0])) {
            swap_entries(key, id, 0, i);
            sift_down(key, id, m, 0);
        }
    heap_sort_desc(key, id, m);
}

/* Nucleus: the shortest best-first prefix whose weight reaches top_p × total. Sorts only as much of
 * the candidates as needed (64, 512, 4096, … best), so peaked distributions cost O(n). Returns the
 * kept count (>= 1); key/id[0..count) are then best first. */
static size_t top_p_cut(float *key, int32_t *id, size_t n, bool sorted, float top_p) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += (double)key[i];
    const double target = (double)top_p * total;
    for (size_t m = sorted ? n : 64;; m *= 8) {
        if (m > n)
            m = n;
        if (!sorted)
            partial_sort(key, id, n, m);
        double cum = 0.0;
        for (size_t i = 0; i < m; i++) {
            cum += (double)key[i];
            if (cum >= target)
                return i + 1;
        }
        if (m == n)
            return n; /* rounding kept the sum just below the target: keep everything */
    }
}

static int32_t sample(npg_sampler *s, const float *logits, size_t greedy_id) {
    const npg_generation_config *c = s->cfg;
    const float max_logit = logits[greedy_id];
    if (!isfinite(max_logit))
        return (int32_t)greedy_id; /* all masked (-inf) or an infinite logit: nothing to weigh */
    const float inv_t = 1.0f / c->temperature;
    if (!isfinite(inv_t))
        return (int32_t)greedy_id; /* a subnormal temperature: the distribution is the argmax */
    float *w = s->key;
    int32_t *id = s->cand;
    size_t n = 0;
    bool sorted = false;
    if (c->top_k > 0 && c->top_k < s->vocab) {
        select_top_logits(logits, s->vocab, c->top_k, w, id);
        n = c->top_k;
        sorted = true;
        for (size_t i = 0; i < n; i++)
            w[i] = expf((w[i] - max_logit) * inv_t);
        while (n > 1 && !(w[n - 1] > 0.0f)) /* underflowed / -inf tail cannot be drawn */
            n--;
    } else {
        for (size_t i = 0; i < s->vocab; i++) {
            float p = expf((logits[i] - max_logit) * inv_t);
            if (p > 0.0f) { /* drops -inf, NaN and underflow */
                w[n] = p;
                id[n++] = (int32_t)i;
            }
        }
    }
    if (n == 0)
        return (int32_t)greedy_id;
    if (c->top_p < 1.0f) {
        n = top_p_cut(w, id, n, sorted, c->top_p);
        sorted = true;
    }
    if (c->min_p > 0.0f) {
        /* the argmax survives top_k / top_p and has weight exp(0) = 1, so max p ↔ weight 1 */
        float wmax = 0.0f;
        for (size_t i = 0; i < n; i++)
            wmax = w[i] > wmax ? w[i] : wmax;
        const float threshold = c->min_p * wmax;
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (w[i] >= threshold) {
                w[kept] = w[i];
                id[kept++] = id[i];
            }
        n = kept; /* >= 1: wmax itself passes */
    }
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += (double)w[i];
    const double r = rng_uniform(s->rng) * total;
    double cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        cum += (double)w[i];
        if (r < cum)
            return id[i];
    }
    return id[n - 1]; /* r within rounding of total */
}

void npg_sampler_apply_penalties(const npg_sampler *s, float *logits) { apply_penalties(s, logits); }

void npg_sampler_mask_early_stop(const npg_sampler *s, float *logits, size_t n_generated) {
    if (n_generated < s->cfg->min_new_tokens)
        mask_stop_ids(s, logits);
}

int32_t npg_sampler_pick(npg_sampler *s, const float *logits) {
    size_t best = argmax(logits, s->vocab);
    if (!s->cfg->do_sample)
        return (int32_t)best;
    return sample(s, logits, best);
}

int32_t npg_sampler_next(npg_sampler *s, float *logits, size_t n_generated) {
    npg_sampler_apply_penalties(s, logits);
    npg_sampler_mask_early_stop(s, logits, n_generated);
    return npg_sampler_pick(s, logits);
}
