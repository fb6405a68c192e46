/* test_tokenizer_errors.c — inputs the tokenizer must refuse with a clear message (never a crash):
 * a missing folder or tokenizer.json, malformed JSON, unsupported model / normalizer / pre-tokenizer
 * / decoder types, broken merges, invalid UTF-8 text, out-of-range ids; plus small hand-made
 * tokenizers that exercise options the vendor files do not use (added-token flags, Metaspace,
 * Whitespace / Digits / Punctuation, Strip, continuing_subword_prefix, no decoder). Also prints the
 * gemma3 load time (not asserted: timing is never a test). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "tokenizer/tokenizer.h"

static char *g_dir; /* a temp folder holding the tokenizer.json under test */

static void write_tokenizer(const char *json) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizer.json", g_dir);
    write_file(path, json, strlen(json));
}

/* Loads g_dir expecting failure `want`; the message must contain every fragment given. */
static bool load_fails(npg_status want, const char *frag1, const char *frag2) {
    npg_tokenizer *tok = NULL;
    npg_status st = npg_tokenizer_create(g_dir, &tok);
    const char *msg = npg_last_error();
    bool ok = st == want && tok == NULL && strstr(msg, frag1) && (!frag2 || strstr(msg, frag2));
    if (!ok)
        fprintf(stderr, "  expected %s with '%s'%s%s, got %s: %s\n", npg_status_name(want), frag1, frag2 ? " and " : "",
                frag2 ? frag2 : "", npg_status_name(st), msg);
    npg_tokenizer_free(tok);
    return ok;
}

/* A minimal byte-level-free BPE over a b c ab abc, with the given extra top-level members. */
static void write_bpe(const char *model_extra, const char *rest) {
    char json[8192];
    snprintf(json, sizeof json,
             "{\"version\": \"1.0\", %s \"model\": {\"type\": \"BPE\", %s \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2, "
             "\"ab\": 3, \"abc\": 4, \"<unk>\": 5, \"\\u2581\": 6, \"\\u2581a\": 7, \"1\": 8, \"!\": 9}, "
             "\"merges\": [\"a b\", \"ab c\", \"\\u2581 a\"]}}",
             rest, model_extra);
    write_tokenizer(json);
}

static void test_missing_and_malformed(void) {
    npg_tokenizer *tok = NULL;
    CHECK(npg_tokenizer_create("/nonexistent/npugen-tok", &tok) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "/nonexistent/npugen-tok/tokenizer.json") != NULL);
    CHECK(npg_tokenizer_create(NULL, &tok) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_tokenizer_create(g_dir, NULL) == NPG_ERR_INVALID_ARGUMENT);
    /* an empty folder */
    CHECK(load_fails(NPG_ERR_NOT_FOUND, "tokenizer.json", NULL));
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,}");
    CHECK(load_fails(NPG_ERR_FORMAT, "tokenizer.json", "malformed JSON"));
    write_tokenizer("[1, 2]");
    CHECK(load_fails(NPG_ERR_FORMAT, "tokenizer.json", "object"));
    write_tokenizer("{\"normalizer\": null}");
    CHECK(load_fails(NPG_ERR_FORMAT, "tokenizer.json", "'model'"));
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -3}, \"merges\": []}}");
    CHECK(load_fails(NPG_ERR_FORMAT, "model.vocab['a']", NULL));
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}");
    CHECK(load_fails(NPG_ERR_FORMAT, "model.vocab['a']", NULL));
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}");
    CHECK(load_fails(NPG_ERR_FORMAT, "merge 0 gives 'ab'", NULL));
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a z\"]}}");
    CHECK(load_fails(NPG_ERR_FORMAT, "'z', which is not in the vocab", NULL));
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}");
    CHECK(load_fails(NPG_ERR_FORMAT, "two tokens", NULL));
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [7]}}");
    CHECK(load_fails(NPG_ERR_FORMAT, "merge 0", NULL));
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
    CHECK(load_fails(NPG_ERR_FORMAT, "empty", NULL));
}

static void test_unsupported_types(void) {
    write_tokenizer("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}, \"unk_token\": \"[UNK]\"}}");
    CHECK(load_fails(NPG_ERR_UNSUPPORTED, "tokenizer.json", "'WordPiece'"));
    write_tokenizer("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", -1.0]]}}");
    CHECK(load_fails(NPG_ERR_UNSUPPORTED, "tokenizer.json", "'Unigram'"));
    write_tokenizer("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}}");
    CHECK(load_fails(NPG_ERR_UNSUPPORTED, "tokenizer.json", "'WordLevel'"));
    write_bpe("", "\"normalizer\": {\"type\": \"BertNormalizer\"},");
    CHECK(load_fails(NPG_ERR_UNSUPPORTED, "normalizer type 'BertNormalizer'", NULL));
    write_bpe("", "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},");
    CHECK(load_fails(NPG_ERR_UNSUPPORTED, "pre-tokenizer type 'BertPreTokenizer'", NULL));
    write_bpe("", "\"decoder\": {\"type\": \"WordPiece\"},");
    CHECK(load_fails(NPG_ERR_UNSUPPORTED, "decoder type 'WordPiece'", NULL));
    write_bpe("", "\"post_processor\": {\"type\": \"Foo\"},");
    CHECK(load_fails(NPG_ERR_UNSUPPORTED, "post-processor type 'Foo'", NULL));
    write_bpe("", "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a\"}, \"behavior\": "
                  "\"Isolated\"},");
    CHECK(load_fails(NPG_ERR_FORMAT, "regex '(a'", NULL));
    write_bpe("", "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Sideways\"},");
    CHECK(load_fails(NPG_ERR_FORMAT, "split behavior 'Sideways'", NULL));
}

static void test_bad_text_and_ids(void) {
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/tinyllama-chat"), &tok));
    int32_t *ids = NULL;
    size_t n = 0;
    static const char *const bad[] = {"abc\xFF", "\xC3", "a\xED\xA0\x80z", "\xF4\x90\x80\x80", "\xC0\xAF"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(npg_tokenizer_encode(tok, bad[i], true, &ids, &n) == NPG_ERR_INVALID_ARGUMENT);
        CHECK(strstr(npg_last_error(), "UTF-8") != NULL);
    }
    CHECK(npg_tokenizer_encode(tok, NULL, true, &ids, &n) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_tokenizer_encode_n(tok, "ab\0cd", 5, false, &ids, &n) == NPG_OK); /* NUL is a character */
    CHECK(n > 0);
    npg_free(ids);
    /* empty text: only the specials */
    REQUIRE_OK(npg_tokenizer_encode(tok, "", true, &ids, &n));
    CHECK(n == 1 && ids[0] == 1);
    npg_free(ids);
    REQUIRE_OK(npg_tokenizer_encode(tok, "", false, &ids, &n));
    CHECK(n == 0);
    npg_free(ids);
    char *text = NULL;
    int32_t bad_ids[] = {1, 32000};
    CHECK(npg_tokenizer_decode(tok, bad_ids, 2, false, &text) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "32000") != NULL);
    bad_ids[1] = -5;
    CHECK(npg_tokenizer_decode(tok, bad_ids, 2, false, &text) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_tokenizer_decode(tok, NULL, 0, false, &text) == NPG_OK && strcmp(text, "") == 0);
    npg_free(text);
    npg_tokenizer_free(tok);
    npg_tokenizer_free(NULL);
    CHECK(npg_tokenizer_vocab_size(NULL) == 0 && npg_tokenizer_bos_token_id(NULL) == -1);
}

static bool encodes_to(const npg_tokenizer *tok, const char *text, bool special, const int32_t *want, size_t n_want) {
    int32_t *ids = NULL;
    size_t n = 0;
    if (npg_tokenizer_encode(tok, text, special, &ids, &n) != NPG_OK) {
        fprintf(stderr, "  encode '%s': %s\n", text, npg_last_error());
        return false;
    }
    bool ok = n == n_want && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
    if (!ok) {
        fprintf(stderr, "  encode '%s' gave", text);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    npg_free(ids);
    return ok;
}

static bool decodes_to(const npg_tokenizer *tok, const int32_t *ids, size_t n, bool skip, const char *want) {
    char *text = NULL;
    if (npg_tokenizer_decode(tok, ids, n, skip, &text) != NPG_OK)
        return false;
    bool ok = strcmp(text, want) == 0;
    if (!ok)
        fprintf(stderr, "  decode gave '%s', want '%s'\n", text, want);
    npg_free(text);
    return ok;
}

/* Hand-made tokenizers for options the vendor files do not exercise. */
static void test_small_tokenizers(void) {
    npg_tokenizer *tok = NULL;
    /* Metaspace pre-tokenizer + decoder, unk fused, added tokens with lstrip / rstrip / single_word */
    write_bpe("\"unk_token\": \"<unk>\", \"fuse_unk\": true,",
              "\"added_tokens\": [{\"id\": 10, \"content\": \"<x>\", \"special\": true, \"lstrip\": true, "
              "\"rstrip\": true}, {\"id\": 11, \"content\": \"cc\", \"special\": false, \"single_word\": true, "
              "\"normalized\": false}],"
              "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": "
              "\"first\", \"split\": true},"
              "\"decoder\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": \"first\"},"
              "\"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"<x>\", 10], \"sep\": [\"!\", 9]},");
    REQUIRE_OK(npg_tokenizer_create(g_dir, &tok));
    CHECK(encodes_to(tok, "abc", false, (int32_t[]){6, 4}, 2));           /* a+b, ab+c rank before ▁+a */
    CHECK(encodes_to(tok, "ab zz", false, (int32_t[]){6, 3, 6, 5}, 4));   /* zz: one fused unk */
    /* <x> eats the spaces on both sides; "first": only the piece at offset 0 gets a ▁ */
    CHECK(encodes_to(tok, "a  <x>  a", false, (int32_t[]){7, 10, 0}, 3));
    CHECK(encodes_to(tok, "a cc", false, (int32_t[]){7, 6, 11}, 3));     /* single word: matched */
    CHECK(encodes_to(tok, "acc", false, (int32_t[]){7, 2, 2}, 3));        /* inside a word: not */
    CHECK(encodes_to(tok, "a", true, (int32_t[]){10, 7, 9}, 3));          /* BertProcessing */
    CHECK(decodes_to(tok, (int32_t[]){7, 6, 7}, 3, false, "a  a")); /* the first token loses its ▁ */
    CHECK(decodes_to(tok, (int32_t[]){10, 7, 9}, 3, true, "a!"));
    npg_tokenizer_free(tok);

    /* Whitespace + Digits + Punctuation splitting; Strip and Fuse decoders; no-decoder join */
    write_bpe("",
              "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Strip\", \"strip_left\": true, "
              "\"strip_right\": true}, {\"type\": \"Lowercase\"}]},"
              "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Whitespace\"}, "
              "{\"type\": \"Digits\", \"individual_digits\": true}, {\"type\": \"Punctuation\", \"behavior\": "
              "\"Isolated\"}]},");
    REQUIRE_OK(npg_tokenizer_create(g_dir, &tok));
    CHECK(encodes_to(tok, "  AB!c 11  ", false, (int32_t[]){3, 9, 2, 8, 8}, 5));
    CHECK(decodes_to(tok, (int32_t[]){3, 9, 2}, 3, false, "ab ! c")); /* no decoder: joined by spaces */
    npg_tokenizer_free(tok);

    /* continuing_subword_prefix in merges */
    write_tokenizer("{\"model\": {\"type\": \"BPE\", \"continuing_subword_prefix\": \"##\", \"vocab\": {\"a\": 0, "
                    "\"##b\": 1, \"ab\": 2, \"b\": 3}, \"merges\": [\"a ##b\"]}, \"pre_tokenizer\": {\"type\": "
                    "\"WhitespaceSplit\"}}");
    REQUIRE_OK(npg_tokenizer_create(g_dir, &tok));
    CHECK(encodes_to(tok, "ab b", false, (int32_t[]){2, 3}, 2));
    npg_tokenizer_free(tok);

    /* merges in the ["a", "b"] form, read by the cJSON path (vocab after merges) */
    write_tokenizer("{\"model\": {\"merges\": [[\"a\", \"b\"]], \"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, "
                    "\"ab\": 2}}}");
    REQUIRE_OK(npg_tokenizer_create(g_dir, &tok));
    CHECK(encodes_to(tok, "abab", false, (int32_t[]){2, 2}, 2));
    npg_tokenizer_free(tok);
}

/* tokenizer_config.json: {"content": ...} token objects, chat_template as a list, add_bos_token
 * without a post-processor. */
static void test_config(void) {
    write_bpe("", "");
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", g_dir);
    const char *cfg = "{\"bos_token\": {\"content\": \"a\", \"lstrip\": false}, \"eos_token\": \"b\", \"add_bos_token\": "
                      "true, \"add_eos_token\": true, \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, "
                      "{\"name\": \"default\", \"template\": \"D\"}]}";
    write_file(path, cfg, strlen(cfg));
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(g_dir, &tok));
    CHECK(strcmp(npg_tokenizer_bos_token(tok), "a") == 0 && npg_tokenizer_bos_token_id(tok) == 0);
    CHECK(strcmp(npg_tokenizer_eos_token(tok), "b") == 0 && npg_tokenizer_eos_token_id(tok) == 1);
    CHECK(npg_tokenizer_pad_token(tok) == NULL);
    CHECK(strcmp(npg_tokenizer_chat_template(tok), "D") == 0);
    CHECK(npg_tokenizer_adds_bos(tok));
    CHECK(encodes_to(tok, "c", true, (int32_t[]){0, 2, 1}, 3));
    npg_tokenizer_free(tok);
    write_file(path, "{\"chat_template\": 5}", 20);
    CHECK(load_fails(NPG_ERR_FORMAT, "tokenizer_config.json", "chat_template"));
    write_file(path, "{oops", 5);
    CHECK(load_fails(NPG_ERR_FORMAT, "tokenizer_config.json", "malformed"));
    remove(path);
}

static void test_gemma3_load_time(void) {
    struct timespec a, b;
    npg_tokenizer *tok = NULL;
    clock_gettime(CLOCK_MONOTONIC, &a);
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/gemma3"), &tok));
    clock_gettime(CLOCK_MONOTONIC, &b);
    fprintf(stderr, "  gemma3 tokenizer.json (33 MB, 262k tokens) loaded in %.3f s\n",
            (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec));
    CHECK(npg_tokenizer_vocab_size(tok) == 262145);
    CHECK(npg_tokenizer_bos_token_id(tok) == 2);
    npg_tokenizer_free(tok);
}

int main(void) {
    g_dir = make_temp_dir();
    RUN(test_missing_and_malformed);
    RUN(test_unsupported_types);
    RUN(test_bad_text_and_ids);
    RUN(test_small_tokenizers);
    RUN(test_config);
    RUN(test_gemma3_load_time);
    rm_rf(g_dir);
    free(g_dir);
    return npg_test_summary();
}
