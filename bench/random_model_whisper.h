/* random_model_whisper.h — the Whisper presets of npg-random-model (included by random_model.c only:
 * every bench/NAME.c is its own program). A WhisperForConditionalGeneration folder at the real
 * dimensions of openai/whisper-tiny, -base and -small with random weights (F16 by default), HF
 * tensor names as ../shared/models/random-whisper (proj_out tied to decoder.embed_tokens, so not
 * stored), the real multilingual tokenizer files, the real preprocessor_config.json (80 mel bins),
 * and a generation_config.json in the layout of the published checkpoints: lang_to_id for the 99
 * language tokens of the tokenizer, task_to_id, OpenAI's suppress list and whisper-tiny's alignment
 * heads from ../shared/whisper-assets/ct2-whisper-tiny-config.json (base and small ship other
 * heads, not in ../shared: their folders leave alignment_heads out). */

/* config.json: the keys of ../shared/models/random-whisper/config.json at the preset's dimensions
 * (ffn 4 x d_model, as every Whisper size). */
static npg_status whisper_config_json(const preset *p, npg_dtype dt, npg_strbuf *sb) {
    return npg_strbuf_printf(sb,
                             "{\n"
                             "  \"architectures\": [\n"
                             "    \"WhisperForConditionalGeneration\"\n"
                             "  ],\n"
                             "  \"model_type\": \"whisper\",\n"
                             "  \"d_model\": %d,\n"
                             "  \"encoder_layers\": %d,\n"
                             "  \"decoder_layers\": %d,\n"
                             "  \"encoder_attention_heads\": %d,\n"
                             "  \"decoder_attention_heads\": %d,\n"
                             "  \"encoder_ffn_dim\": %d,\n"
                             "  \"decoder_ffn_dim\": %d,\n"
                             "  \"num_mel_bins\": %d,\n"
                             "  \"max_source_positions\": %d,\n"
                             "  \"max_target_positions\": %d,\n"
                             "  \"vocab_size\": %d,\n"
                             "  \"activation_function\": \"gelu\",\n"
                             "  \"scale_embedding\": false,\n"
                             "  \"tie_word_embeddings\": true,\n"
                             "  \"bos_token_id\": 50257,\n"
                             "  \"eos_token_id\": 50257,\n"
                             "  \"pad_token_id\": 50257,\n"
                             "  \"decoder_start_token_id\": 50258,\n"
                             "  \"begin_suppress_tokens\": [\n"
                             "    220,\n"
                             "    50257\n"
                             "  ],\n"
                             "  \"dropout\": 0.0,\n"
                             "  \"attention_dropout\": 0.0,\n"
                             "  \"activation_dropout\": 0.0,\n"
                             "  \"encoder_layerdrop\": 0.0,\n"
                             "  \"decoder_layerdrop\": 0.0,\n"
                             "  \"init_std\": 0.02,\n"
                             "  \"use_cache\": true,\n"
                             "  \"is_encoder_decoder\": true,\n"
                             "  \"num_hidden_layers\": %d,\n"
                             "  \"torch_dtype\": \"%s\",\n"
                             "  \"transformers_version\": \"4.44.2\"\n"
                             "}",
                             p->hidden, p->layers, p->layers, p->heads, p->heads, p->ffn, p->ffn, p->n_mels,
                             p->max_src, p->max_pos, p->vocab, p->layers, torch_dtype_name(dt));
}

typedef struct lang_entry {
    const char *token;
    int id;
} lang_entry;

static int cmp_lang(const void *a, const void *b) {
    return strcmp(((const lang_entry *)a)->token, ((const lang_entry *)b)->token);
}

/* `"key": [\n    a,\n    b\n  ]` from a JSON array of integers (or of pairs, for alignment_heads). */
static npg_status append_int_array(npg_strbuf *sb, const char *key, const cJSON *arr, bool pairs) {
    NPG_TRY(npg_strbuf_printf(sb, "  \"%s\": [\n", key));
    int n = cJSON_GetArraySize(arr);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(arr, i);
        const char *sep = i + 1 < n ? "," : "";
        if (pairs)
            NPG_TRY(npg_strbuf_printf(sb, "    [\n      %d,\n      %d\n    ]%s\n",
                                      cJSON_GetArrayItem(v, 0)->valueint, cJSON_GetArrayItem(v, 1)->valueint, sep));
        else
            NPG_TRY(npg_strbuf_printf(sb, "    %d%s\n", v->valueint, sep));
    }
    return npg_strbuf_append_str(sb, "  ],\n");
}

static bool int_array(const cJSON *arr, bool pairs) {
    if (!cJSON_IsArray(arr))
        return false;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (pairs ? !(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) &&
                      cJSON_IsNumber(cJSON_GetArrayItem(v, 1)))
                  : !cJSON_IsNumber(v))
            return false;
    }
    return true;
}

/* generation_config.json as transformers writes it (sorted keys). */
static npg_status whisper_generation_config_json(const options *o, npg_strbuf *sb) {
    npg_strbuf path = {0};
    cJSON *added = NULL, *ct2 = NULL;
    lang_entry langs[128];
    size_t n_langs = 0;
    npg_status st = npg_strbuf_printf(&path, "%s/tokenizers/%s/added_tokens.json", o->shared, o->p->tokenizer);
    if (st == NPG_OK)
        st = npg_json_parse_file(path.data, &added);
    if (st == NPG_OK) {
        /* the language tokens: <|en|> = 50259 .. <|su|> = 50357 */
        const cJSON *e;
        cJSON_ArrayForEach(e, added) {
            if (cJSON_IsNumber(e) && e->valueint >= 50259 && e->valueint <= 50357 && n_langs < 128)
                langs[n_langs++] = (lang_entry){e->string, e->valueint};
        }
        if (n_langs != 99)
            st = npg_fail(NPG_ERR_FORMAT, "%s: %zu language tokens in 50259..50357, expected 99", path.data, n_langs);
    }
    npg_strbuf_clear(&path);
    if (st == NPG_OK)
        st = npg_strbuf_printf(&path, "%s/whisper-assets/ct2-whisper-tiny-config.json", o->shared);
    if (st == NPG_OK)
        st = npg_json_parse_file(path.data, &ct2);
    const cJSON *heads = ct2 ? npg_json_get(ct2, "alignment_heads") : NULL;
    const cJSON *suppress = ct2 ? npg_json_get(ct2, "suppress_ids") : NULL;
    if (st == NPG_OK && (!int_array(heads, true) || !int_array(suppress, false)))
        st = npg_fail(NPG_ERR_FORMAT, "%s: alignment_heads or suppress_ids missing or not integers", path.data);
    qsort(langs, n_langs, sizeof langs[0], cmp_lang);
    if (st == NPG_OK)
        st = npg_strbuf_append_str(sb, "{\n");
    if (st == NPG_OK && strcmp(o->p->name, "whisper-tiny") == 0)
        st = append_int_array(sb, "alignment_heads", heads, true);
    if (st == NPG_OK)
        st = npg_strbuf_append_str(sb, "  \"begin_suppress_tokens\": [\n    220,\n    50257\n  ],\n"
                                       "  \"bos_token_id\": 50257,\n"
                                       "  \"decoder_start_token_id\": 50258,\n"
                                       "  \"eos_token_id\": 50257,\n"
                                       "  \"forced_decoder_ids\": [\n    [\n      1,\n      null\n    ],\n"
                                       "    [\n      2,\n      50359\n    ]\n  ],\n"
                                       "  \"is_multilingual\": true,\n"
                                       "  \"lang_to_id\": {\n");
    for (size_t i = 0; i < n_langs && st == NPG_OK; i++)
        st = npg_strbuf_printf(sb, "    \"%s\": %d%s\n", langs[i].token, langs[i].id, i + 1 < n_langs ? "," : "");
    if (st == NPG_OK)
        st = npg_strbuf_append_str(sb, "  },\n"
                                       "  \"max_initial_timestamp_index\": 50,\n"
                                       "  \"max_length\": 448,\n"
                                       "  \"no_timestamps_token_id\": 50363,\n"
                                       "  \"pad_token_id\": 50257,\n"
                                       "  \"prev_sot_token_id\": 50361,\n"
                                       "  \"return_timestamps\": false,\n");
    if (st == NPG_OK)
        st = append_int_array(sb, "suppress_tokens", suppress, false);
    if (st == NPG_OK)
        st = npg_strbuf_append_str(sb, "  \"task_to_id\": {\n    \"transcribe\": 50359,\n    \"translate\": 50358\n  },\n"
                                       "  \"transformers_version\": \"4.44.2\"\n}");
    cJSON_Delete(added);
    cJSON_Delete(ct2);
    npg_strbuf_free(&path);
    return st;
}

/* The Whisper tensors in model order: the encoder (conv front end, positions, layers, final norm),
 * then the decoder (token and position embeddings, layers, final norm). Linear weights 1/sqrt(fan_in),
 * LayerNorm weights about 1 and biases about 0; every k_proj has no bias (as in Whisper). */
static size_t whisper_tensor_list(const preset *p, tensor_spec *list) {
    size_t n = 0;
    const int64_t d = p->hidden, f = p->ffn;
    char name[96];
    add_tensor3(list, &n, "model.encoder.conv1.weight", d, p->n_mels, 3, 0.0f, 1.0f / sqrtf(3.0f * (float)p->n_mels));
    add_tensor(list, &n, "model.encoder.conv1.bias", d, 0, 0.0f, 0.05f);
    add_tensor3(list, &n, "model.encoder.conv2.weight", d, d, 3, 0.0f, 1.0f / sqrtf(3.0f * (float)d));
    add_tensor(list, &n, "model.encoder.conv2.bias", d, 0, 0.0f, 0.05f);
    add_tensor(list, &n, "model.encoder.embed_positions.weight", p->max_src, d, 0.0f, 0.5f);
    for (int side = 0; side < 2; side++) {
        const char *part = side == 0 ? "encoder" : "decoder";
        if (side == 1) {
            add_tensor(list, &n, "model.decoder.embed_tokens.weight", p->vocab, d, 0.0f, 1.0f / sqrtf((float)d));
            add_tensor(list, &n, "model.decoder.embed_positions.weight", p->max_pos, d, 0.0f, 1.0f / sqrtf((float)d));
        }
        for (int l = 0; l < p->layers; l++) {
#define WLAYER(suffix) (snprintf(name, sizeof name, "model.%s.layers.%d.%s", part, l, suffix), name)
            static const char *const attns[2] = {"self_attn", "encoder_attn"};
            for (int a = 0; a < 1 + side; a++) {
                char what[64];
                snprintf(what, sizeof what, "%s.q_proj.weight", attns[a]);
                add_linear(list, &n, WLAYER(what), d, d);
                snprintf(what, sizeof what, "%s.q_proj.bias", attns[a]);
                add_tensor(list, &n, WLAYER(what), d, 0, 0.0f, 0.05f);
                snprintf(what, sizeof what, "%s.k_proj.weight", attns[a]);
                add_linear(list, &n, WLAYER(what), d, d);
                snprintf(what, sizeof what, "%s.v_proj.weight", attns[a]);
                add_linear(list, &n, WLAYER(what), d, d);
                snprintf(what, sizeof what, "%s.v_proj.bias", attns[a]);
                add_tensor(list, &n, WLAYER(what), d, 0, 0.0f, 0.05f);
                snprintf(what, sizeof what, "%s.out_proj.weight", attns[a]);
                add_linear(list, &n, WLAYER(what), d, d);
                snprintf(what, sizeof what, "%s.out_proj.bias", attns[a]);
                add_tensor(list, &n, WLAYER(what), d, 0, 0.0f, 0.05f);
                snprintf(what, sizeof what, "%s_layer_norm.weight", attns[a]);
                add_tensor(list, &n, WLAYER(what), d, 0, 1.0f, 0.05f);
                snprintf(what, sizeof what, "%s_layer_norm.bias", attns[a]);
                add_tensor(list, &n, WLAYER(what), d, 0, 0.0f, 0.05f);
            }
            add_linear(list, &n, WLAYER("fc1.weight"), f, d);
            add_tensor(list, &n, WLAYER("fc1.bias"), f, 0, 0.0f, 0.05f);
            add_linear(list, &n, WLAYER("fc2.weight"), d, f);
            add_tensor(list, &n, WLAYER("fc2.bias"), d, 0, 0.0f, 0.05f);
            add_tensor(list, &n, WLAYER("final_layer_norm.weight"), d, 0, 1.0f, 0.05f);
            add_tensor(list, &n, WLAYER("final_layer_norm.bias"), d, 0, 0.0f, 0.05f);
#undef WLAYER
        }
        snprintf(name, sizeof name, "model.%s.layer_norm.weight", part);
        add_tensor(list, &n, name, d, 0, 1.0f, 0.05f);
        snprintf(name, sizeof name, "model.%s.layer_norm.bias", part);
        add_tensor(list, &n, name, d, 0, 0.0f, 0.05f);
    }
    return n;
}

/* preprocessor_config.json of ../shared/models/random-whisper (Whisper's 80-bin feature extractor),
 * byte for byte. */
static npg_status whisper_copy_preprocessor(const options *o, const char *dir) {
    npg_strbuf src = {0};
    NPG_TRY(npg_strbuf_printf(&src, "%s/models/random-whisper/preprocessor_config.json", o->shared));
    char *data = NULL;
    size_t len = 0;
    npg_status st = npg_read_file(src.data, &data, &len);
    if (st == NPG_OK)
        st = write_text(dir, "preprocessor_config.json", data, len);
    free(data);
    npg_strbuf_free(&src);
    return st;
}
