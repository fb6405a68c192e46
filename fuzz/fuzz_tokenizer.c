/* fuzz_tokenizer.c — tokenizer.json load, then encode and decode.
 *
 * Input: tokenizer.json bytes, optionally followed by "\0\0" and a UTF-8 text to encode (so the
 * fuzzer mutates both the vocabulary and the text; a NUL pair never occurs inside valid JSON). The
 * text is also encoded with and without special tokens, and the ids it gives, plus the first ids of
 * the vocabulary and a few out-of-range ones, are decoded. */
#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

static const char *const fixed_texts[] = {"Hello world! 123  tabs\there", "<s>[INST] caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd</s>",
                                          ""};

static void encode_decode(const npg_tokenizer *tok, const char *text, size_t len) {
    for (int add = 0; add < 2; add++) {
        int32_t *ids = NULL;
        size_t n = 0;
        npg_status st = npg_tokenizer_encode_n(tok, text, len, add, &ids, &n);
        fuzz_check_status(st);
        if (st != NPG_OK)
            continue;
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || (size_t)ids[i] >= npg_tokenizer_vocab_size(tok))
                abort(); /* encode only produces ids decode accepts */
        for (int skip = 0; skip < 2; skip++) {
            char *out = NULL;
            st = npg_tokenizer_decode(tok, ids, n, skip, &out);
            fuzz_check_status(st);
            npg_free(out);
        }
        npg_free(ids);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t json_len = size;
    const char *text = NULL;
    size_t text_len = 0;
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == 0 && data[i + 1] == 0) {
            json_len = i;
            text = (const char *)data + i + 2;
            text_len = size - i - 2;
            break;
        }
    char path[400];
    fuzz_write("tokenizer.json", data, json_len, path, sizeof path);
    npg_tokenizer *tok = NULL;
    npg_status st = npg_tokenizer_create(fuzz_dir(), &tok);
    fuzz_check_status(st);
    if (st != NPG_OK)
        return 0;
    if (text)
        encode_decode(tok, text, text_len);
    for (size_t i = 0; i < sizeof fixed_texts / sizeof *fixed_texts; i++)
        encode_decode(tok, fixed_texts[i], strlen(fixed_texts[i]));
    size_t vocab = npg_tokenizer_vocab_size(tok);
    int32_t ids[64];
    size_t n = vocab < 60 ? vocab : 60;
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)i;
    for (int skip = 0; skip < 2; skip++) {
        char *out = NULL;
        st = npg_tokenizer_decode(tok, ids, n, skip, &out);
        fuzz_check_status(st);
        if (st == NPG_OK)
            npg_free(out);
    }
    int32_t bad[3] = {-1, (int32_t)vocab, INT32_MAX};
    for (int i = 0; i < 3; i++) {
        char *out = NULL;
        st = npg_tokenizer_decode(tok, &bad[i], 1, false, &out);
        if (st == NPG_OK)
            abort(); /* out-of-range ids are refused */
        fuzz_check_status(st);
    }
    (void)npg_tokenizer_bos_token_id(tok);
    (void)npg_tokenizer_eos_token_id(tok);
    npg_tokenizer_free(tok);
    return 0;
}
