/* test_generation_config.c — defaults, generation_config.json (every shared model + malformed
 * files), clone, setters on NULL, validate messages, stop-id sets, and stop-string hold-back. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "pipeline/sampler.h"
#include "pipeline/stop_strings.h"
#include "testutil.h"

static bool msg_has(const char *needle) {
    bool ok = strstr(npg_last_error(), needle) != NULL;
    if (!ok)
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", npg_last_error(), needle);
    return ok;
}

static void test_defaults(void) {
    npg_generation_config *c = NULL;
    REQUIRE_OK(npg_generation_config_create(&c));
    CHECK(c->max_new_tokens == SIZE_MAX && c->max_length == SIZE_MAX && c->min_new_tokens == 0);
    CHECK(!c->do_sample && c->temperature == 1.0f && c->top_k == 0 && c->top_p == 1.0f && c->min_p == 0.0f);
    CHECK(c->rng_seed == 0 && c->repetition_penalty == 1.0f);
    CHECK(c->presence_penalty == 0.0f && c->frequency_penalty == 0.0f);
    CHECK(c->n_eos == 0 && c->n_stop_ids == 0 && c->n_stop_strings == 0);
    CHECK(!c->include_stop_str_in_output && !c->ignore_eos && !c->echo && c->num_return_sequences == 1);
    size_t mnt = 0;
    bool ds = true;
    float t = 0.0f;
    REQUIRE_OK(npg_generation_config_get_max_new_tokens(c, &mnt));
    REQUIRE_OK(npg_generation_config_get_do_sample(c, &ds));
    REQUIRE_OK(npg_generation_config_get_temperature(c, &t));
    CHECK(mnt == SIZE_MAX && !ds && t == 1.0f);
    REQUIRE_OK(npg_generation_config_validate(c));
    npg_generation_config_free(c);
    npg_generation_config_free(NULL);
}

static void test_null_handles(void) {
    const npg_status E = NPG_ERR_INVALID_ARGUMENT;
    CHECK(npg_generation_config_create(NULL) == E);
    CHECK(npg_generation_config_set_max_new_tokens(NULL, 1) == E);
    CHECK(msg_has("NULL"));
    CHECK(npg_generation_config_set_max_length(NULL, 1) == E);
    CHECK(npg_generation_config_set_min_new_tokens(NULL, 1) == E);
    CHECK(npg_generation_config_set_do_sample(NULL, true) == E);
    CHECK(npg_generation_config_set_temperature(NULL, 1.0f) == E);
    CHECK(npg_generation_config_set_top_k(NULL, 1) == E);
    CHECK(npg_generation_config_set_top_p(NULL, 0.5f) == E);
    CHECK(npg_generation_config_set_min_p(NULL, 0.5f) == E);
    CHECK(npg_generation_config_set_rng_seed(NULL, 1) == E);
    CHECK(npg_generation_config_set_repetition_penalty(NULL, 1.0f) == E);
    CHECK(npg_generation_config_set_presence_penalty(NULL, 0.0f) == E);
    CHECK(npg_generation_config_set_frequency_penalty(NULL, 0.0f) == E);
    CHECK(npg_generation_config_set_eos_token_id(NULL, 2) == E);
    CHECK(npg_generation_config_add_eos_token_id(NULL, 2) == E);
    CHECK(npg_generation_config_set_stop_token_ids(NULL, NULL, 0) == E);
    CHECK(npg_generation_config_set_stop_strings(NULL, NULL, 0) == E);
    CHECK(npg_generation_config_set_include_stop_str_in_output(NULL, true) == E);
    CHECK(npg_generation_config_set_ignore_eos(NULL, true) == E);
    CHECK(npg_generation_config_set_echo(NULL, true) == E);
    CHECK(npg_generation_config_set_num_return_sequences(NULL, 1) == E);
    size_t z = 0;
    bool b = false;
    float f = 0.0f;
    CHECK(npg_generation_config_get_max_new_tokens(NULL, &z) == E);
    CHECK(npg_generation_config_get_do_sample(NULL, &b) == E);
    CHECK(npg_generation_config_get_temperature(NULL, &f) == E);
    CHECK(npg_generation_config_validate(NULL) == E);
    npg_generation_config *out = NULL;
    CHECK(npg_generation_config_clone(NULL, &out) == E);
    CHECK(npg_generation_config_create_from_json(NULL, &out) == E);
    npg_generation_config *c = NULL;
    REQUIRE_OK(npg_generation_config_create(&c));
    CHECK(npg_generation_config_get_temperature(c, NULL) == E);
    CHECK(npg_generation_config_set_stop_strings(c, NULL, 2) == E);
    const char *with_null[] = {"a", NULL};
    CHECK(npg_generation_config_set_stop_strings(c, with_null, 2) == E);
    CHECK(msg_has("stop_strings[1]"));
    CHECK(c->n_stop_strings == 0); /* a failed set leaves the old value */
    npg_generation_config_free(c);
}

static bool has_eos(const npg_generation_config *c, int64_t id) {
    for (size_t i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] == id)
            return true;
    return false;
}

/* Every shared model's generation_config.json loads and validates; a few known values. */
static void test_from_json_shared_models(void) {
    const char *dir = shared_path("models");
    DIR *d = opendir(dir);
    REQUIRE(d != NULL);
    size_t loaded = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "models/%s/generation_config.json", e->d_name);
        const char *path = shared_path(rel);
        if (!npg_path_exists(path))
            continue;
        npg_generation_config *c = NULL;
        npg_status st = npg_generation_config_create_from_json(path, &c);
        if (st != NPG_OK)
            fprintf(stderr, "  %s: %s\n", path, npg_last_error());
        CHECK(st == NPG_OK);
        if (st != NPG_OK)
            continue;
        CHECK(npg_generation_config_validate(c) == NPG_OK);
        CHECK(c->n_eos >= 1);
        CHECK(!c->do_sample); /* none of them asks for sampling */
        if (strcmp(e->d_name, "stories260K") == 0)
            CHECK(c->n_eos == 1 && c->eos_token_ids[0] == 2 && c->max_length == 512 && c->max_new_tokens == SIZE_MAX);
        if (strcmp(e->d_name, "random-gemma3-vlm") == 0)
            CHECK(c->n_eos == 2 && has_eos(c, 1) && has_eos(c, 106) && c->max_length == SIZE_MAX);
        if (strcmp(e->d_name, "random-whisper") == 0)
            CHECK(c->n_eos == 1 && c->eos_token_ids[0] == 50257 && c->max_length == 448);
        npg_generation_config_free(c);
        loaded++;
    }
    closedir(d);
    CHECK(loaded >= 10);
}

/* Writes `json` to a temporary generation_config.json and loads it. */
static npg_status load_json_text(const char *json, npg_generation_config **out, char **dir_out) {
    char *dir = make_temp_dir();
    char *path = npg_path_join(dir, "generation_config.json");
    write_file(path, json, strlen(json));
    npg_status st = npg_generation_config_create_from_json(path, out);
    free(path);
    *dir_out = dir;
    return st;
}

static void expect_format_error(const char *json, const char *key) {
    npg_generation_config *c = NULL;
    char *dir = NULL;
    npg_status st = load_json_text(json, &c, &dir);
    CHECK(st == NPG_ERR_FORMAT);
    CHECK(msg_has("generation_config.json"));
    if (key)
        CHECK(msg_has(key));
    if (st == NPG_OK)
        npg_generation_config_free(c);
    rm_rf(dir);
    free(dir);
}

static void test_from_json_keys_and_errors(void) {
    const char *full = "{\"max_new_tokens\": 77, \"max_length\": 300, \"min_new_tokens\": 3, \"do_sample\": true,"
                       " \"temperature\": 0.7, \"top_k\": 40, \"top_p\": 0.9, \"min_p\": 0.05,"
                       " \"repetition_penalty\": 1.1, \"eos_token_id\": [5, 6, 5], \"bos_token_id\": 1,"
                       " \"pad_token_id\": 0, \"presence_penalty\": 0.5, \"frequency_penalty\": -0.5,"
                       " \"stop_strings\": [\"\\n\\n\", \"###\"], \"stop_token_ids\": [9],"
                       " \"include_stop_str_in_output\": true, \"ignore_eos\": false, \"echo\": true,"
                       " \"num_return_sequences\": 2, \"rng_seed\": 1234, \"something_new\": {\"x\": [1]},"
                       " \"cache_implementation\": \"hybrid\", \"suppress_tokens\": null}";
    npg_generation_config *c = NULL;
    char *dir = NULL;
    npg_status st = load_json_text(full, &c, &dir);
    rm_rf(dir);
    free(dir);
    REQUIRE_OK(st);
    CHECK(c->max_new_tokens == 77 && c->max_length == 300 && c->min_new_tokens == 3 && c->do_sample);
    CHECK(c->temperature == 0.7f && c->top_k == 40 && c->top_p == 0.9f && c->min_p == 0.05f);
    CHECK(c->repetition_penalty == 1.1f && c->presence_penalty == 0.5f && c->frequency_penalty == -0.5f);
    CHECK(c->n_eos == 2 && c->eos_token_ids[0] == 5 && c->eos_token_ids[1] == 6); /* a set */
    CHECK(c->n_stop_strings == 2 && strcmp(c->stop_strings[0], "\n\n") == 0 && strcmp(c->stop_strings[1], "###") == 0);
    CHECK(c->n_stop_ids == 1 && c->stop_token_ids[0] == 9);
    CHECK(c->include_stop_str_in_output && !c->ignore_eos && c->echo && c->num_return_sequences == 2);
    CHECK(c->rng_seed == 1234);
    CHECK(npg_generation_config_validate(c) == NPG_OK);
    npg_generation_config_free(c);

    /* null values keep the defaults */
    REQUIRE_OK(load_json_text("{\"top_k\": null, \"temperature\": null, \"eos_token_id\": null}", &c, &dir));
    rm_rf(dir);
    free(dir);
    CHECK(c->top_k == 0 && c->temperature == 1.0f && c->n_eos == 0);
    npg_generation_config_free(c);

    expect_format_error("{\"top_k\": 50,\n \"temperature\": }", NULL);
    CHECK(msg_has("malformed JSON at line 2"));
    expect_format_error("{\"temperature\": \"hot\"}", "'temperature'");
    expect_format_error("{\"do_sample\": 1}", "'do_sample'");
    expect_format_error("{\"top_k\": 2.5}", "'top_k'");
    expect_format_error("{\"max_new_tokens\": -4}", "'max_new_tokens'");
    expect_format_error("{\"eos_token_id\": \"</s>\"}", "'eos_token_id'");
    expect_format_error("{\"eos_token_id\": [1, \"x\"]}", "'eos_token_id'");
    expect_format_error("{\"eos_token_id\": [1, -3]}", "'eos_token_id'");
    expect_format_error("{\"stop_strings\": \"###\"}", "'stop_strings'");
    expect_format_error("[1, 2]", "object");

    CHECK(npg_generation_config_create_from_json("/nonexistent/generation_config.json", &c) != NPG_OK);
    CHECK(msg_has("/nonexistent/generation_config.json"));
}

static void test_clone_and_eos_set(void) {
    npg_generation_config *a = NULL, *b = NULL;
    REQUIRE_OK(npg_generation_config_create(&a));
    const char *stops[] = {"END", "\n\n"};
    const int64_t ids[] = {7, 8};
    REQUIRE_OK(npg_generation_config_set_stop_strings(a, stops, 2));
    REQUIRE_OK(npg_generation_config_set_stop_token_ids(a, ids, 2));
    REQUIRE_OK(npg_generation_config_set_eos_token_id(a, 2));
    REQUIRE_OK(npg_generation_config_add_eos_token_id(a, 3));
    REQUIRE_OK(npg_generation_config_add_eos_token_id(a, 2));
    CHECK(a->n_eos == 2);
    REQUIRE_OK(npg_generation_config_set_top_p(a, 0.5f));
    REQUIRE_OK(npg_generation_config_clone(a, &b));
    /* the clone owns its own copies */
    const char *other[] = {"X"};
    REQUIRE_OK(npg_generation_config_set_stop_strings(a, other, 1));
    REQUIRE_OK(npg_generation_config_set_eos_token_id(a, -1));
    REQUIRE_OK(npg_generation_config_set_stop_token_ids(a, NULL, 0));
    CHECK(a->n_eos == 0 && a->n_stop_ids == 0 && a->n_stop_strings == 1);
    CHECK(b->n_stop_strings == 2 && strcmp(b->stop_strings[0], "END") == 0 && strcmp(b->stop_strings[1], "\n\n") == 0);
    CHECK(b->n_stop_ids == 2 && b->stop_token_ids[1] == 8 && b->n_eos == 2 && b->top_p == 0.5f);

    CHECK(npg_generation_config_is_stop_id(b, 2) && npg_generation_config_is_stop_id(b, 3));
    CHECK(npg_generation_config_is_stop_id(b, 7) && !npg_generation_config_is_stop_id(b, 4));
    REQUIRE_OK(npg_generation_config_set_ignore_eos(b, true));
    CHECK(!npg_generation_config_is_stop_id(b, 2) && npg_generation_config_is_stop_id(b, 8));
    CHECK(npg_generation_config_set_eos_token_id(b, -5) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(msg_has("eos_token_id"));
    CHECK(npg_generation_config_add_eos_token_id(b, -1) == NPG_ERR_INVALID_ARGUMENT);
    npg_generation_config_free(a);
    npg_generation_config_free(b);
}

/* One field changed from the defaults must fail validate with a message holding `want`. */
typedef void (*mutator)(npg_generation_config *c);

static void expect_invalid(mutator m, const char *want1, const char *want2) {
    npg_generation_config *c = NULL;
    REQUIRE_OK(npg_generation_config_create(&c));
    m(c);
    CHECK(npg_generation_config_validate(c) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(msg_has(want1));
    if (want2)
        CHECK(msg_has(want2));
    npg_generation_config_free(c);
}

static void m_top_p_0(npg_generation_config *c) { c->top_p = 0.0f; }
static void m_top_p_15(npg_generation_config *c) { c->top_p = 1.5f; }
static void m_top_p_nan(npg_generation_config *c) { c->top_p = NAN; }
static void m_temp_neg(npg_generation_config *c) { c->temperature = -0.5f; }
static void m_temp_nan(npg_generation_config *c) { c->temperature = NAN; }
static void m_temp0_sample(npg_generation_config *c) {
    c->do_sample = true;
    c->temperature = 0.0f;
}
static void m_min_p_neg(npg_generation_config *c) { c->min_p = -0.1f; }
static void m_min_p_big(npg_generation_config *c) { c->min_p = 1.5f; }
static void m_rep_0(npg_generation_config *c) { c->repetition_penalty = 0.0f; }
static void m_rep_neg(npg_generation_config *c) { c->repetition_penalty = -1.0f; }
static void m_presence(npg_generation_config *c) { c->presence_penalty = 2.5f; }
static void m_frequency(npg_generation_config *c) { c->frequency_penalty = -3.0f; }
static void m_nrs_0(npg_generation_config *c) { c->num_return_sequences = 0; }
static void m_nrs_greedy(npg_generation_config *c) { c->num_return_sequences = 3; }
static void m_mnt_0(npg_generation_config *c) { c->max_new_tokens = 0; }
static void m_mnt_0_len(npg_generation_config *c) {
    c->max_new_tokens = 0;
    c->max_length = 100;
}
static void m_max_length_0(npg_generation_config *c) { c->max_length = 0; }
static void m_min_gt_max(npg_generation_config *c) {
    c->max_new_tokens = 4;
    c->min_new_tokens = 5;
}
static void m_empty_stop(npg_generation_config *c) {
    const char *s[] = {"ok", ""};
    (void)npg_generation_config_set_stop_strings(c, s, 2);
}
static void m_stop_id_neg(npg_generation_config *c) {
    const int64_t ids[] = {3, -2};
    (void)npg_generation_config_set_stop_token_ids(c, ids, 2);
}

static void test_validate_messages(void) {
    expect_invalid(m_top_p_0, "top_p must be in (0, 1]", "got 0");
    expect_invalid(m_top_p_15, "top_p must be in (0, 1], got 1.5", NULL);
    expect_invalid(m_top_p_nan, "top_p", "nan");
    expect_invalid(m_temp_neg, "temperature", "-0.5");
    expect_invalid(m_temp_nan, "temperature", "nan");
    expect_invalid(m_temp0_sample, "temperature", "greedy");
    expect_invalid(m_min_p_neg, "min_p must be in [0, 1]", "-0.1");
    expect_invalid(m_min_p_big, "min_p", "1.5");
    expect_invalid(m_rep_0, "repetition_penalty", "got 0");
    expect_invalid(m_rep_neg, "repetition_penalty", "-1");
    expect_invalid(m_presence, "presence_penalty", "2.5");
    expect_invalid(m_frequency, "frequency_penalty", "-3");
    expect_invalid(m_nrs_0, "num_return_sequences", "0");
    expect_invalid(m_nrs_greedy, "num_return_sequences", "do_sample");
    expect_invalid(m_mnt_0, "max_new_tokens", "echo");
    expect_invalid(m_mnt_0_len, "max_new_tokens", NULL);
    expect_invalid(m_max_length_0, "max_length", NULL);
    expect_invalid(m_min_gt_max, "min_new_tokens (5)", "max_new_tokens (4)");
    expect_invalid(m_empty_stop, "stop_strings[1]", "empty");
    expect_invalid(m_stop_id_neg, "stop_token_ids[1]", "-2");

    /* edges that are valid */
    npg_generation_config *c = NULL;
    REQUIRE_OK(npg_generation_config_create(&c));
    c->temperature = 0.0f; /* greedy ignores it */
    c->top_p = 1.0f;
    c->min_p = 1.0f;
    c->presence_penalty = -2.0f;
    c->frequency_penalty = 2.0f;
    c->max_new_tokens = 0;
    c->echo = true; /* 0 new tokens with echo: only the prompt */
    CHECK(npg_generation_config_validate(c) == NPG_OK);
    c->do_sample = true;
    c->temperature = 0.01f;
    c->num_return_sequences = 4;
    c->max_new_tokens = 5;
    c->min_new_tokens = 5;
    CHECK(npg_generation_config_validate(c) == NPG_OK);
    npg_generation_config_free(c);
}

/* ---------------------------------------------------------------------------------------------- */
/* Stop strings                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

typedef struct stream_result {
    char streamed[256]; /* what the streamer received */
    char result[256];   /* the final text */
    bool found;
    size_t which;
} stream_result;

/* Runs the pipeline's loop (see stop_strings.h) over `pieces`, checking the guarantees on the way. */
static void run_stream(const char *const *stops, size_t n_stops, bool include, const char *const *pieces,
                       size_t n_pieces, stream_result *r) {
    char text[256];
    size_t len = 0, prev = 0, emitted = 0, out = 0;
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n_pieces; i++) {
        size_t pl = strlen(pieces[i]);
        memcpy(text + len, pieces[i], pl);
        len += pl;
        npg_stop_match m;
        npg_stop_strings_scan(stops, n_stops, include, text, len, prev, &m);
        CHECK(m.safe_len >= emitted && m.safe_len <= len); /* monotone */
        memcpy(r->streamed + out, text + emitted, m.safe_len - emitted);
        out += m.safe_len - emitted;
        emitted = m.safe_len;
        if (m.found) {
            CHECK(m.end - m.pos == strlen(stops[m.which]) && memcmp(text + m.pos, stops[m.which], m.end - m.pos) == 0);
            memcpy(r->result, text, m.safe_len);
            r->found = true;
            r->which = m.which;
            return;
        }
        prev = len;
    }
    memcpy(r->streamed + out, text + emitted, len - emitted); /* end of generation: flush */
    memcpy(r->result, text, len);
}

static void expect_stream(const char *const *stops, size_t n_stops, bool include, const char *const *pieces,
                          size_t n_pieces, const char *want, bool want_found) {
    stream_result r;
    run_stream(stops, n_stops, include, pieces, n_pieces, &r);
    CHECK(r.found == want_found);
    CHECK(strcmp(r.result, want) == 0);
    CHECK(strcmp(r.streamed, r.result) == 0); /* nothing lost, nothing extra */
    if (strcmp(r.result, want) != 0 || strcmp(r.streamed, r.result) != 0)
        fprintf(stderr, "  result \"%s\" streamed \"%s\" want \"%s\"\n", r.result, r.streamed, want);
}

static void test_stop_strings_cases(void) {
    const char *hash[] = {"###"};
    const char *p1[] = {"Hello #", "#", "# world"};
    expect_stream(hash, 1, false, p1, 3, "Hello ", true);
    expect_stream(hash, 1, true, p1, 3, "Hello ###", true);

    /* a prefix that does not complete is released, not lost */
    const char *p2[] = {"a#", "#b", "c"};
    expect_stream(hash, 1, false, p2, 3, "a##bc", false);
    const char *p3[] = {"tail ##"};
    expect_stream(hash, 1, false, p3, 1, "tail ##", false);

    /* hold-back amounts directly */
    npg_stop_match m;
    npg_stop_strings_scan(hash, 1, false, "ab##", 4, 0, &m);
    CHECK(!m.found && m.safe_len == 2);
    npg_stop_strings_scan(hash, 1, true, "ab##", 4, 0, &m);
    CHECK(!m.found && m.safe_len == 4);
    const char *self[] = {"aab"};
    npg_stop_strings_scan(self, 1, false, "xaaa", 4, 0, &m);
    CHECK(!m.found && m.safe_len == 2); /* "aa" could still become "aab" */

    /* overlapping prefixes of two stop strings */
    const char *two[] = {"abcd", "bce"};
    const char *p4[] = {"ab", "c", "e!"};
    expect_stream(two, 2, false, p4, 3, "a", true);
    expect_stream(two, 2, true, p4, 3, "abce", true);
    const char *p5[] = {"ab", "c", "d!"};
    expect_stream(two, 2, false, p5, 3, "", true);

    /* the match that ends first wins, whatever the chunking */
    const char *nested[] = {"abcd", "bc"};
    const char *p6[] = {"xabcd"};
    stream_result r;
    run_stream(nested, 2, false, p6, 1, &r);
    CHECK(r.found && r.which == 1 && strcmp(r.result, "xa") == 0);
    /* equal ends: the longer one */
    const char *ends[] = {"c", "abc"};
    const char *p7[] = {"xa", "bc"};
    run_stream(ends, 2, false, p7, 2, &r);
    CHECK(r.found && r.which == 1 && strcmp(r.result, "x") == 0);

    /* self-overlapping stop string fed byte by byte */
    const char *p8[] = {"a", "a", "a", "b", "zz"};
    expect_stream(self, 1, false, p8, 5, "a", true);
    expect_stream(self, 1, true, p8, 5, "aaab", true);

    /* text after the stop string in the same piece is dropped; multi-byte UTF-8 stop string */
    const char *utf[] = {"\xE3\x80\x82\n"}; /* "。\n" */
    const char *p9[] = {"done\xE3\x80", "\x82\nmore text"};
    expect_stream(utf, 1, false, p9, 2, "done", true);
    expect_stream(utf, 1, true, p9, 2, "done\xE3\x80\x82\n", true);

    /* no stop strings: everything streams at once */
    npg_stop_strings_scan(NULL, 0, false, "abc", 3, 0, &m);
    CHECK(!m.found && m.safe_len == 3);
    /* empty stop strings are ignored */
    const char *empty[] = {""};
    npg_stop_strings_scan(empty, 1, false, "abc", 3, 0, &m);
    CHECK(!m.found && m.safe_len == 3);
}

/* Every split of a text into three pieces gives the same result as one piece. */
static void test_stop_strings_chunking_invariance(void) {
    const char *stops[] = {"###", "#y#", "yz"};
    const char *texts[] = {"xx##y###z#", "a#y##b", "q##y#yz", "####", "nothing here#"};
    for (int inc = 0; inc < 2; inc++)
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
            const char *text = texts[t];
            size_t n = strlen(text);
            const char *whole[] = {text};
            stream_result ref;
            run_stream(stops, 3, inc != 0, whole, 1, &ref);
            for (size_t i = 0; i <= n; i++)
                for (size_t j = i; j <= n; j++) {
                    char a[64] = {0}, b[64] = {0}, c[64] = {0};
                    memcpy(a, text, i);
                    memcpy(b, text + i, j - i);
                    memcpy(c, text + j, n - j);
                    const char *pieces[] = {a, b, c};
                    stream_result r;
                    run_stream(stops, 3, inc != 0, pieces, 3, &r);
                    CHECK(r.found == ref.found && strcmp(r.result, ref.result) == 0);
                    CHECK(strcmp(r.streamed, r.result) == 0);
                }
        }
}

int main(void) {
    RUN(test_defaults);
    RUN(test_null_handles);
    RUN(test_from_json_shared_models);
    RUN(test_from_json_keys_and_errors);
    RUN(test_clone_and_eos_set);
    RUN(test_validate_messages);
    RUN(test_stop_strings_cases);
    RUN(test_stop_strings_chunking_invariance);
    return npg_test_summary();
}
