/* npu_blob_config.c — the model config as an explicit record in the NPU blob, field by field and
 * little-endian, instead of npg_model_config's raw bytes (whose layout changes with the compiler and
 * with every new field). The record starts with its own version; a reader of another version refuses it.
 *
 * Record version 1, in order (i64/u32/f32 little-endian, u8 for booleans, str = u16 length + bytes):
 *   u32 record version
 *   str arch_name (the `architectures` entry; the architecture is looked up from it)
 *   i64 hidden, n_layers, n_heads, n_kv_heads, head_dim, ffn, vocab, max_pos
 *   f32 norm_eps
 *   u8  tie_embeddings, qkv_bias, o_bias, mlp_bias, qk_norm, norm_plus_one, sandwich_norms, fused_qkv,
 *       fused_gate_up
 *   f32 embed_scale, attn_scale, final_softcap, attn_softcap
 *   u32 act
 *   i64 rotary_dim
 *   rope, then rope_local: u32 type, f32 theta, factor, low_freq_factor, high_freq_factor,
 *       i64 original_max_pos, f32 attention_factor, u32 n_factors, f32 short_factor[n_factors],
 *       f32 long_factor[n_factors]
 *   i64 sliding_window
 *   u8  layer_sliding[n_layers]
 *   i64 bos_token_id
 *   u32 n_eos, i64 eos_token_ids[n_eos]
 *   str tensor_prefix, str lm_head_name
 * A new npg_model_config field means a new record version (and a blob version bump). */
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "device/npu/npu_blob.h"

/* ---- writing ---------------------------------------------------------------------------------- */

typedef struct writer {
    npg_strbuf sb;
    npg_status st;
} writer;

static void put_bytes(writer *w, const void *p, size_t n) {
    if (w->st == NPG_OK)
        w->st = npg_strbuf_append(&w->sb, p, n);
}

static void put_u64(writer *w, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(w, b, 8);
}

static void put_u32(writer *w, uint32_t v) {
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(w, b, 4);
}

static void put_i64(writer *w, int64_t v) { put_u64(w, (uint64_t)v); }

static void put_f32(writer *w, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    put_u32(w, u);
}

static void put_u8(writer *w, bool v) {
    unsigned char b = v ? 1 : 0;
    put_bytes(w, &b, 1);
}

static void put_str(writer *w, const char *s, size_t cap) {
    size_t n = strnlen(s, cap);
    unsigned char b[2] = {(unsigned char)n, (unsigned char)(n >> 8)};
    put_bytes(w, b, 2);
    put_bytes(w, s, n);
}

static void put_rope(writer *w, const npg_rope_config *r) {
    put_u32(w, (uint32_t)r->type);
    put_f32(w, r->theta);
    put_f32(w, r->factor);
    put_f32(w, r->low_freq_factor);
    put_f32(w, r->high_freq_factor);
    put_i64(w, r->original_max_pos);
    put_f32(w, r->attention_factor);
    int n = r->n_factors < 0 ? 0 : r->n_factors > NPG_MAX_ROPE_FACTORS ? NPG_MAX_ROPE_FACTORS : r->n_factors;
    put_u32(w, (uint32_t)n);
    for (int i = 0; i < n; i++)
        put_f32(w, r->short_factor[i]);
    for (int i = 0; i < n; i++)
        put_f32(w, r->long_factor[i]);
}

npg_status npu_config_record_write(const npg_model_config *c, uint8_t **out, size_t *len) {
    writer w = {{0}, NPG_OK};
    put_u32(&w, NPU_CONFIG_RECORD_VERSION);
    put_str(&w, c->arch_name, sizeof c->arch_name);
    const int64_t dims[] = {c->hidden,   c->n_layers, c->n_heads, c->n_kv_heads,
                            c->head_dim, c->ffn,      c->vocab,   c->max_pos};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        put_i64(&w, dims[i]);
    put_f32(&w, c->norm_eps);
    const bool flags[] = {c->tie_embeddings, c->qkv_bias,       c->o_bias,    c->mlp_bias,     c->qk_norm,
                          c->norm_plus_one,  c->sandwich_norms, c->fused_qkv, c->fused_gate_up};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        put_u8(&w, flags[i]);
    put_f32(&w, c->embed_scale);
    put_f32(&w, c->attn_scale);
    put_f32(&w, c->final_softcap);
    put_f32(&w, c->attn_softcap);
    put_u32(&w, (uint32_t)c->act);
    put_i64(&w, c->rotary_dim);
    put_rope(&w, &c->rope);
    put_rope(&w, &c->rope_local);
    put_i64(&w, c->sliding_window);
    for (int64_t l = 0; l < c->n_layers && l < NPG_MAX_LAYERS; l++)
        put_u8(&w, c->layer_sliding[l]);
    put_i64(&w, c->bos_token_id);
    int n_eos = c->n_eos < 0 ? 0 : c->n_eos > 8 ? 8 : c->n_eos;
    put_u32(&w, (uint32_t)n_eos);
    for (int i = 0; i < n_eos; i++)
        put_i64(&w, c->eos_token_ids[i]);
    put_str(&w, c->tensor_prefix, sizeof c->tensor_prefix);
    put_str(&w, c->lm_head_name, sizeof c->lm_head_name);
    if (w.st != NPG_OK) {
        npg_strbuf_free(&w.sb);
        return w.st;
    }
    *len = w.sb.len;
    *out = (uint8_t *)w.sb.data; /* malloc'd by the strbuf; the caller frees it */
    return NPG_OK;
}

/* ---- reading ---------------------------------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p;
    size_t left;
    const char *field; /* the field being read, for the message */
    bool short_read;
    const char *not_bool; /* the first boolean field whose byte is neither 0 nor 1 */
} reader;

static const uint8_t *take(reader *r, size_t n, const char *field) {
    if (r->short_read)
        return NULL;
    if (n > r->left) {
        r->short_read = true;
        r->field = field;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    r->left -= n;
    return at;
}

static uint64_t get_u64(reader *r, const char *field) {
    const uint8_t *b = take(r, 8, field);
    uint64_t v = 0;
    for (int i = 0; b && i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static uint32_t get_u32(reader *r, const char *field) {
    const uint8_t *b = take(r, 4, field);
    uint32_t v = 0;
    for (int i = 0; b && i < 4; i++)
        v |= (uint32_t)b[i] << (8 * i);
    return v;
}

static int64_t get_i64(reader *r, const char *field) { return (int64_t)get_u64(r, field); }

static float get_f32(reader *r, const char *field) {
    uint32_t u = get_u32(r, field);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* A boolean: the byte must be 0 or 1 (a crafted 255 is refused, never loaded into a bool). */
static bool get_u8(reader *r, const char *field) {
    const uint8_t *b = take(r, 1, field);
    if (b && *b > 1 && !r->not_bool)
        r->not_bool = field;
    return b && *b == 1;
}

/* A string into dst[cap] (NUL-terminated); false when it does not fit. */
static bool get_str(reader *r, const char *field, char *dst, size_t cap) {
    const uint8_t *b = take(r, 2, field);
    size_t n = b ? (size_t)b[0] | (size_t)b[1] << 8 : 0;
    const uint8_t *s = take(r, n, field);
    if (!s)
        return !r->short_read;
    if (n >= cap)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static bool get_rope(reader *r, npg_rope_config *o) {
    o->type = (npg_rope_type)get_u32(r, "rope type");
    o->theta = get_f32(r, "rope theta");
    o->factor = get_f32(r, "rope factor");
    o->low_freq_factor = get_f32(r, "rope low_freq_factor");
    o->high_freq_factor = get_f32(r, "rope high_freq_factor");
    o->original_max_pos = get_i64(r, "rope original_max_pos");
    o->attention_factor = get_f32(r, "rope attention_factor");
    uint32_t n = get_u32(r, "rope n_factors");
    if (n > NPG_MAX_ROPE_FACTORS)
        return false;
    o->n_factors = (int)n;
    for (uint32_t i = 0; i < n; i++)
        o->short_factor[i] = get_f32(r, "rope short_factor");
    for (uint32_t i = 0; i < n; i++)
        o->long_factor[i] = get_f32(r, "rope long_factor");
    return o->type <= NPG_ROPE_LONGROPE;
}

npg_status npu_config_record_read(const uint8_t *p, size_t len, const char *path, npg_model_config *c) {
    memset(c, 0, sizeof *c);
    reader r = {p, len, NULL, false, NULL};
    uint32_t version = get_u32(&r, "version");
    if (!r.short_read && version != NPU_CONFIG_RECORD_VERSION)
        return npg_fail(NPG_ERR_UNSUPPORTED,
                        "%s: model-config record version %u, this build reads version %u; recompile with `npugen "
                        "compile`",
                        path, version, NPU_CONFIG_RECORD_VERSION);
    const char *bad = NULL;
    if (!get_str(&r, "arch_name", c->arch_name, sizeof c->arch_name))
        bad = "arch_name";
    int64_t *dims[] = {&c->hidden,   &c->n_layers, &c->n_heads, &c->n_kv_heads,
                       &c->head_dim, &c->ffn,      &c->vocab,   &c->max_pos};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        *dims[i] = get_i64(&r, "dimensions");
    c->norm_eps = get_f32(&r, "norm_eps");
    bool *flags[] = {&c->tie_embeddings, &c->qkv_bias,       &c->o_bias,    &c->mlp_bias,     &c->qk_norm,
                     &c->norm_plus_one,  &c->sandwich_norms, &c->fused_qkv, &c->fused_gate_up};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        *flags[i] = get_u8(&r, "switches");
    c->embed_scale = get_f32(&r, "embed_scale");
    c->attn_scale = get_f32(&r, "attn_scale");
    c->final_softcap = get_f32(&r, "final_softcap");
    c->attn_softcap = get_f32(&r, "attn_softcap");
    uint32_t act = get_u32(&r, "act");
    c->act = act == NPG_ACT_GELU_TANH ? NPG_ACT_GELU_TANH : NPG_ACT_SILU;
    if (act > NPG_ACT_GELU_TANH && !bad)
        bad = "act";
    c->rotary_dim = get_i64(&r, "rotary_dim");
    if (!get_rope(&r, &c->rope) && !bad)
        bad = "rope";
    if (!get_rope(&r, &c->rope_local) && !bad)
        bad = "rope_local";
    c->sliding_window = get_i64(&r, "sliding_window");
    if ((c->n_layers < 0 || c->n_layers > NPG_MAX_LAYERS) && !bad)
        bad = "n_layers";
    for (int64_t l = 0; !bad && l < c->n_layers; l++)
        c->layer_sliding[l] = get_u8(&r, "layer_sliding");
    c->bos_token_id = get_i64(&r, "bos_token_id");
    uint32_t n_eos = get_u32(&r, "n_eos");
    if (n_eos > 8 && !bad)
        bad = "n_eos";
    c->n_eos = bad ? 0 : (int)n_eos;
    for (int i = 0; i < c->n_eos; i++)
        c->eos_token_ids[i] = get_i64(&r, "eos_token_ids");
    if (!get_str(&r, "tensor_prefix", c->tensor_prefix, sizeof c->tensor_prefix) && !bad)
        bad = "tensor_prefix";
    if (!get_str(&r, "lm_head_name", c->lm_head_name, sizeof c->lm_head_name) && !bad)
        bad = "lm_head_name";
    if (r.short_read)
        return npg_fail(NPG_ERR_FORMAT, "%s: the model-config record ends inside field '%s'", path, r.field);
    if (r.not_bool)
        return npg_fail(NPG_ERR_FORMAT, "%s: the model-config record holds a flag in '%s' that is neither 0 nor 1 "
                                        "(malformed)", path, r.not_bool);
    if (bad)
        return npg_fail(NPG_ERR_FORMAT, "%s: the model-config record has an impossible '%s'", path, bad);
    if (r.left != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: the model-config record has %zu bytes past its last field", path, r.left);
    if (!npg_arch_lookup(c->arch_name, &c->arch))
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: the blob is for architecture '%s', which this build does not run",
                        path, c->arch_name);
    return NPG_OK;
}
