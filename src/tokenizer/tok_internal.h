/* tok_internal.h — the tokenizer's private data structures, shared by the files of this folder.
 *
 * The pipeline follows Hugging Face `tokenizers` (Rust, 0.22) step by step, because the goldens are
 * its output:
 *
 *   encode: text ─► split on added tokens that match the raw text (normalized=false)
 *                ─► each remaining piece: normalizer chain ─► split on added tokens that match
 *                   normalized text (normalized=true)
 *                ─► each remaining piece: pre-tokenizer chain (depth first, one level per step)
 *                ─► each word: BPE model ─► ids ─► post-processor (BOS/EOS) when asked.
 *   decode: ids ─► token strings (added tokens first, then the model vocab; specials dropped when
 *           asked) ─► decoder chain over the list of strings ─► concatenation.
 *
 * Everything in struct npg_tokenizer is immutable after npg_tokenizer_create, so one tokenizer can
 * encode from several threads at once; each call keeps its own scratch (npg_tok_encoder). */
#ifndef NPG_TOKENIZER_TOK_INTERNAL_H
#define NPG_TOKENIZER_TOK_INTERNAL_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <cjson/cJSON.h>
#include <pcre2.h>

#include "core/strbuf.h"
#include "tokenizer/tokenizer.h"

/* ---------------------------------------------------------------------------------------------- */
/* Hash tables (tok_hash.c)                                                                       */
/* ---------------------------------------------------------------------------------------------- */

/* String -> int32 map with its own key arena. Open addressing, linear probing, load <= 5/8.
 * A slot carries what a lookup needs (tag = 24 hash bits and the key length, arena offset, value),
 * so a hit costs the slot and the key bytes: two cache misses, and the loader prefetches both. */
typedef struct npg_tok_dict_entry {
    uint32_t off; /* key at arena + off */
    uint32_t len; /* key bytes */
    int32_t val;
} npg_tok_dict_entry; /* insertion order, for iteration */

typedef struct npg_tok_dict_slot {
    uint32_t tag;  /* (hash >> 40) << 8 | min(len, 255) */
    uint32_t idx;  /* entry index + 1; 0 = empty slot */
    uint32_t off;  /* = ent[idx - 1].off */
    int32_t val;   /* = ent[idx - 1].val */
} npg_tok_dict_slot;

typedef struct npg_tok_dict {
    char *arena; /* keys back to back, each followed by a NUL (< 4 GiB) */
    size_t arena_len, arena_cap;
    npg_tok_dict_entry *ent;
    size_t n, cap; /* entries */
    npg_tok_dict_slot *slots;
    size_t mask; /* slots - 1 (power of two), 0 before the first put */
} npg_tok_dict;

npg_status npg_tok_dict_reserve(npg_tok_dict *d, size_t n_entries, size_t arena_bytes);
/* Inserts or overwrites (the later value wins, as serde's HashMap does for repeated keys). */
npg_status npg_tok_dict_put(npg_tok_dict *d, const char *key, size_t len, int32_t val);
bool npg_tok_dict_get(const npg_tok_dict *d, const char *key, size_t len, int32_t *val);
/* The same in steps, so that a loader can hash a batch of keys and prefetch before looking up. */
uint64_t npg_tok_dict_hash(const char *key, size_t len);
void npg_tok_dict_prefetch(const npg_tok_dict *d, uint64_t h);     /* the slot */
void npg_tok_dict_prefetch_key(const npg_tok_dict *d, uint64_t h); /* the key of the slot (after the above) */
bool npg_tok_dict_get_hashed(const npg_tok_dict *d, const char *key, size_t len, uint64_t h, int32_t *val);
/* Entry i's key (NUL-terminated, stable once no more puts happen). */
const char *npg_tok_dict_key(const npg_tok_dict *d, size_t i, size_t *len);
void npg_tok_dict_free(npg_tok_dict *d);

/* uint64 -> (uint32, int32) map: BPE merges ((left id << 32 | right id) -> rank, merged id) and
 * trie edges ((node << 8 | byte) -> child). Key UINT64_MAX is reserved (it marks empty slots). */
typedef struct npg_tok_pair_entry {
    uint64_t key;
    uint32_t a;
    int32_t b;
} npg_tok_pair_entry;

typedef struct npg_tok_pairmap {
    npg_tok_pair_entry *slots;
    size_t mask, n;
} npg_tok_pairmap;

npg_status npg_tok_pairmap_reserve(npg_tok_pairmap *m, size_t n);
npg_status npg_tok_pairmap_put(npg_tok_pairmap *m, uint64_t key, uint32_t a, int32_t b);
bool npg_tok_pairmap_get(const npg_tok_pairmap *m, uint64_t key, uint32_t *a, int32_t *b);
void npg_tok_pairmap_prefetch(const npg_tok_pairmap *m, uint64_t key);
void npg_tok_pairmap_free(npg_tok_pairmap *m);

/* ---------------------------------------------------------------------------------------------- */
/* UTF-8 (tok_utf8.c)                                                                             */
/* ---------------------------------------------------------------------------------------------- */

/* Length of the longest valid UTF-8 prefix (== len when all of s is valid; Rust's rules: no
 * overlongs, no surrogates, nothing above U+10FFFF). */
size_t npg_utf8_valid_prefix(const char *s, size_t len);
/* Decodes one code point of valid UTF-8; returns its byte length (>= 1). */
size_t npg_utf8_decode(const char *s, size_t len, uint32_t *cp);
/* Encodes cp (<= 0x10FFFF) into out; returns 1..4. */
size_t npg_utf8_encode(uint32_t cp, char out[4]);

/* One step of Rust's String::from_utf8_lossy at s[0] (len >= 1): the byte length of a valid
 * character (*kind 0), of a maximal invalid subpart to be replaced by one U+FFFD (*kind 1), or of a
 * truncated but so far valid sequence that reaches the end of the input (*kind 2). */
size_t npg_utf8_lossy_unit(const unsigned char *s, size_t len, int *kind);
/* Appends from_utf8_lossy(s) to sb. */
npg_status npg_utf8_append_lossy(npg_strbuf *sb, const char *s, size_t len);

/* The GPT-2 byte <-> printable-character table (ByteLevel pre-tokenizer and decoder). */
uint32_t npg_bytelevel_char(uint8_t byte);
/* The byte of a ByteLevel character; -1 when cp is not one of the 256. */
int npg_bytelevel_byte(uint32_t cp);

/* Unicode helpers with Rust's char semantics. */
bool npg_uni_is_whitespace(uint32_t cp); /* White_Space */
bool npg_uni_is_word(uint32_t cp);       /* regex \w: alphanumeric, marks, connector punctuation */

/* ---------------------------------------------------------------------------------------------- */
/* Patterns (tok_pattern.c): a literal string or a PCRE2 regex compiled with UTF + UCP             */
/* ---------------------------------------------------------------------------------------------- */

typedef struct npg_tok_pattern {
    char *literal; /* NULL for a regex */
    size_t literal_len;
    pcre2_code *re;
} npg_tok_pattern;

/* A pattern object {"String": s} or {"Regex": r}; `what` names it in messages. */
npg_status npg_tok_pattern_from_json(const cJSON *pattern, const char *what, npg_tok_pattern *out);
npg_status npg_tok_pattern_regex(const char *src, const char *what, npg_tok_pattern *out);
npg_status npg_tok_pattern_literal(const char *s, size_t len, npg_tok_pattern *out);
void npg_tok_pattern_free(npg_tok_pattern *p);

/* Iterates non-overlapping matches left to right with Rust's find_iter rule (an empty match right
 * after the previous match is skipped). md: match data the caller owns (NULL for literals). */
typedef struct npg_tok_matcher {
    const npg_tok_pattern *pattern;
    const char *s;
    size_t len;
    size_t pos;      /* where the next search starts */
    size_t last_end; /* end of the previous match, SIZE_MAX before the first */
    pcre2_match_data *md;
} npg_tok_matcher;

void npg_tok_matcher_init(npg_tok_matcher *m, const npg_tok_pattern *p, pcre2_match_data *md, const char *s,
                          size_t len);
npg_status npg_tok_matcher_next(npg_tok_matcher *m, bool *found, size_t *start, size_t *end);
/* Appends s with every match of p replaced by content. */
npg_status npg_tok_pattern_replace(const npg_tok_pattern *p, pcre2_match_data *md, const char *s, size_t len,
                                   const char *content, size_t content_len, npg_strbuf *out);

/* ---------------------------------------------------------------------------------------------- */
/* Pipeline steps                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

typedef enum npg_tok_norm_kind {
    NPG_NORM_NFC,
    NPG_NORM_NFD,
    NPG_NORM_NFKC,
    NPG_NORM_NFKD,
    NPG_NORM_LOWERCASE,
    NPG_NORM_STRIP,
    NPG_NORM_STRIP_ACCENTS,
    NPG_NORM_PREPEND,
    NPG_NORM_REPLACE,
} npg_tok_norm_kind;

typedef struct npg_tok_norm {
    npg_tok_norm_kind kind;
    npg_tok_pattern pattern; /* REPLACE */
    char *content;           /* REPLACE: replacement; PREPEND: the prefix */
    size_t content_len;
    bool left, right; /* STRIP */
} npg_tok_norm;

/* How a split keeps the delimiters (SplitDelimiterBehavior). */
typedef enum npg_tok_split_behavior {
    NPG_SPLIT_REMOVED,
    NPG_SPLIT_ISOLATED,
    NPG_SPLIT_MERGED_WITH_PREVIOUS,
    NPG_SPLIT_MERGED_WITH_NEXT,
    NPG_SPLIT_CONTIGUOUS,
} npg_tok_split_behavior;

typedef enum npg_tok_prepend_scheme { NPG_PREPEND_ALWAYS, NPG_PREPEND_FIRST, NPG_PREPEND_NEVER } npg_tok_prepend_scheme;

typedef enum npg_tok_pre_kind {
    NPG_PRE_SPLIT,     /* pattern + behavior + invert (also Whitespace, Digits, Punctuation, ...) */
    NPG_PRE_BYTELEVEL, /* optional prefix space, optional GPT-2 regex split, bytes -> chars */
    NPG_PRE_METASPACE, /* ' ' -> replacement, optional prefix, optional split before it */
} npg_tok_pre_kind;

typedef struct npg_tok_pre {
    npg_tok_pre_kind kind;
    npg_tok_pattern pattern; /* SPLIT, and BYTELEVEL with use_regex */
    npg_tok_split_behavior behavior;
    bool invert;
    bool add_prefix_space, use_regex; /* BYTELEVEL */
    char replacement[5];              /* METASPACE: one char, UTF-8 */
    size_t replacement_len;
    npg_tok_prepend_scheme prepend_scheme;
    bool split;
} npg_tok_pre;

typedef enum npg_tok_dec_kind {
    NPG_DEC_REPLACE,
    NPG_DEC_BYTE_FALLBACK,
    NPG_DEC_FUSE,
    NPG_DEC_STRIP,
    NPG_DEC_BYTELEVEL,
    NPG_DEC_METASPACE,
} npg_tok_dec_kind;

typedef struct npg_tok_dec {
    npg_tok_dec_kind kind;
    npg_tok_pattern pattern; /* REPLACE */
    char *content;           /* REPLACE */
    size_t content_len;
    char strip_char[5]; /* STRIP: the character; METASPACE: the replacement */
    size_t strip_char_len;
    size_t start, stop; /* STRIP */
    npg_tok_prepend_scheme prepend_scheme; /* METASPACE */
} npg_tok_dec;

/* An added token (tokenizer.json "added_tokens"). */
typedef struct npg_tok_added {
    char *content;
    size_t len;
    char *norm; /* content after the normalizer (what the normalized trie matches) */
    size_t norm_len;
    int32_t id;
    bool special, lstrip, rstrip, normalized, single_word;
} npg_tok_added;

/* A byte trie over added-token contents for leftmost-longest matching. */
typedef struct npg_tok_trie {
    npg_tok_pairmap edges; /* (node << 8 | byte) -> child node */
    int32_t *term;         /* node -> added token index, -1 when no token ends here */
    size_t n_nodes, cap;
    uint8_t first[32]; /* bitmap of first bytes, to skip most positions at once */
} npg_tok_trie;

/* BPE model. */
typedef struct npg_tok_bpe {
    npg_tok_dict vocab;
    npg_tok_pairmap merges;
    int32_t unk_id; /* -1: none */
    char *cont_prefix, *eow_suffix; /* NULL when absent or empty */
    size_t cont_prefix_len, eow_suffix_len;
    bool byte_fallback, fuse_unk, ignore_merges;
    bool preloaded; /* vocab, merges and cont_prefix came from the fast scanner */
    int32_t byte_ids[256]; /* id of "<0xXX>" or -1 */
} npg_tok_bpe;

#define NPG_TOK_MAX_STEPS 16
#define NPG_TOK_FLAG_ADDED 1u
#define NPG_TOK_FLAG_SPECIAL 2u

struct npg_tokenizer {
    char *dir, *json_path;
    npg_tok_bpe bpe;

    /* id -> token string (added tokens override the vocab), n_ids = largest id + 1 */
    size_t n_ids;
    const char **id_str; /* NULL for an id without a token */
    uint32_t *id_len;
    uint8_t *id_flags;
    size_t max_token_len;

    npg_tok_added *added;
    size_t n_added;
    npg_tok_dict added_index; /* content -> index in added */
    npg_tok_trie trie_raw, trie_norm;
    bool has_norm_added;

    npg_tok_norm norm[NPG_TOK_MAX_STEPS];
    size_t n_norm;
    npg_tok_pre pre[NPG_TOK_MAX_STEPS];
    size_t n_pre;
    npg_tok_dec dec[NPG_TOK_MAX_STEPS];
    size_t n_dec;
    bool has_decoder;

    bool has_post;                      /* tokenizer.json has a post_processor */
    int32_t *post_prefix, *post_suffix; /* ids the post-processor adds around one sequence */
    size_t n_post_prefix, n_post_suffix;

    char *bos, *eos, *pad, *chat_template;
    int32_t bos_id, eos_id;

    char bl_chars[256][2]; /* ByteLevel: byte -> UTF-8 of its character */
    uint8_t bl_len[256];
    size_t dec_growth; /* decoder chain: at most this many output bytes per token byte */
};

/* ---------------------------------------------------------------------------------------------- */
/* Per-call encoding scratch (encode.c)                                                           */
/* ---------------------------------------------------------------------------------------------- */

typedef struct npg_tok_piece {
    size_t off, len;
    int32_t id; /* >= 0: an added token already matched; -1: text still to tokenize */
} npg_tok_piece;

typedef struct npg_tok_pieces {
    npg_tok_piece *v;
    size_t n, cap;
} npg_tok_pieces;

npg_status npg_tok_pieces_push(npg_tok_pieces *p, size_t off, size_t len, int32_t id);

typedef struct npg_tok_sym {
    int32_t id;
    int32_t prev, next; /* -1 at the ends */
    bool alive;
} npg_tok_sym;

typedef struct npg_tok_merge_cand {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
} npg_tok_merge_cand;

typedef struct npg_tok_encoder {
    pcre2_match_data *md;
    npg_strbuf norm, norm_tmp;
    npg_tok_pieces raw_pieces, norm_pieces;
    /* one level per pre-tokenizer step: a transformed copy of the piece and its sub-pieces */
    npg_strbuf level_a[NPG_TOK_MAX_STEPS], level_b[NPG_TOK_MAX_STEPS];
    npg_tok_pieces level_pieces[NPG_TOK_MAX_STEPS];
    npg_tok_pieces matches, split_tmp;
    /* BPE */
    npg_tok_sym *syms;
    size_t syms_cap;
    npg_tok_merge_cand *heap;
    size_t heap_cap;
    npg_strbuf word_tmp;
    /* output */
    int32_t *ids;
    size_t n_ids, cap_ids;
} npg_tok_encoder;

npg_status npg_tok_encoder_push_id(npg_tok_encoder *e, int32_t id);

/* ---------------------------------------------------------------------------------------------- */
/* Loaders and stages                                                                             */
/* ---------------------------------------------------------------------------------------------- */

npg_status npg_tok_bpe_load(npg_tokenizer *tok, const cJSON *model);
/* One merge (rank) of parts a and b: registers (id(a), id(b)) -> (rank, id(a + b minus prefix)). */
npg_status npg_tok_bpe_add_merge(npg_tokenizer *tok, size_t rank, const char *a, size_t a_len, const char *b,
                                 size_t b_len, npg_strbuf *tmp);
/* Fast path (tok_json_scan.c): reads model.vocab / model.merges of a BPE model straight from the
 * text into tok->bpe (then bpe.preloaded) and writes into *rest the text with those two values
 * emptied, for cJSON. Leaves everything alone (rest empty) when the shape is unusual. */
npg_status npg_tok_scan_model(npg_tokenizer *tok, const char *text, size_t len, npg_strbuf *rest);
void npg_tok_bpe_free(npg_tok_bpe *bpe);
/* Tokenizes one word (a pre-token) and appends its ids. */
npg_status npg_tok_bpe_word(const npg_tokenizer *tok, npg_tok_encoder *e, const char *w, size_t len);

npg_status npg_tok_norm_load(npg_tokenizer *tok, const cJSON *normalizer);
/* Applies the normalizer chain to s and writes the result into out (cleared first). */
npg_status npg_tok_normalize(const npg_tokenizer *tok, pcre2_match_data *md, const char *s, size_t len,
                             npg_strbuf *out, npg_strbuf *tmp);
void npg_tok_norm_free(npg_tok_norm *n);

npg_status npg_tok_pre_load(npg_tokenizer *tok, const cJSON *pre_tokenizer);
/* Runs pre-tokenizer steps depth.. on s and the BPE model on each resulting word. */
npg_status npg_tok_pretokenize(const npg_tokenizer *tok, npg_tok_encoder *e, size_t depth, const char *s, size_t len,
                               bool at_origin);
void npg_tok_pre_free(npg_tok_pre *p);
/* Splits s by the matches of p (Pattern::find_matches + SplitDelimiterBehavior); pieces get id -1. */
npg_status npg_tok_split(const npg_tok_pattern *p, pcre2_match_data *md, const char *s, size_t len,
                         npg_tok_split_behavior behavior, bool invert, npg_tok_pieces *matches, npg_tok_pieces *out);

npg_status npg_tok_added_load(npg_tokenizer *tok, const cJSON *added_tokens);
/* Splits s at added-token matches of the raw (normalized=false) or normalized trie; appends the
 * pieces (offsets relative to s) to out. Empty pieces are dropped. */
npg_status npg_tok_added_split(const npg_tokenizer *tok, bool normalized, const char *s, size_t len,
                               npg_tok_pieces *out);
void npg_tok_added_free(npg_tokenizer *tok);

npg_status npg_tok_dec_load(npg_tokenizer *tok, const cJSON *decoder);
void npg_tok_dec_free(npg_tok_dec *d);
/* "<0xAB>" -> 0xAB (ByteFallback); false for any other token. */
bool npg_tok_byte_token(const char *s, size_t len, uint8_t *byte);
/* ByteLevel decoding of one token: its bytes when every char is in the table, else its UTF-8. */
npg_status npg_tok_bytelevel_token_bytes(const char *s, size_t len, npg_strbuf *out);

npg_status npg_tok_post_load(npg_tokenizer *tok, const cJSON *post);

/* ---------------------------------------------------------------------------------------------- */
/* Decoding (decode.c)                                                                            */
/* ---------------------------------------------------------------------------------------------- */

/* A list of strings: string i is buf.data[off[i] .. off[i] + len[i]). */
typedef struct npg_tok_declist {
    npg_strbuf buf;
    size_t *off, *len;
    size_t n, cap;
} npg_tok_declist;

npg_status npg_tok_declist_reserve(npg_tok_declist *l, size_t n_tokens, size_t n_bytes);
void npg_tok_declist_free(npg_tok_declist *l);

/* Per-call decoding scratch: two lists the steps ping-pong between, and the output. */
typedef struct npg_tok_decoder {
    npg_tok_declist a, b;
    npg_strbuf tmp, out;
    pcre2_match_data *md;
} npg_tok_decoder;

npg_status npg_tok_decoder_init(npg_tok_decoder *dc);
/* Reserves room so that decoding up to n_tokens ids never allocates. */
npg_status npg_tok_decoder_reserve(const npg_tokenizer *tok, npg_tok_decoder *dc, size_t n_tokens);
void npg_tok_decoder_free(npg_tok_decoder *dc);
/* Decodes ids; *text (NUL-terminated, *len bytes) points into dc->out, valid until the next run. */
npg_status npg_tok_decode_run(const npg_tokenizer *tok, npg_tok_decoder *dc, const int32_t *ids, size_t n_ids,
                              bool skip_special, const char **text, size_t *len);

#endif
