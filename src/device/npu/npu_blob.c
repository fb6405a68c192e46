/* npu_blob.c — writing and reading compiled NPU plans (format in npu_blob.h). */
#include "device/npu/npu_blob.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "device/npu/npu_verify.h"
#include "weights/weights.h"

enum { ALIGN = 64 };

static uint64_t align_up(uint64_t v) { return (v + ALIGN - 1) / ALIGN * ALIGN; }
static size_t pad8(size_t n) { return (n + 7) / 8 * 8; }

/* Runs a user callback; its output belongs to us (malloc'd, freed with free()). */
static npg_status run_crypt(npg_crypt_callback fn, void *user, const uint8_t *in, size_t n, uint8_t **out,
                            size_t *out_n, const char *what, const char *path) {
    *out = NULL;
    *out_n = 0;
    if (fn(user, in, n, out, out_n) != 0 || !*out) {
        free(*out);
        *out = NULL;
        return npg_fail(what[0] == 'd' ? NPG_ERR_CHECKSUM : NPG_ERR_IO,
                        "%s: the %s callback failed%s", path, what,
                        what[0] == 'd' ? " (wrong key, or the blob is corrupted)" : "");
    }
    return NPG_OK;
}

/* ---- writing ---------------------------------------------------------------------------------- */

static uint64_t tensor_hash(const void *data, uint64_t bytes, const float *scales, uint64_t n_scales) {
    npg_hash h;
    npg_hash_init(&h, 0);
    npg_hash_update(&h, data, bytes);
    if (n_scales)
        npg_hash_update(&h, scales, n_scales * sizeof(float));
    return npg_hash_final(&h);
}

static uint64_t weights_table_hash(const npu_blob_tensor *t, size_t n) {
    npg_hash h;
    npg_hash_init(&h, 0);
    for (size_t i = 0; i < n; i++)
        npg_hash_update(&h, &t[i].hash, sizeof t[i].hash);
    return npg_hash_final(&h);
}

typedef struct tensor_src {
    const void *data;
    const float *scales;
} tensor_src;

npg_status npu_blob_write(const char *path, const npu_plan *p, const npu_blob_info *info, const npg_properties *props) {
    npg_model *pm = (npg_model *)&p->model; /* enumerated, not written */
    size_t n_slots = info->with_weights ? npu_model_slots(pm, true, NULL, 0) : 0;
    npu_slot *slots = calloc(n_slots ? n_slots : 1, sizeof *slots);
    NPG_CHECK_ALLOC(slots);
    npu_model_slots(pm, true, slots, n_slots);
    /* the source config: the plan's config minus the fusion the layout added */
    npg_model_config src_cfg = p->model.cfg;
    if (p->layout.fuse_qkv)
        src_cfg.fused_qkv = false;
    if (p->layout.fuse_gate_up)
        src_cfg.fused_gate_up = false;
    uint8_t *record = NULL;
    size_t record_len = 0;
    npg_status rst = npu_config_record_write(&src_cfg, &record, &record_len);
    if (rst != NPG_OK) {
        free(slots);
        return rst;
    }
    size_t meta_plain = sizeof(npu_blob_meta) + pad8(record_len) + n_slots * sizeof(npu_blob_tensor);
    uint8_t *meta = calloc(1, meta_plain);
    tensor_src *src = calloc(n_slots ? n_slots : 1, sizeof *src);
    if (!meta || !src) {
        free(slots);
        free(meta);
        free(src);
        free(record);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory building the blob %s", path);
    }
    npu_blob_meta *m = (npu_blob_meta *)meta;
    m->cache_key = info->cache_key;
    m->source_hash = info->source_hash;
    m->source_bytes = info->source_bytes;
    memcpy(m->folder_id, info->folder_id, sizeof m->folder_id);
    m->req_max_prompt = p->cfg.req_max_prompt;
    m->req_min_response = p->cfg.req_min_response;
    m->req_chunk = p->cfg.req_chunk;
    m->max_prompt = p->cfg.max_prompt;
    m->min_response = p->cfg.min_response;
    m->context = p->cfg.context;
    m->prefill_rows = p->cfg.prefill_rows;
    m->static_prefill = p->cfg.static_prefill;
    m->best_perf = p->cfg.best_perf;
    m->fuse_qkv = p->layout.fuse_qkv;
    m->fuse_gate_up = p->layout.fuse_gate_up;
    m->to_f32 = p->layout.to_f32;
    m->with_weights = info->with_weights;
    m->isa = (int32_t)p->cfg.isa;
    m->config_bytes = (uint32_t)record_len;
    m->n_tensors = (uint32_t)n_slots;
    memcpy(meta + sizeof *m, record, record_len);
    free(record);
    npu_blob_tensor *tens = (npu_blob_tensor *)(meta + sizeof *m + pad8(record_len));
    uint64_t off = 0;
    npg_status st = NPG_OK;
    for (size_t i = 0; i < n_slots && st == NPG_OK; i++) {
        const npu_slot *s = &slots[i];
        npu_blob_tensor *t = &tens[i];
        st = npg_tensor_name(&p->model.cfg, s->role, s->layer, t->name, sizeof t->name);
        if (s->w) {
            t->type = (int32_t)s->w->type;
            t->n = s->w->n;
            t->k = s->w->k;
            t->group_size = s->w->group_size;
            t->data_bytes = npu_weight_data_bytes(s->w);
            t->scales_count = npu_weight_scale_count(s->w);
            src[i] = (tensor_src){s->w->data, s->w->scales};
        } else {
            t->type = NPG_W_F32;
            t->n = s->len;
            t->k = 1;
            t->data_bytes = (uint64_t)s->len * sizeof(float);
            src[i] = (tensor_src){*s->v, NULL};
        }
        t->data_offset = off;
        off = align_up(off + t->data_bytes);
        if (t->scales_count) {
            t->scales_offset = off;
            off = align_up(off + t->scales_count * sizeof(float));
        }
    }
    for (size_t i = 0; i < n_slots && st == NPG_OK; i++)
        tens[i].hash = tensor_hash(src[i].data, tens[i].data_bytes, src[i].scales, tens[i].scales_count);
    m->plain_hash = npg_hash64(meta + 8, meta_plain - 8, 0);

    uint8_t *stored = meta;
    size_t stored_n = meta_plain;
    bool encrypted = props && props->encrypt_fn;
    if (encrypted && st == NPG_OK)
        st = run_crypt(props->encrypt_fn, props->crypt_user, meta, meta_plain, &stored, &stored_n, "encrypt", path);

    npu_blob_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, NPU_BLOB_MAGIC, sizeof NPU_BLOB_MAGIC);
    h.version = NPU_BLOB_VERSION;
    h.flags = (info->with_weights ? NPU_BLOB_WEIGHTS : 0u) | (encrypted ? NPU_BLOB_ENCRYPTED : 0u);
    h.meta_size = stored_n;
    h.weights_offset = info->with_weights ? align_up(sizeof h + stored_n) : 0;
    h.weights_size = info->with_weights ? off : 0;
    if (st == NPG_OK) {
        h.meta_hash = npg_hash64(stored, stored_n, 0);
        if (info->with_weights)
            h.weights_hash = weights_table_hash(tens, n_slots);
        h.header_hash = npg_hash64(&h, offsetof(npu_blob_header, header_hash), 0);
    }

    npg_atomic_file af;
    memset(&af, 0, sizeof af);
    if (st == NPG_OK)
        st = npg_atomic_open(path, &af);
    static const uint8_t pad[ALIGN];
    if (st == NPG_OK)
        st = npg_atomic_write(&af, &h, sizeof h);
    if (st == NPG_OK)
        st = npg_atomic_write(&af, stored, stored_n);
    if (st == NPG_OK && info->with_weights) {
        uint64_t at = sizeof h + stored_n;
        st = npg_atomic_write(&af, pad, h.weights_offset - at);
        at = 0;
        for (size_t i = 0; i < n_slots && st == NPG_OK; i++) {
            st = npg_atomic_write(&af, pad, tens[i].data_offset - at);
            if (st == NPG_OK)
                st = npg_atomic_write(&af, src[i].data, tens[i].data_bytes);
            at = tens[i].data_offset + tens[i].data_bytes;
            if (st == NPG_OK && tens[i].scales_count) {
                st = npg_atomic_write(&af, pad, tens[i].scales_offset - at);
                if (st == NPG_OK)
                    st = npg_atomic_write(&af, src[i].scales, tens[i].scales_count * sizeof(float));
                at = tens[i].scales_offset + tens[i].scales_count * sizeof(float);
            }
        }
        if (st == NPG_OK)
            st = npg_atomic_write(&af, pad, off - at);
    }
    if (st == NPG_OK)
        st = npg_atomic_commit(&af);
    else
        npg_atomic_abort(&af);
    if (stored != meta)
        free(stored);
    free(meta);
    free(src);
    free(slots);
    return st;
}

/* ---- reading ---------------------------------------------------------------------------------- */

/* Booleans arrive as raw bytes (the config is stored as its in-memory image): any value but 0 or 1
 * in a bool object is undefined behaviour to load, so they are checked as bytes before the memcpy. */
/* The meta's flag bytes are 0 or 1 (the config record's booleans are checked as it is read). */
static bool bools_ok(const npu_blob_meta *m) {
    const uint8_t flags[] = {m->static_prefill, m->best_perf, m->fuse_qkv, m->fuse_gate_up, m->to_f32, m->with_weights};
    for (size_t i = 0; i < sizeof flags; i++)
        if (flags[i] > 1)
            return false;
    return true;
}

void npu_blob_close(npu_blob *b) {
    if (!b)
        return;
    npu_verify_free(b->verify); /* before the mapping it reads goes */
    npg_unmap_file(&b->map);
    free(b->meta);
    free(b->roles);
    free(b->layers);
    memset(b, 0, sizeof *b);
}

/* Tensor i: its name is one of the architecture's (resolved into roles[i], layers[i]), its size and
 * offsets agree with its type and shape and lie inside the weights section. */
static npg_status check_tensor(npu_blob *b, uint32_t i, const char *path) {
    const npu_blob_tensor *t = &b->tensors[i];
    if (memchr(t->name, '\0', sizeof t->name) == NULL)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor %u has an unterminated name", path, i);
    if (!npg_tensor_name_parse(&b->config, t->name, &b->roles[i], &b->layers[i]) || b->layers[i] >= b->config.n_layers)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' is not a tensor of %s", path, t->name, b->config.arch_name);
    if (t->type < 0 || t->type >= NPG_W_COUNT || t->n < 1 || t->k < 1)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' is malformed", path, t->name);
    bool vector = !npg_tensor_role_is_matrix(b->roles[i]);
    if (!vector && npg_quant_check((npg_wtype)t->type, t->n, t->k, t->group_size) != NPG_OK)
        return npg_fail_context(NPG_ERR_FORMAT, "%s: tensor '%s'", path, t->name);
    uint64_t want = vector ? (uint64_t)t->n * 4 : npg_quant_data_bytes((npg_wtype)t->type, t->n, t->k);
    uint64_t want_sc = vector ? 0 : (uint64_t)npg_quant_scale_count((npg_wtype)t->type, t->n, t->k, t->group_size);
    uint64_t size = b->header.weights_size;
    if (t->data_bytes != want || t->scales_count != want_sc || t->data_offset % ALIGN || t->scales_offset % ALIGN ||
        t->data_offset > size || t->data_bytes > size - t->data_offset ||
        (want_sc && (t->scales_offset > size || t->scales_count * 4 > size - t->scales_offset)))
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has inconsistent size or offsets", path, t->name);
    return NPG_OK;
}

/* Every tensor's bytes against its hash, one tensor per task. */
typedef struct verify_job {
    const npu_blob *b;
    const uint8_t *ws;
    _Atomic int bad; /* 1 + index of a tensor that does not match, 0 if none */
} verify_job;

static void verify_task(void *ctx, int task, int thread) {
    (void)thread;
    verify_job *j = ctx;
    const npu_blob_tensor *t = &j->b->tensors[task];
    uint64_t got = tensor_hash(j->ws + t->data_offset, t->data_bytes,
                               t->scales_count ? (const float *)(j->ws + t->scales_offset) : NULL, t->scales_count);
    if (got != t->hash)
        j->bad = task + 1;
}

static npg_status verify_weights(const npu_blob *b, int threads, const char *path) {
    npg_threadpool *pool = NULL;
    NPG_TRY(npg_threadpool_create(threads, &pool));
    verify_job job = {.b = b, .ws = b->map.data + b->header.weights_offset};
    job.bad = 0;
    npg_threadpool_run(pool, (int)b->m->n_tensors, verify_task, &job);
    npg_threadpool_free(pool);
    int bad = job.bad;
    if (bad)
        return npg_fail(NPG_ERR_CHECKSUM, "%s: tensor '%s' of the weights section does not match its checksum (corrupted)",
                        path, b->tensors[bad - 1].name);
    return NPG_OK;
}

static npg_status blob_open(const char *path, const npg_properties *props, int threads, bool deferred, npu_blob *out) {
    npu_blob b;
    memset(&b, 0, sizeof b);
    NPG_TRY(npg_map_file(path, &b.map));
    npg_status st = NPG_OK;
    const npu_blob_header *h = (const npu_blob_header *)b.map.data;
    if (b.map.size < sizeof *h || memcmp(h->magic, NPU_BLOB_MAGIC, sizeof NPU_BLOB_MAGIC) != 0)
        st = npg_fail(NPG_ERR_FORMAT, "%s: not an npugen NPU blob (%s)", path,
                      b.map.size < sizeof *h ? "shorter than its 64-byte header" : "bad magic");
    else if (npg_hash64(h, offsetof(npu_blob_header, header_hash), 0) != h->header_hash)
        st = npg_fail(NPG_ERR_CHECKSUM, "%s: the blob header does not match its checksum (corrupted)", path);
    else if (h->version != NPU_BLOB_VERSION)
        st = npg_fail(NPG_ERR_UNSUPPORTED,
                      "%s: blob format version %u, this build reads version %u; recompile with `npugen compile` (or "
                      "export it again with EXPORT_BLOB)",
                      path, h->version, NPU_BLOB_VERSION);
    if (st == NPG_OK) {
        b.header = *h;
        uint64_t end_meta = sizeof *h + h->meta_size;
        uint64_t end = (h->flags & NPU_BLOB_WEIGHTS) ? h->weights_offset + h->weights_size : end_meta;
        if (h->meta_size > b.map.size || end_meta > b.map.size || end > b.map.size ||
            ((h->flags & NPU_BLOB_WEIGHTS) && (h->weights_offset < end_meta || h->weights_offset % ALIGN)))
            st = npg_fail(NPG_ERR_FORMAT, "%s: truncated or malformed blob: its header describes %llu bytes, the file has %zu",
                          path, (unsigned long long)end, b.map.size);
        else if (npg_hash64(b.map.data + sizeof *h, h->meta_size, 0) != h->meta_hash)
            st = npg_fail(NPG_ERR_CHECKSUM, "%s: the blob's plan section does not match its checksum (corrupted)", path);
    }
    if (st == NPG_OK) {
        const uint8_t *stored = b.map.data + sizeof *h;
        if (h->flags & NPU_BLOB_ENCRYPTED) {
            if (!props || !props->decrypt_fn)
                st = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                              "%s: the blob is encrypted and no decrypt callback is set (CACHE_ENCRYPTION_CALLBACKS: "
                              "npg_properties_set_encryption_callbacks, or --encrypt-key-file in the CLI)",
                              path);
            else
                st = run_crypt(props->decrypt_fn, props->crypt_user, stored, h->meta_size, &b.meta, &b.meta_size,
                               "decrypt", path);
        } else {
            b.meta = malloc(h->meta_size ? h->meta_size : 1);
            b.meta_size = h->meta_size;
            if (!b.meta)
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
            else
                memcpy(b.meta, stored, h->meta_size);
        }
    }
    if (st == NPG_OK) {
        b.m = (const npu_blob_meta *)b.meta;
        if (b.meta_size < sizeof *b.m || npg_hash64(b.meta + 8, b.meta_size - 8, 0) != b.m->plain_hash)
            st = npg_fail(NPG_ERR_CHECKSUM, "%s: the blob's plan does not match its checksum (%s)", path,
                          (h->flags & NPU_BLOB_ENCRYPTED) ? "wrong decryption key, or corrupted" : "corrupted");
        else if (b.meta_size != sizeof *b.m + pad8(b.m->config_bytes) + (size_t)b.m->n_tensors * sizeof(npu_blob_tensor))
            st = npg_fail(NPG_ERR_FORMAT, "%s: the blob's plan section has %zu bytes, inconsistent with its %u tensors",
                          path, b.meta_size, b.m->n_tensors);
        else if (b.m->with_weights != ((h->flags & NPU_BLOB_WEIGHTS) != 0))
            st = npg_fail(NPG_ERR_FORMAT, "%s: the blob's weights flag disagrees with its plan", path);
        else if (b.m->isa < NPG_ISA_SCALAR || b.m->isa > NPG_ISA_AVX512)
            st = npg_fail(NPG_ERR_FORMAT, "%s: unknown kernel ISA %d", path, b.m->isa);
        else if ((npg_isa)b.m->isa > npg_isa_detect())
            st = npg_fail(NPG_ERR_UNSUPPORTED, "%s: the blob was compiled for %s kernels; this CPU supports %s", path,
                          npg_isa_name((npg_isa)b.m->isa), npg_isa_name(npg_isa_detect()));
    }
    if (st == NPG_OK && !bools_ok(b.m))
        st = npg_fail(NPG_ERR_FORMAT, "%s: the blob's plan holds a flag that is neither 0 nor 1 (malformed)", path);
    if (st == NPG_OK) {
        st = npu_config_record_read(b.meta + sizeof *b.m, b.m->config_bytes, path, &b.config);
        b.tensors = (const npu_blob_tensor *)(b.meta + sizeof *b.m + pad8(b.m->config_bytes));
        b.roles = calloc(b.m->n_tensors + 1, sizeof *b.roles);
        b.layers = calloc(b.m->n_tensors + 1, sizeof *b.layers);
        if (st == NPG_OK && (!b.roles || !b.layers))
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
    }
    if (st == NPG_OK) {
        const npg_model_config *c = &b.config;
        const npu_blob_meta *m = b.m;
        /* the checksum is not a signature: a crafted plan must still not drive the forward pass out of bounds */
        bool cfg_ok = c->n_layers >= 1 && c->n_layers <= NPG_MAX_LAYERS && c->hidden >= 1 && c->vocab >= 1 &&
                      c->n_heads >= 1 && c->n_kv_heads >= 1 && c->n_heads % c->n_kv_heads == 0 && c->head_dim >= 1 &&
                      c->ffn >= 1 && c->rotary_dim >= 0 && c->rotary_dim <= c->head_dim && c->rotary_dim % 2 == 0 &&
                      c->rope.n_factors >= 0 && c->rope.n_factors <= NPG_MAX_ROPE_FACTORS &&
                      c->rope_local.n_factors >= 0 && c->rope_local.n_factors <= NPG_MAX_ROPE_FACTORS &&
                      c->rotary_dim / 2 <= NPG_MAX_ROPE_FACTORS * 2 && c->sliding_window >= 0 && c->n_eos >= 0 &&
                      c->n_eos <= 8 && (int)c->arch >= 0 && c->arch < NPG_ARCH_COUNT;
        cfg_ok = cfg_ok && (int)c->act >= NPG_ACT_SILU && c->act <= NPG_ACT_GELU_TANH &&
                 (int)c->rope.type >= NPG_ROPE_DEFAULT && c->rope.type <= NPG_ROPE_LONGROPE &&
                 (int)c->rope_local.type >= NPG_ROPE_DEFAULT && c->rope_local.type <= NPG_ROPE_LONGROPE;
        /* each part bounded before the sum: max_prompt + min_response must not overflow */
        if (!cfg_ok || m->prefill_rows < 1 || m->max_prompt < 1 || m->min_response < 1 || m->max_prompt > (1 << 21) ||
            m->min_response > (1 << 21) || m->context != m->max_prompt + m->min_response ||
            m->prefill_rows > m->max_prompt || m->context > (1 << 21))
            st = npg_fail(NPG_ERR_FORMAT, "%s: the blob's plan has impossible shapes or model config", path);
        for (uint32_t i = 0; i < m->n_tensors && st == NPG_OK; i++)
            st = check_tensor(&b, i, path);
        if (st == NPG_OK && m->n_tensors && weights_table_hash(b.tensors, m->n_tensors) != h->weights_hash)
            st = npg_fail(NPG_ERR_CHECKSUM, "%s: the blob's tensor table does not match its header (corrupted)", path);
        if (st == NPG_OK && m->n_tensors && !(deferred && m->with_weights))
            st = verify_weights(&b, threads, path);
    }
    if (st != NPG_OK) {
        npu_blob_close(&b);
        return st;
    }
    *out = b;
    if (deferred && b.m->with_weights && b.m->n_tensors) {
        /* started on *out: the verifier keeps a pointer to the blob */
        st = npu_verify_start(out, path, threads, &out->verify);
        if (st != NPG_OK)
            npu_blob_close(out);
    }
    return st;
}

npg_status npu_blob_open(const char *path, const npg_properties *props, int threads, npu_blob *out) {
    return blob_open(path, props, threads, false, out);
}

npg_status npu_blob_open_deferred(const char *path, const npg_properties *props, int threads, npu_blob *out) {
    return blob_open(path, props, threads, true, out);
}

npg_status npu_blob_plan(const npu_blob *b, const npu_config *base, npu_plan **out) {
    const npu_blob_meta *m = b->m;
    npu_config cfg = *base;
    cfg.req_max_prompt = m->req_max_prompt;
    cfg.req_min_response = m->req_min_response;
    cfg.req_chunk = m->req_chunk;
    cfg.max_prompt = m->max_prompt;
    cfg.min_response = m->min_response;
    cfg.context = m->context;
    cfg.prefill_rows = m->prefill_rows;
    cfg.static_prefill = m->static_prefill;
    cfg.best_perf = m->best_perf;
    cfg.isa = (npg_isa)m->isa;
    cfg.with_weights = m->with_weights;
    npu_layout layout = {.fuse_qkv = m->fuse_qkv, .fuse_gate_up = m->fuse_gate_up, .to_f32 = m->to_f32};
    npu_plan *p = NULL;
    NPG_TRY(npu_plan_create(&cfg, &layout, &b->config, &p));
    const uint8_t *ws = b->map.data + b->header.weights_offset;
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const npu_blob_tensor *t = &b->tensors[i];
        npu_slot s;
        if (!npu_model_slot(&p->model, b->roles[i], b->layers[i], &s) || (s.w && t->k < 1) || (s.v && t->n != s.len)) {
            npu_plan_free(p);
            return npg_fail(NPG_ERR_FORMAT, "blob tensor '%s' does not fit the model's config", t->name);
        }
        if (s.w) {
            *s.w = (npg_weight){.type = (npg_wtype)t->type, .n = t->n, .k = t->k, .group_size = t->group_size,
                                .data = ws + t->data_offset,
                                .scales = t->scales_count ? (const float *)(ws + t->scales_offset) : NULL};
        } else {
            *s.v = (float *)(ws + t->data_offset); /* read-only mapping: the forward pass never writes weights */
        }
    }
    if (m->with_weights) {
        if (!p->model.lm_head.data)
            p->model.lm_head = p->model.embed; /* tied */
        if (!p->model.embed.data || !p->model.final_norm) {
            npu_plan_free(p);
            return npg_fail(NPG_ERR_FORMAT, "blob with weights lacks the embedding or the final norm");
        }
    }
    *out = p;
    return NPG_OK;
}
