/* test_cli_template.c — `npugen template`: stdout byte-equal to the chat-template goldens (every
 * stand-alone .jinja case through --template, the TinyLlama cases through MODEL_DIR), exit codes,
 * bad arguments and a malformed template reported with its line and column. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "testutil.h"

static char *tmp_dir;

/* 'text' quoted for sh (single quotes, embedded ones as '\''). */
static void shell_quote(char *buf, size_t size, const char *text) {
    size_t k = 0;
    buf[k++] = '\'';
    for (const char *p = text; *p && k + 6 < size; p++) {
        if (*p == '\'') {
            memcpy(buf + k, "'\\''", 4);
            k += 4;
        } else {
            buf[k++] = *p;
        }
    }
    buf[k++] = '\'';
    buf[k] = '\0';
}

/* Runs `npugen template <args>`; returns the exit code, *out / *err malloc'd. */
static int run_template(const char *args, char **out, char **err) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s template %s", NPG_CLI, args);
    return run_cmd(cmd, out, err);
}

static char *write_tmp(const char *name, const char *text) {
    size_t n = strlen(tmp_dir) + strlen(name) + 2;
    char *path = malloc(n);
    snprintf(path, n, "%s/%s", tmp_dir, name);
    write_file(path, text, strlen(text));
    return path;
}

static void test_goldens(void) {
    cJSON *root = NULL;
    REQUIRE_OK(npg_json_parse_file(shared_path("goldens/chat-templates/chat_templates.json"), &root));
    int total = 0, passed = 0;
    for (const cJSON *c = npg_json_get(root, "cases")->child; c; c = c->next) {
        const char *id = npg_json_get_string(c, "id");
        const char *source = npg_json_get_string(c, "template_source");
        bool jinja = strstr(source, ".jinja") != NULL;
        if (!jinja && strncmp(id, "tinyllama-chat/", 15) != 0)
            continue; /* the other tokenizer folders go through the API test (test_chat_history) */
        char *msgs_text = cJSON_PrintUnformatted(npg_json_get(c, "messages"));
        char *msgs = write_tmp("messages.json", msgs_text);
        char args[4096], q[1024];
        size_t k;
        if (jinja) {
            k = (size_t)snprintf(args, sizeof args, "--template %s --messages %s", shared_path(source), msgs);
            const char *bos = npg_json_get_string(c, "bos_token"), *eos = npg_json_get_string(c, "eos_token");
            if (bos) {
                shell_quote(q, sizeof q, bos);
                k += (size_t)snprintf(args + k, sizeof args - k, " --bos-token %s", q);
            }
            if (eos) {
                shell_quote(q, sizeof q, eos);
                k += (size_t)snprintf(args + k, sizeof args - k, " --eos-token %s", q);
            }
        } else {
            k = (size_t)snprintf(args, sizeof args, "%s --messages %s", shared_path("tokenizers/tinyllama-chat"), msgs);
        }
        if (cJSON_IsTrue(npg_json_get(c, "add_generation_prompt")))
            k += (size_t)snprintf(args + k, sizeof args - k, " --add-generation-prompt");
        char *kw = cJSON_PrintUnformatted(npg_json_get(c, "kwargs"));
        shell_quote(q, sizeof q, kw);
        snprintf(args + k, sizeof args - k, " --kwargs %s", q);
        char *out = NULL, *err = NULL;
        int rc = run_template(args, &out, &err);
        const char *rendered = npg_json_get_string(c, "rendered"), *error = npg_json_get_string(c, "error");
        bool ok;
        if (error) /* one line on stderr ending with the raise_exception message, exit 1 */
            ok = rc == 1 && out && !*out && err && strstr(err, error) && strncmp(err, "npugen template: ", 17) == 0;
        else
            ok = rc == 0 && out && rendered && strcmp(out, rendered) == 0;
        if (!ok) {
            fprintf(stderr, "%s: rc %d\n  want [%s]\n  got  [%s]\n  stderr [%s]\n", id, rc, rendered ? rendered : error,
                    out ? out : "", err ? err : "");
            npg_test_failures++;
        }
        total++;
        passed += ok;
        free(out);
        free(err);
        free(kw);
        free(msgs);
        free(msgs_text);
    }
    fprintf(stderr, "npugen template: %d/%d golden cases byte-equal on stdout\n", passed, total);
    CHECK(total == 66);
    cJSON_Delete(root);
}

static void test_usage_errors(void) {
    char *msgs = write_tmp("m.json", "[{\"role\": \"user\", \"content\": \"hi\"}]");
    char args[2048];
    struct {
        const char *args;
        const char *err;
    } cases[] = {
        {"", "npugen template: missing MODEL_DIR or --template FILE.jinja (see npugen template --help)\n"},
        {"--template x.jinja", "npugen template: missing --messages FILE.json\n"},
        {"--frob", "npugen template: unknown option '--frob' (see npugen template --help)\n"},
        {"a b --messages m.json", "npugen template: unexpected argument 'b'\n"},
        {"dir --template x.jinja --messages m.json",
         "npugen template: give either MODEL_DIR or --template, not both\n"},
        {"dir --bos-token x --messages m.json",
         "npugen template: --bos-token / --eos-token go with --template; MODEL_DIR supplies its own tokens\n"},
        {"--template x.jinja --messages", "npugen template: option --messages needs a value\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL, *err = NULL;
        int rc = run_template(cases[i].args, &out, &err);
        CHECK(rc == 2);
        CHECK(out && !*out);
        CHECK(err && strcmp(err, cases[i].err) == 0);
        if (!err || strcmp(err, cases[i].err) != 0)
            fprintf(stderr, "args [%s]: stderr [%s]\n", cases[i].args, err ? err : "");
        free(out);
        free(err);
    }
    char *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "--template %s --messages %s --kwargs '[1, 2]'",
             shared_path("chat-templates/Qwen-Qwen3-0.6B.jinja"), msgs);
    CHECK(run_template(args, &out, &err) == 2);
    CHECK(err &&
          strcmp(err, "npugen template: --kwargs must be a JSON object, e.g. '{\"enable_thinking\": false}'\n") == 0);
    free(out);
    free(err);
    CHECK(run_template("--help", &out, &err) == 0);
    CHECK(out && strstr(out, "usage: npugen template MODEL_DIR --messages FILE.json") != NULL);
    free(out);
    free(err);
    free(msgs);
}

static void test_runtime_errors(void) {
    char *msgs = write_tmp("m.json", "[{\"role\": \"user\", \"content\": \"hi\"}]");
    char *bad_msgs = write_tmp("bad.json", "[{\"role\": \"user\"}]");
    char *not_json = write_tmp("nj.json", "[{\"role\": ");
    char *bad_tmpl = write_tmp("bad.jinja", "{% for m in messages %}\n  {{ m.content | bogus }}\n{% endfor %}");
    char *unclosed = write_tmp("unclosed.jinja", "{% if messages %}\n{{ messages[0].content }}");
    char *raises = write_tmp("raises.jinja", "{{ raise_exception('no ' ~ messages[0].role ~ ' here') }}");
    char args[4096];
    char *out = NULL, *err = NULL;
    struct {
        const char *tmpl, *msgs;
        char want[1024];
    } cases[6];
    size_t n = 0;
    cases[n].tmpl = bad_tmpl;
    cases[n].msgs = msgs;
    snprintf(cases[n++].want, 1024, "npugen template: %s: line 2, column 18: no filter named 'bogus'\n", bad_tmpl);
    cases[n].tmpl = unclosed;
    cases[n].msgs = msgs;
    snprintf(cases[n++].want, 1024,
             "npugen template: %s: line 2, column 26: unexpected end of template; expected 'elif' or 'else' or "
             "'endif' to close the tag at line 1, column 4\n",
             unclosed);
    cases[n].tmpl = raises;
    cases[n].msgs = msgs;
    snprintf(cases[n++].want, 1024, "npugen template: %s: line 1, column 4: no user here\n", raises);
    cases[n].tmpl = raises;
    cases[n].msgs = bad_msgs;
    snprintf(cases[n++].want, 1024, "npugen template: %s: message 0 needs string \"role\" and \"content\"\n", bad_msgs);
    cases[n].tmpl = raises;
    cases[n].msgs = not_json;
    snprintf(cases[n++].want, 1024, "npugen template: %s: malformed JSON at line 1, column 10\n", not_json);
    for (size_t i = 0; i < n; i++) {
        snprintf(args, sizeof args, "--template %s --messages %s", cases[i].tmpl, cases[i].msgs);
        int rc = run_template(args, &out, &err);
        CHECK(rc == 1);
        CHECK(out && !*out);
        CHECK(err && strcmp(err, cases[i].want) == 0);
        if (!err || strcmp(err, cases[i].want) != 0)
            fprintf(stderr, "want [%s]\ngot  [%s]\n", cases[i].want, err ? err : "");
        free(out);
        free(err);
    }
    /* a folder without a chat_template: NPG_ERR_NOT_FOUND, reported */
    snprintf(args, sizeof args, "%s --messages %s", shared_path("tokenizers/gpt2"), msgs);
    CHECK(run_template(args, &out, &err) == 1);
    CHECK(err && strstr(err, "has no chat_template") != NULL);
    free(out);
    free(err);
    snprintf(args, sizeof args, "--template %s/none.jinja --messages %s", tmp_dir, msgs);
    CHECK(run_template(args, &out, &err) == 1);
    CHECK(err && strncmp(err, "npugen template: ", 17) == 0 && strstr(err, "none.jinja") != NULL);
    free(out);
    free(err);
    free(msgs);
    free(bad_msgs);
    free(not_json);
    free(bad_tmpl);
    free(unclosed);
    free(raises);
}

int main(void) {
    tmp_dir = make_temp_dir();
    RUN(test_goldens);
    RUN(test_usage_errors);
    RUN(test_runtime_errors);
    rm_rf(tmp_dir);
    free(tmp_dir);
    return npg_test_summary();
}
