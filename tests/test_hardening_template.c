/* test_hardening_template.c — regression tests for the chat-template defects of issue 15
 * (docs/reliability.md):
 *   defect 3:  25,000-term chains (`+`, `~`, `|upper`, `[0]`, `.x`) overflowed the evaluator's stack
 *   defect 9:  a NUL byte silently truncated a template; `{{ \xff\xfe }}` rendered empty
 *   defect 10: invalid UTF-8 reported without naming the template; an empty messages list gave
 *              "'list object' has no attribute ''"
 *   item 3:    loop iterations, string growth and output size are bounded with clear errors */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/strbuf.h"
#include "template/template.h"
#include "testutil.h"

static bool msg_has(const char *frag) {
    bool ok = strstr(npg_last_error(), frag) != NULL;
    if (!ok)
        fprintf(stderr, "  message lacks '%s': %s\n", frag, npg_last_error());
    return ok;
}

static npg_status render_n(const char *src, size_t len, const char *ctx_json, char **out) {
    npg_template *t = NULL;
    *out = NULL;
    npg_status st = npg_template_compile(src, len, &t);
    if (st != NPG_OK)
        return st;
    cJSON *ctx = ctx_json ? cJSON_Parse(ctx_json) : NULL;
    st = npg_template_render(t, ctx, NULL, out);
    cJSON_Delete(ctx);
    npg_template_free(t);
    return st;
}

static npg_status render(const char *src, char **out) { return render_n(src, strlen(src), "{\"x\": {\"x\": 1}}", out); }

/* "{{ " + head + n * link + " }}" */
static char *chain(const char *head, const char *link, size_t n) {
    size_t hl = strlen(head), ll = strlen(link), len = 3 + hl + n * ll + 3;
    char *s = malloc(len + 1);
    memcpy(s, "{{ ", 3);
    memcpy(s + 3, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + 3 + hl + i * ll, link, ll);
    memcpy(s + len - 3, " }}", 4);
    return s;
}

static void test_defect03_long_chains(void) {
    const char *heads[] = {"1", "'a'", "'a'", "[[0]]", "x"};
    const char *links[] = {" + 1", " ~ 'b'", "|upper", "[0]", ".x"};
    for (size_t k = 0; k < 5; k++) {
        /* a short chain still renders */
        char *ok_src = chain(heads[k], links[k], k >= 3 ? 1 : 50), *out = NULL;
        npg_status st = render(ok_src, &out);
        if (st != NPG_OK)
            fprintf(stderr, "  short chain '%s': %s\n", links[k], npg_last_error());
        CHECK(st == NPG_OK);
        free(out);
        free(ok_src);
        /* 25,000 links: a clear error with a position, not a stack overflow */
        char *src = chain(heads[k], links[k], 25000);
        st = render(src, &out);
        CHECK(st == NPG_ERR_LIMIT);
        CHECK(out == NULL);
        CHECK(msg_has("line 1, column"));
        CHECK(msg_has("too long"));
        free(out);
        free(src);
    }
    /* unary operators nest by recursion too */
    char *src = malloc(25010), *out = NULL;
    memcpy(src, "{{ ", 3);
    memset(src + 3, '-', 25000);
    memcpy(src + 25003, "1 }}", 5);
    CHECK(render(src, &out) != NPG_OK);
    CHECK(msg_has("line 1, column"));
    free(out);
    free(src);
}

/* Deep evaluation through macro recursion, each level evaluating a long chain: the evaluator
 * bounds its own depth, whatever the parser let through. */
static void test_defect03_evaluator_depth(void) {
    npg_strbuf sb = {0};
    CHECK(npg_strbuf_append_str(&sb, "{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{% else %}{{ 0") == NPG_OK);
    for (int i = 0; i < 400; i++)
        CHECK(npg_strbuf_append_str(&sb, " + 1") == NPG_OK);
    CHECK(npg_strbuf_append_str(&sb, " }}{% endif %}{% endmacro %}{{ m(100) }}") == NPG_OK);
    char *out = NULL;
    npg_status st = render(sb.data, &out);
    CHECK(st == NPG_OK || st == NPG_ERR_LIMIT);
    if (st == NPG_OK)
        CHECK(out && strcmp(out, "400") == 0);
    else
        CHECK(msg_has("line 1"));
    free(out);
    npg_strbuf_free(&sb);
}

static void test_defect09_nul_and_bad_bytes(void) {
    char *out = NULL;
    const char with_nul[] = "Hello\0{{ 1/0 }}";
    CHECK(render_n(with_nul, sizeof with_nul - 1, NULL, &out) == NPG_ERR_FORMAT);
    CHECK(msg_has("NUL"));
    CHECK(msg_has("line 1, column 6"));
    free(out);
    const char *bad[] = {"{{ \xff\xfe }}", "{% if \xff %}{% endif %}", "{{ x\x01 }}"};
    for (size_t i = 0; i < 3; i++) {
        CHECK(render(bad[i], &out) == NPG_ERR_FORMAT);
        CHECK(msg_has("line 1, column"));
        free(out);
    }
    /* invalid UTF-8 in text is refused at compile time, with its position */
    CHECK(render("ok\nab\xff", &out) == NPG_ERR_FORMAT);
    CHECK(msg_has("UTF-8"));
    CHECK(msg_has("line 2, column 3"));
    free(out);
    /* valid multi-byte text still renders */
    CHECK(render("h\xc3\xa9llo {{ 'w\xc3\xb6rld' }}", &out) == NPG_OK);
    CHECK(out && strcmp(out, "h\xc3\xa9llo w\xc3\xb6rld") == 0);
    free(out);
}

static void test_defect10_empty_messages(void) {
    char *out = NULL;
    const char *src = "{% if messages[0]['role'] == 'system' %}S{% endif %}";
    CHECK(render_n(src, strlen(src), "{\"messages\": []}", &out) != NPG_OK);
    CHECK(strstr(npg_last_error(), "has no attribute ''") == NULL);
    CHECK(msg_has("index out of range"));
    free(out);
    /* through the tokenizer (an empty history is allowed: zephyr renders its frame) the template
     * that indexes messages[0] names the template, the position and the likely cause */
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_path("models/random-gemma3-vlm"), &tok));
    npg_chat_history *h = NULL;
    REQUIRE_OK(npg_chat_history_create(&h));
    CHECK(npg_tokenizer_apply_chat_template(tok, h, true, NULL, &out) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(msg_has("chat_template: line"));
    CHECK(msg_has("is the list empty?"));
    free(out);
    npg_chat_history_free(h);
    npg_tokenizer_free(tok);
}

static void test_item3_loop_and_growth_bounds(void) {
    char *out = NULL;
    CHECK(render("{% for i in range(10**9) %}{% endfor %}", &out) == NPG_ERR_LIMIT);
    CHECK(msg_has("range()"));
    free(out);
    /* nested loops: bounded by the work limit */
    CHECK(render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", &out) ==
          NPG_ERR_LIMIT);
    free(out);
    /* doubling a string through a namespace: bounded before memory runs out */
    CHECK(render("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                 "{{ ns.s|length }}",
                 &out) == NPG_ERR_LIMIT);
    CHECK(msg_has("MiB"));
    free(out);
    CHECK(render("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"
                 "{{ ns.s|length }}",
                 &out) == NPG_ERR_LIMIT);
    free(out);
    CHECK(render("{% set ns = namespace(s=[1]) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"
                 "{{ ns.s|length }}",
                 &out) == NPG_ERR_LIMIT);
    free(out);
    /* output size */
    CHECK(render("{% for i in range(1000000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' * 1000 }}{% endfor %}",
                 &out) == NPG_ERR_LIMIT);
    free(out);
}

int main(void) {
    RUN(test_defect03_long_chains);
    RUN(test_defect03_evaluator_depth);
    RUN(test_defect09_nul_and_bad_bytes);
    RUN(test_defect10_empty_messages);
    RUN(test_item3_loop_and_growth_bounds);
    return npg_test_summary();
}
