/* tok_hash.c — the two hash tables of the tokenizer: string -> id (vocabularies) and
 * uint64 -> (uint32, int32) (BPE merges, trie edges).
 *
 * Both use open addressing with linear probing at a load factor of at most 5/8, so a probe
 * sequence is short and a lookup is one or two cache lines. Tables only grow (no deletion). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tok_internal.h"

/* A 64-bit hash of a short string: 8 bytes at a time, multiply-xorshift mixing. */
static uint64_t hash_bytes(const char *s, size_t len) {
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t h = 0xD6E8FEB86659FD93ull ^ (len * k);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    for (size_t j = 0; i + j < len; j++)
        tail |= (uint64_t)(unsigned char)s[i + j] << (8 * j);
    h = (h ^ tail) * k;
    h ^= h >> 32;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    return h;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

/* ---------------------------------------------------------------------------------------------- */

static uint32_t make_tag(uint64_t h, size_t len) { return (uint32_t)(h >> 40) << 8 | (uint32_t)(len < 255 ? len : 255); }

static npg_status dict_rehash(npg_tok_dict *d, size_t n_slots) {
    npg_tok_dict_slot *slots = calloc(n_slots, sizeof *slots);
    NPG_CHECK_ALLOC(slots);
    size_t mask = n_slots - 1;
    for (size_t i = 0; i < d->n; i++) {
        uint64_t h = hash_bytes(d->arena + d->ent[i].off, d->ent[i].len);
        size_t pos = (size_t)h & mask;
        while (slots[pos].idx)
            pos = (pos + 1) & mask;
        slots[pos] = (npg_tok_dict_slot){make_tag(h, d->ent[i].len), (uint32_t)(i + 1), d->ent[i].off, d->ent[i].val};
    }
    free(d->slots);
    d->slots = slots;
    d->mask = mask;
    return NPG_OK;
}

static npg_status dict_grow_entries(npg_tok_dict *d, size_t need) {
    if (need <= d->cap)
        return NPG_OK;
    size_t cap = d->cap ? d->cap : 64;
    while (cap < need)
        cap *= 2;
    npg_tok_dict_entry *ent = realloc(d->ent, cap * sizeof *ent);
    NPG_CHECK_ALLOC(ent);
    d->ent = ent;
    d->cap = cap;
    return NPG_OK;
}

static npg_status dict_grow_arena(npg_tok_dict *d, size_t need) {
    if (need <= d->arena_cap)
        return NPG_OK;
    if (need > UINT32_MAX)
        return npg_fail(NPG_ERR_LIMIT, "tokenizer vocabulary text over 4 GiB");
    size_t cap = d->arena_cap ? d->arena_cap : 1024;
    while (cap < need)
        cap *= 2;
    char *a = realloc(d->arena, cap);
    NPG_CHECK_ALLOC(a);
    d->arena = a;
    d->arena_cap = cap;
    return NPG_OK;
}

npg_status npg_tok_dict_reserve(npg_tok_dict *d, size_t n_entries, size_t arena_bytes) {
    NPG_TRY(dict_grow_entries(d, n_entries));
    NPG_TRY(dict_grow_arena(d, arena_bytes));
    size_t slots = 16;
    while (5 * slots < 8 * n_entries)
        slots *= 2;
    if (slots > d->mask + 1 || !d->slots)
        NPG_TRY(dict_rehash(d, slots));
    return NPG_OK;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t dict_find(const npg_tok_dict *d, const char *key, size_t len, uint64_t h, bool *found) {
    size_t pos = (size_t)h & d->mask;
    uint32_t tag = make_tag(h, len);
    for (;;) {
        const npg_tok_dict_slot *s = &d->slots[pos];
        if (!s->idx) {
            *found = false;
            return pos;
        }
        if (s->tag == tag && (len < 255 || d->ent[s->idx - 1].len == len) &&
            memcmp(d->arena + s->off, key, len) == 0) {
            *found = true;
            return pos;
        }
        pos = (pos + 1) & d->mask;
    }
}

npg_status npg_tok_dict_put(npg_tok_dict *d, const char *key, size_t len, int32_t val) {
    if (len > UINT32_MAX)
        return npg_fail(NPG_ERR_LIMIT, "token of %zu bytes is too long", len);
    if (!d->slots || 8 * (d->n + 1) > 5 * (d->mask + 1)) /* load <= 5/8 */
        NPG_TRY(dict_rehash(d, d->slots ? 2 * (d->mask + 1) : 64));
    uint64_t h = hash_bytes(key, len);
    bool found;
    size_t pos = dict_find(d, key, len, h, &found);
    if (found) {
        d->slots[pos].val = val;
        d->ent[d->slots[pos].idx - 1].val = val;
        return NPG_OK;
    }
    NPG_TRY(dict_grow_entries(d, d->n + 1));
    NPG_TRY(dict_grow_arena(d, d->arena_len + len + 1));
    if (len)
        memcpy(d->arena + d->arena_len, key, len);
    d->arena[d->arena_len + len] = '\0';
    uint32_t off = (uint32_t)d->arena_len;
    d->ent[d->n] = (npg_tok_dict_entry){off, (uint32_t)len, val};
    d->arena_len += len + 1;
    d->n++;
    d->slots[pos] = (npg_tok_dict_slot){make_tag(h, len), (uint32_t)d->n, off, val};
    return NPG_OK;
}

uint64_t npg_tok_dict_hash(const char *key, size_t len) { return hash_bytes(key, len); }

void npg_tok_dict_prefetch(const npg_tok_dict *d, uint64_t h) {
    if (d->slots)
        __builtin_prefetch(&d->slots[(size_t)h & d->mask]);
}

void npg_tok_dict_prefetch_key(const npg_tok_dict *d, uint64_t h) {
    if (d->slots && d->slots[(size_t)h & d->mask].idx)
        __builtin_prefetch(d->arena + d->slots[(size_t)h & d->mask].off);
}

bool npg_tok_dict_get_hashed(const npg_tok_dict *d, const char *key, size_t len, uint64_t h, int32_t *val) {
    if (!d->slots)
        return false;
    bool found;
    size_t pos = dict_find(d, key, len, h, &found);
    if (found && val)
        *val = d->slots[pos].val;
    return found;
}

bool npg_tok_dict_get(const npg_tok_dict *d, const char *key, size_t len, int32_t *val) {
    return npg_tok_dict_get_hashed(d, key, len, hash_bytes(key, len), val);
}

const char *npg_tok_dict_key(const npg_tok_dict *d, size_t i, size_t *len) {
    *len = d->ent[i].len;
    return d->arena + d->ent[i].off;
}

void npg_tok_dict_free(npg_tok_dict *d) {
    free(d->arena);
    free(d->ent);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------------------------------------- */

/* Slots store ~key, so that zeroed memory (calloc: lazily zeroed pages, no init pass over the
 * table) is all empty slots; key UINT64_MAX itself cannot be stored (no caller uses it). */
static npg_status pairmap_rehash(npg_tok_pairmap *m, size_t n_slots) {
    npg_tok_pair_entry *slots = calloc(n_slots, sizeof *slots);
    NPG_CHECK_ALLOC(slots);
    size_t mask = n_slots - 1;
    if (m->slots) {
        for (size_t i = 0; i <= m->mask; i++) {
            if (!m->slots[i].key)
                continue;
            size_t pos = (size_t)mix64(~m->slots[i].key) & mask;
            while (slots[pos].key)
                pos = (pos + 1) & mask;
            slots[pos] = m->slots[i];
        }
    }
    free(m->slots);
    m->slots = slots;
    m->mask = mask;
    return NPG_OK;
}

npg_status npg_tok_pairmap_reserve(npg_tok_pairmap *m, size_t n) {
    size_t slots = 16;
    while (5 * slots < 8 * n)
        slots *= 2;
    if (!m->slots || slots > m->mask + 1)
        NPG_TRY(pairmap_rehash(m, slots));
    return NPG_OK;
}

npg_status npg_tok_pairmap_put(npg_tok_pairmap *m, uint64_t key, uint32_t a, int32_t b) {
    if (key == UINT64_MAX)
        return npg_fail(NPG_ERR_INTERNAL, "pair map key UINT64_MAX is reserved");
    if (!m->slots || 8 * (m->n + 1) > 5 * (m->mask + 1))
        NPG_TRY(pairmap_rehash(m, m->slots ? 2 * (m->mask + 1) : 64));
    size_t pos = (size_t)mix64(key) & m->mask;
    while (m->slots[pos].key && m->slots[pos].key != ~key)
        pos = (pos + 1) & m->mask;
    if (!m->slots[pos].key)
        m->n++;
    m->slots[pos].key = ~key;
    m->slots[pos].a = a;
    m->slots[pos].b = b;
    return NPG_OK;
}

void npg_tok_pairmap_prefetch(const npg_tok_pairmap *m, uint64_t key) {
    if (m->slots)
        __builtin_prefetch(&m->slots[(size_t)mix64(key) & m->mask]);
}

bool npg_tok_pairmap_get(const npg_tok_pairmap *m, uint64_t key, uint32_t *a, int32_t *b) {
    if (!m->slots)
        return false;
    size_t pos = (size_t)mix64(key) & m->mask;
    for (;;) {
        const npg_tok_pair_entry *e = &m->slots[pos];
        if (e->key == ~key) {
            if (a)
                *a = e->a;
            if (b)
                *b = e->b;
            return true;
        }
        if (!e->key)
            return false;
        pos = (pos + 1) & m->mask;
    }
}

void npg_tok_pairmap_free(npg_tok_pairmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}
