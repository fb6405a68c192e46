/* test_chat_history.c — the chat-history handle and npg_tokenizer_apply_chat_template: every
 * golden case whose template comes from a tokenizer folder's tokenizer_config.json, rendered
 * through the real tokenizer (its bos/eos tokens), byte-equal; the missing-template, bad-argument
 * and extra-context paths. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "template/chat_history.h"
#include "testutil.h"

static void test_history_basics(void) {
    npg_chat_history *h = NULL;
    REQUIRE_OK(npg_chat_history_create(&h));
    CHECK(npg_chat_history_size(h) == 0);
    REQUIRE_OK(npg_chat_history_push(h, "system", "Be brief."));
    char role[16] = "user", content[32] = "Hello";
    REQUIRE_OK(npg_chat_history_push(h, role, content));
    strcpy(content, "changed"); /* the history keeps its own copy */
    CHECK(npg_chat_history_size(h) == 2);
    const char *r = NULL, *c = NULL;
    REQUIRE_OK(npg_chat_history_at(h, 1, &r, &c));
    CHECK(strcmp(r, "user") == 0 && strcmp(c, "Hello") == 0);
    REQUIRE_OK(npg_chat_history_at(h, 0, &r, &c));
    CHECK(strcmp(r, "system") == 0 && strcmp(c, "Be brief.") == 0);
    CHECK(npg_chat_history_at(h, 2, &r, &c) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "index 2 out of range") != NULL);
    CHECK(npg_chat_history_push(h, NULL, "x") == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_chat_history_push(h, "user", NULL) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_chat_history_at(h, 0, NULL, &c) == NPG_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 100; i++) /* growth */
        REQUIRE_OK(npg_chat_history_push(h, i % 2 ? "assistant" : "user", "turn"));
    CHECK(npg_chat_history_size(h) == 102);
    npg_chat_history_clear(h);
    CHECK(npg_chat_history_size(h) == 0);
    REQUIRE_OK(npg_chat_history_push(h, "user", "again"));
    CHECK(npg_chat_history_size(h) == 1);
    npg_chat_history_free(h);
    npg_chat_history_free(NULL);
    npg_chat_history_clear(NULL);
    CHECK(npg_chat_history_size(NULL) == 0);
    CHECK(npg_chat_history_create(NULL) == NPG_ERR_INVALID_ARGUMENT);
}

static npg_status history_of(const cJSON *messages, npg_chat_history **out) {
    NPG_TRY(npg_chat_history_create(out));
    for (const cJSON *m = messages->child; m; m = m->next)
        NPG_TRY(npg_chat_history_push(*out, npg_json_get_string(m, "role"), npg_json_get_string(m, "content")));
    return NPG_OK;
}

/* Every tokenizer_config.json golden case through the tokenizer; each folder is loaded once. */
static void test_apply_goldens(void) {
    static const char *const folders[] = {"tinyllama-chat", "llama3_2", "qwen2_5", "qwen3", "gemma3", "mistral_nemo"};
    cJSON *root = NULL;
    REQUIRE_OK(npg_json_parse_file(shared_path("goldens/chat-templates/chat_templates.json"), &root));
    int total = 0, passed = 0;
    for (size_t f = 0; f < sizeof folders / sizeof folders[0]; f++) {
        char dir[256], source[256];
        snprintf(dir, sizeof dir, "tokenizers/%s", folders[f]);
        snprintf(source, sizeof source, "tokenizers/%s/tokenizer_config.json", folders[f]);
        npg_tokenizer *tok = NULL;
        npg_status st = npg_tokenizer_create(shared_path(dir), &tok);
        CHECK(st == NPG_OK);
        if (st != NPG_OK) {
            fprintf(stderr, "%s: %s\n", dir, npg_last_error());
            continue;
        }
        for (const cJSON *c = npg_json_get(root, "cases")->child; c; c = c->next) {
            if (strcmp(npg_json_get_string(c, "template_source"), source) != 0)
                continue;
            const char *id = npg_json_get_string(c, "id"), *rendered = npg_json_get_string(c, "rendered");
            npg_chat_history *h = NULL;
            char *kw = cJSON_PrintUnformatted(npg_json_get(c, "kwargs")), *out = NULL;
            st = history_of(npg_json_get(c, "messages"), &h);
            if (st == NPG_OK)
                st = npg_tokenizer_apply_chat_template(tok, h, cJSON_IsTrue(npg_json_get(c, "add_generation_prompt")),
                                                       kw, &out);
            bool ok = st == NPG_OK && rendered && strcmp(out, rendered) == 0;
            if (!ok) {
                fprintf(stderr, "%s: %s %s\n  want [%s]\n  got  [%s]\n", id, npg_status_name(st),
                        st ? npg_last_error() : "", rendered ? rendered : "", out ? out : "");
                npg_test_failures++;
            }
            total++;
            passed += ok;
            npg_free(out);
            free(kw);
            npg_chat_history_free(h);
        }
        npg_tokenizer_free(tok);
    }
    fprintf(stderr, "apply_chat_template: %d/%d tokenizer golden cases byte-equal\n", passed, total);
    CHECK(total == 33);
    cJSON_Delete(root);
}

static void test_apply_edges(void) {
    npg_tokenizer *tok = NULL, *gpt2 = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/tinyllama-chat"), &tok));
    npg_chat_history *h = NULL;
    REQUIRE_OK(npg_chat_history_create(&h));
    REQUIRE_OK(npg_chat_history_push(h, "user", "Hi"));
    char *out = NULL;
    /* the tokenizer's eos_token is the default, extra context overrides it */
    REQUIRE_OK(npg_tokenizer_apply_chat_template(tok, h, false, NULL, &out));
    CHECK(strcmp(out, "<|user|>\nHi</s>\n") == 0);
    npg_free(out);
    out = NULL;
    REQUIRE_OK(npg_tokenizer_apply_chat_template(tok, h, true, "{\"eos_token\": \"<E>\"}", &out));
    CHECK(strcmp(out, "<|user|>\nHi<E>\n<|assistant|>\n") == 0);
    npg_free(out);
    out = NULL;
    /* an empty history renders the template's frame only */
    npg_chat_history *empty = NULL;
    REQUIRE_OK(npg_chat_history_create(&empty));
    REQUIRE_OK(npg_tokenizer_apply_chat_template(tok, empty, true, NULL, &out));
    CHECK(strcmp(out, "") == 0);
    npg_free(out);
    out = NULL;
    npg_chat_history_free(empty);
    CHECK(npg_tokenizer_apply_chat_template(tok, h, true, "{\"x\": ", &out) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "extra_context_json") != NULL);
    CHECK(npg_tokenizer_apply_chat_template(tok, h, true, "[1]", &out) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_tokenizer_apply_chat_template(NULL, h, true, NULL, &out) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_tokenizer_apply_chat_template(tok, NULL, true, NULL, &out) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_tokenizer_apply_chat_template(tok, h, true, NULL, NULL) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    /* no chat_template: NPG_ERR_NOT_FOUND, so the pipeline can fall back to plain concatenation */
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/gpt2"), &gpt2));
    CHECK(npg_tokenizer_apply_chat_template(gpt2, h, true, NULL, &out) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "has no chat_template") != NULL);
    CHECK(out == NULL);
    npg_tokenizer_free(gpt2);
    npg_chat_history_free(h);
    npg_tokenizer_free(tok);
}

/* A folder whose template lives in chat_template.jinja (newer transformers) or chat_template.json
 * (processor folders): the tokenizer files are links to gpt2's, which has no chat_template. */
static void test_template_files(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char a[1024], b[1024];
    const char *files[] = {"tokenizer.json", "tokenizer_config.json"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "tokenizers/gpt2/%s", files[i]);
        snprintf(b, sizeof b, "%s/%s", dir, files[i]);
        CHECK(symlink(shared_path(a), b) == 0);
    }
    npg_chat_history *h = NULL;
    REQUIRE_OK(npg_chat_history_create(&h));
    REQUIRE_OK(npg_chat_history_push(h, "user", "Hi"));
    snprintf(b, sizeof b, "%s/chat_template.json", dir);
    const char *json = "{\"chat_template\": \"{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}\"}";
    write_file(b, json, strlen(json));
    npg_tokenizer *tok = NULL;
    char *out = NULL;
    REQUIRE_OK(npg_tokenizer_create(dir, &tok));
    REQUIRE_OK(npg_tokenizer_apply_chat_template(tok, h, true, NULL, &out));
    CHECK(strcmp(out, "<user>Hi") == 0);
    npg_free(out);
    out = NULL;
    /* chat_template.jinja wins, and its errors name the file */
    snprintf(b, sizeof b, "%s/chat_template.jinja", dir);
    const char *jinja = "{{ eos_token }}|{% for m in messages %}{{ m.content | upper }}{% endfor %}\n";
    write_file(b, jinja, strlen(jinja));
    REQUIRE_OK(npg_tokenizer_apply_chat_template(tok, h, true, NULL, &out));
    CHECK(strcmp(out, "<|endoftext|>|HI") == 0);
    npg_free(out);
    out = NULL;
    const char *bad = "{% for m in messages %}";
    write_file(b, bad, strlen(bad));
    CHECK(npg_tokenizer_apply_chat_template(tok, h, true, NULL, &out) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "/chat_template.jinja: line 1, column 24: unexpected end of template") != NULL);
    CHECK(out == NULL);
    npg_tokenizer_free(tok);
    npg_chat_history_free(h);
    rm_rf(dir);
    free(dir);
}

/* The pipeline's rollback of a failed chat turn: truncation frees only, so it cannot fail half-way. */
static void test_history_truncate(void) {
    npg_chat_history *h = NULL;
    REQUIRE_OK(npg_chat_history_create(&h));
    REQUIRE_OK(npg_chat_history_push(h, "system", "s"));
    REQUIRE_OK(npg_chat_history_push(h, "user", "u"));
    REQUIRE_OK(npg_chat_history_push(h, "assistant", "a"));
    npg_chat_history_truncate(h, 5); /* past the end: nothing */
    CHECK(npg_chat_history_size(h) == 3);
    npg_chat_history_truncate(h, 1);
    CHECK(npg_chat_history_size(h) == 1);
    const char *role = NULL, *content = NULL;
    CHECK(npg_chat_history_at(h, 0, &role, &content) == NPG_OK && strcmp(role, "system") == 0);
    REQUIRE_OK(npg_chat_history_push(h, "user", "again"));
    CHECK(npg_chat_history_size(h) == 2);
    npg_chat_history_free(h);
}

int main(void) {
    RUN(test_history_basics);
    RUN(test_history_truncate);
    RUN(test_apply_goldens);
    RUN(test_apply_edges);
    RUN(test_template_files);
    return npg_test_summary();
}
