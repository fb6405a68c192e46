/* test_template.c — the chat-template engine against ../shared/goldens/chat-templates (every case
 * byte-equal to Python jinja2 configured like transformers), plus jinja2 semantics checked case
 * by case and the errors (syntax, unknown filter/test, raise_exception) with line and column. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "template/template.h"
#include "testutil.h"

/* Renders src with the JSON context; returns the status, *out (malloc'd) on success. */
static npg_status render_json(const char *src, const char *ctx_json, char **out) {
    npg_template *t = NULL;
    npg_status st = npg_template_compile(src, strlen(src), &t);
    if (st != NPG_OK)
        return st;
    cJSON *ctx = ctx_json ? cJSON_Parse(ctx_json) : NULL;
    st = npg_template_render(t, ctx, NULL, out);
    cJSON_Delete(ctx);
    npg_template_free(t);
    return st;
}

/* Expects src to render to `want`. */
static int expect_render(const char *src, const char *ctx, const char *want, int line) {
    char *got = NULL;
    npg_status st = render_json(src, ctx, &got);
    int ok = st == NPG_OK && strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "test_template.c:%d: template %s\n  want [%s]\n  got  [%s] (%s %s)\n", line, src, want,
                got ? got : "", npg_status_name(st), st ? npg_last_error() : "");
    free(got);
    return ok;
}
#define EXPECT(src, ctx, want) CHECK(expect_render(src, ctx, want, __LINE__))

/* Expects src to fail with `status` and a message equal to `msg`. */
static int expect_error(const char *src, const char *ctx, npg_status status, const char *msg, int line) {
    char *got = NULL;
    npg_status st = render_json(src, ctx, &got);
    int ok = st == status && strcmp(npg_last_error(), msg) == 0;
    if (!ok)
        fprintf(stderr, "test_template.c:%d: template %s\n  want %s [%s]\n  got  %s [%s] output [%s]\n", line, src,
                npg_status_name(status), msg, npg_status_name(st), st ? npg_last_error() : "", got ? got : "");
    free(got);
    return ok;
}
#define EXPECT_ERROR(src, ctx, status, msg) CHECK(expect_error(src, ctx, status, msg, __LINE__))

/* The template text of a golden case's template_source (a tokenizer_config.json or a .jinja). */
static char *load_template(const char *source) {
    const char *path = shared_path(source);
    size_t n = strlen(source);
    if (n > 5 && strcmp(source + n - 5, ".json") == 0) {
        cJSON *cfg = NULL;
        if (npg_json_parse_file(path, &cfg) != NPG_OK)
            return NULL;
        const char *ct = npg_json_get_string(cfg, "chat_template");
        char *copy = ct ? strdup(ct) : NULL;
        cJSON_Delete(cfg);
        return copy;
    }
    return read_all(path, NULL);
}

/* The render context transformers builds: messages, tools, documents, add_generation_prompt,
 * bos/eos tokens, then the case's kwargs. */
static cJSON *case_context(const cJSON *c) {
    cJSON *ctx = cJSON_CreateObject();
    const char *copy[] = {"messages", "tools", "add_generation_prompt", "bos_token", "eos_token"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        const cJSON *v = npg_json_get(c, copy[i]);
        cJSON_AddItemToObject(ctx, copy[i], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
    }
    cJSON_AddItemToObject(ctx, "documents", cJSON_CreateNull());
    const cJSON *kw = npg_json_get(c, "kwargs");
    for (const cJSON *k = kw ? kw->child : NULL; k; k = k->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(ctx, k->string);
        cJSON_AddItemToObject(ctx, k->string, cJSON_Duplicate(k, true));
    }
    return ctx;
}

static void test_goldens(void) {
    cJSON *root = NULL;
    REQUIRE_OK(npg_json_parse_file(shared_path("goldens/chat-templates/chat_templates.json"), &root));
    const cJSON *cases = npg_json_get(root, "cases");
    int total = 0, passed = 0, errors = 0;
    for (const cJSON *c = cases ? cases->child : NULL; c; c = c->next) {
        const char *id = npg_json_get_string(c, "id");
        const char *rendered = npg_json_get_string(c, "rendered");
        const char *error = npg_json_get_string(c, "error");
        total++;
        char *src = load_template(npg_json_get_string(c, "template_source"));
        if (!src) {
            fprintf(stderr, "%s: template not found\n", id);
            npg_test_failures++;
            continue;
        }
        npg_template *t = NULL;
        char *out = NULL;
        cJSON *ctx = case_context(c);
        npg_status st = npg_template_compile(src, strlen(src), &t);
        if (st == NPG_OK)
            st = npg_template_render(t, ctx, NULL, &out);
        bool ok;
        if (error) {
            /* "line L, column C: <message>" with the raise_exception message verbatim */
            const char *msg = npg_last_error();
            size_t ml = strlen(msg), el = strlen(error);
            ok = st == NPG_ERR_INVALID_ARGUMENT && ml > el && strcmp(msg + ml - el, error) == 0 &&
                 strncmp(msg, "line ", 5) == 0 && strncmp(msg + ml - el - 2, ": ", 2) == 0;
            errors += ok;
            if (!ok)
                fprintf(stderr, "%s: want error [%s], got %s [%s]\n", id, error, npg_status_name(st), st ? msg : out);
        } else {
            ok = st == NPG_OK && rendered && strcmp(out, rendered) == 0;
            if (!ok)
                fprintf(stderr, "%s: %s %s\n  want [%s]\n  got  [%s]\n", id, npg_status_name(st),
                        st ? npg_last_error() : "", rendered ? rendered : "(null)", out ? out : "");
        }
        passed += ok;
        if (!ok)
            npg_test_failures++;
        free(out);
        cJSON_Delete(ctx);
        npg_template_free(t);
        free(src);
    }
    fprintf(stderr, "chat-template goldens: %d/%d byte-equal (%d of them expected errors)\n", passed, total, errors);
    CHECK(total == 94);
    cJSON_Delete(root);
}

/* Expected outputs below were produced by Python jinja2 3.1.6 configured like transformers
 * (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, HF tojson). */
static void test_semantics(void) {
    EXPECT("{% if false %}x{% endif %}", NULL, ""); /* an empty result is "", not NULL */
    EXPECT("", NULL, "");
    EXPECT("a\r\nb\rc\n", NULL, "a\nb\nc"); /* newlines normalized, one trailing newline dropped */
    /* invalid UTF-8 passes through str methods byte by byte (never a hang or an overread) */
    EXPECT("{{ s.rsplit() | length }}|{{ s.split() | length }}|{{ s.strip() | length }}|{{ s[::-1] | length }}",
           "{\"s\": \"a \x80\"}", "2|2|3|3");
    EXPECT("{{ '%5s|%-3d|' % ('ab', 7) }}", NULL, "   ab|7  |");
    EXPECT("{% for i in [1,2,3] %}{{ x }}{% set x = i %}{% endfor %}|{{ x }}", "{\"x\": \"o\"}", "ooo|o");
    EXPECT(
        "{% set x = 5 %}{% for i in [1,2] %}{{ x }}{% if i == 1 %}{% set x = 9 %}{% endif %}{{ x }}{% endfor %}{{ x }}",
        NULL, "59555");
    EXPECT("{% for a in [] %}x{% else %}empty{% endfor %}", NULL, "empty");
    EXPECT("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first "
           "}}{{ loop.last }}{{ loop.length }};{% endfor %}",
           NULL, "1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;");
    EXPECT("{% for x in [1,2,3] %}{{ loop.previtem is defined }}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}",
           NULL, "False-2|True1-3|True2-|");
    EXPECT("{% for x in range(10) if x is odd %}{{ x }}{{ ',' if not loop.last }}{% endfor %}", NULL, "1,3,5,7,9");
    EXPECT("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x "
           "}}{% endfor %}",
           NULL, "0134");
    EXPECT("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}",
           "{\"d\": {\"b\": 1, \"a\": [1, 2]}}", "b=1;a=[1, 2];ba");
    EXPECT("{% set ns = namespace(n=0, s='') %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i "
           "%}{% endfor %}{{ ns.n }} {{ ns.s }}",
           NULL, "6 0123");
    EXPECT("{% set a, b = [1, 2] %}{{ b }}{{ a }}", NULL, "21");
    EXPECT("{% set t %}  inner {{ 1 + 1 }} {% endset %}[{{ t }}]", NULL, "[  inner 2 ]");
    EXPECT("{% set t | upper %}abc{% endset %}{{ t }}", NULL, "ABC");
    EXPECT("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bo') }} {{ greet('Al', "
           "punct='?') }} {{ greet(name='Cy') }}",
           NULL, "Hi Bo! Hi Al? Hi Cy!");
    EXPECT("{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}body{% endcall %}", NULL, "<body>");
    EXPECT("{% filter upper %}shout {{ 'it' }}{% endfilter %}", NULL, "SHOUT IT");
    EXPECT("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a is defined }}", NULL, "3False");
    EXPECT("{% if false %}a{% elif 0 %}b{% elif [] %}c{% elif 'x' %}d{% else %}e{% endif %}", NULL, "d");
    EXPECT("{{ [1,2,3,4,5][1:3] }} {{ [1,2,3,4,5][::-1] }} {{ 'hello'[1:] }} {{ 'hello'[-3:-1] }} {{ [1,2,3][::2] }} "
           "{{ 'héllo'[1] }}",
           NULL, "[2, 3] [5, 4, 3, 2, 1] ello ll [1, 3] é");
    EXPECT("{{ 'b' in 'abc' }} {{ 1 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}", NULL, "True True True True");
    EXPECT("{{ 1 ~ 2 ~ 'x' ~ none ~ true }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'ab' * 3 }}", NULL,
           "12xNoneTrue ab [1, 2] ababab");
    EXPECT("{{ 1/2 }} {{ 7//2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2**10 }} {{ 3.0 }} {{ 1e20 }} {{ 1e-5 }} {{ 0.1+0.2 }} "
           "{{ 10/5 }} {{ 2.5 * 2 }} {{ 1e16 }} {{ 123456789.123 }}",
           NULL, "0.5 3 -4 2 1024 3.0 1e+20 1e-05 0.30000000000000004 2.0 5.0 1e+16 123456789.123");
    EXPECT("{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ x is string }} {{ i is "
           "number }} {{ f is float }} {{ i is integer }} {{ b is boolean }} {{ b is true }} {{ 1 is true }} {{ d is "
           "mapping }} {{ l is iterable }} {{ x is iterable }} {{ l is sequence }} {{ i is odd }} {{ i is even }} {{ 9 "
           "is divisibleby 3 }} {{ x is equalto 'x' }} {{ x is eq 'y' }} {{ i is ne 3 }} {{ y is iterable }}",
           "{\"x\": \"x\", \"n\": null, \"i\": 3, \"f\": 1.5, \"b\": true, \"d\": {}, \"l\": [1]}",
           "True False True True True True True True True True False True True True True True False True True False "
           "False True");
    EXPECT("{{ '  a b  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 'Hello' | upper }}{{ 'Hello' | lower }}|{{ 'hello "
           "world' | title }}|{{ 'hELLO' | capitalize }}",
           NULL, "a b|a|HELLOhello|Hello World|Hello");
    EXPECT("{{ [3,1,2] | length }} {{ 'abc' | count }} {{ [3,1,2] | first }} {{ [3,1,2] | last }} {{ [3,1,2] | "
           "join('-') }} {{ [3,1,2] | sort }} {{ [3,1,2] | sort(reverse=true) }} {{ [1,2,2,1] | unique | list }} {{ "
           "[1,2] | reverse | list }} {{ [1,2,3] | sum }} {{ [4,2,8] | min }} {{ [4,2,8] | max }}",
           NULL, "3 3 3 2 3-1-2 [1, 2, 3] [3, 2, 1] [1, 2] [2, 1] 6 2 8");
    EXPECT("{{ d | dictsort }} {{ d | items | list }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} "
           "{{ d.get('z', 0) }} {{ d.get('z') }}",
           "{\"d\": {\"b\": 2, \"a\": 1}}", "[('a', 1), ('b', 2)] [('b', 2), ('a', 1)] ['b', 'a'] [2, 1] 1 0 None");
    EXPECT("{{ u | default('dflt') }} {{ '' | default('e', true) }} {{ 'v' | d('x') }} {{ none | default('n') }}", NULL,
           "dflt e v None");
    EXPECT("{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | join(',') }} {{ ms | "
           "rejectattr('role', 'equalto', 'user') | list | length }} {{ ms | map(attribute='role') | unique | list }} "
           "{{ ms | selectattr('x', 'undefined') | list | length }}",
           "{\"ms\": [{\"role\": \"user\", \"c\": \"a\"}, {\"role\": \"bot\", \"c\": \"b\"}, {\"role\": \"user\", "
           "\"c\": \"c\"}]}",
           "a,c 1 ['user', 'bot'] 3");
    EXPECT("{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 0, 2, none] | select | list }} {{ [1, 2, 3] | "
           "reject('even') | list }} {{ ['a', 'b'] | map('upper') | list }}",
           NULL, "[1, 3] [1, 2] [1, 3] ['A', 'B']");
    EXPECT("{{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c' | replace('-', '', 1) }} {{ 'Hi There'.startswith('Hi') }} {{ "
           "'x.py'.endswith(('.py', '.c')) }} {{ '  pad '.strip() }}|{{ '\n\nx\n'.lstrip('\n') }}|{{ 'x  '.rstrip() "
           "}}|{{ 'abcba'.strip('ab') }}",
           NULL, "a+b+c ab-c True True pad|x\n|x|c");
    EXPECT("{{ 'a b  c '.split() }} {{ ' a b c '.rsplit(None, 1) }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.rsplit(',', "
           "1) }} {{ 'a,b,c'.split(',', 1) }} {{ '<t>x</t>y'.split('</t>')[-1] }}",
           NULL, "['a', 'b', 'c'] [' a b', 'c'] ['a', 'b', '', 'c'] ['a,b', 'c'] ['a', 'b,c'] y");
    EXPECT("{{ 'abc'.upper() }} {{ 'ABC'.lower() }} {{ 'hello world'.title() }} {{ 'hello'.capitalize() }} {{ "
           "'hello'.find('l') }} {{ 'héllo'.find('l') }} {{ 'hello'.count('l') }} {{ ', '.join(['a', 'b']) }} {{ '{} "
           "and {}'.format(1, 'b') }} {{ '{x}!'.format(x=3) }}",
           NULL, "ABC abc Hello World Hello 2 2 2 a, b 1 and b 3!");
    EXPECT("{{ x | tojson }} {{ x | tojson(indent=2) }} {{ 'é\"\n' | tojson }} {{ [] | tojson }} {{ {} | "
           "tojson(indent=4) }} {{ 1.0 | tojson }}",
           "{\"x\": {\"a\": [1, 2.5, true, null, \"s\"], \"b\": {}}}",
           "{\"a\": [1, 2.5, true, null, \"s\"], \"b\": {}} {\n  \"a\": [\n    1,\n    2.5,\n    true,\n    null,\n    "
           "\"s\"\n  ],\n  \"b\": {}\n} \"é\\\"\\n\" [] {} 1.0");
    EXPECT("{{ x | string }} {{ 42 | string }} {{ [1, 'a'] | string }} {{ 'x' ~ {'a': none} }} {{ (1,) }} {{ (1, 2) }}",
           "{\"x\": {\"k\": \"v\"}}", "{'k': 'v'} 42 [1, 'a'] x{'a': None} (1,) (1, 2)");
    EXPECT("{{ '3' | int + 1 }} {{ '3.7' | int }} {{ 'z' | int }} {{ '2.5' | float }} {{ 3 | float }} {{ 2.5 | round "
           "}} {{ 3.14159 | round(2) }} {{ -3 | abs }} {{ 3.7 | round(0, 'floor') }}",
           NULL, "4 3 0 2.5 3.0 2.0 3.14 3 3.0");
    EXPECT("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'one two  three' | wordcount }}|{{ '<a "
           "href=\"x\">' | e }}",
           NULL, "a\n  b\n\n  c|  a\n  b|3|&lt;a href=&#34;x&#34;&gt;");
    EXPECT("{{ [1,2,3,4,5] | batch(2) | list }} {{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ 'abc' | list }} "
           "{{ 'abc' | reverse }}",
           NULL, "[[1, 2], [3, 4], [5]] [0, 1, 2] [1, 4, 7] ['a', 'b', 'c'] cba");
    EXPECT("line1\n  {% if true %}\n  x\n  {% endif %}\nend", NULL, "line1\n  x\nend");
    EXPECT("a\n{%- if true %}\n   b\n{% endif -%}\n  c", NULL, "a   b\nc");
    EXPECT("  {# comment #}\nx {#- trimmed -#}  y", NULL, "xy");
    EXPECT("{{- ' a ' -}}  |  {{ 'b' }}  {%+ if true %}k{% endif %}", NULL, " a |  b  k");
    EXPECT("{% raw %}{{ not evaluated }}{% endraw %}", NULL, "{{ not evaluated }}");
    EXPECT("{%- set x = 1 -%}\n\n  {{ x }}  \n{%- for i in [1] %}\n    {{ i }}\n{% endfor %}", NULL, "1    1\n");
    EXPECT("{% for m in ms %}{% for n in [1, 2] %}{{ loop.index }}{% endfor %}{{ loop.index }};{% endfor %}",
           "{\"ms\": [1, 2]}", "121;122;");
    EXPECT("{{ none }} {{ true }} {{ 1 == 1.0 }} {{ [1, 2] == [1, 2] }} {{ {'a': 1} == {'a': 1} }} {{ 'a' < 'b' }} {{ "
           "1 < 2 < 3 }} {{ not 1 }} {{ 1 and 'x' }} {{ 0 or 'y' }} {{ 'x' if false }}|{{ 'x' if false else 'z' }}",
           NULL, "None True True True True True True False x y |z");
    EXPECT("{{ foo }}|{{ foo | length }}|{{ foo | trim }}|{{ foo ~ 'x' }}|{% for a in foo %}z{% endfor %}|{{ foo is "
           "iterable }}|{{ d.missing }}|{{ d.missing is defined }}",
           "{\"d\": {}}", "|0||x||True||False");
    EXPECT("{{ \"\\u00e9\\x41\\t|\\101\" }} {{ 'it\\'s' }} {{ \"a\" 'b' }}", NULL, "éA\t|A it's ab");
    EXPECT("{% for x in [[1, 2], [3, 4]] %}{% for y in x %}{{ y }}{% endfor %}{% endfor %}", NULL, "1234");
    EXPECT("{% for a, b in [[1, 2], [3, 4]] %}{{ a }}{{ b }},{% endfor %}", NULL, "12,34,");
    EXPECT(
        "{{ messages[0]['role'] }} {{ messages[0].content }} {{ messages[-1].role }} {{ messages | length - 1 }}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}",
        "user hi assistant 1");
    EXPECT("{%- for item in tree recursive %}[{{ item.name }}{% if item.kids %}{{ loop(item.kids) }}{% endif %}]{% "
           "endfor %}",
           "{\"tree\": [{\"name\": \"a\", \"kids\": [{\"name\": \"b\", \"kids\": []}]}, {\"name\": \"c\"}]}",
           "[a[b]][c]");
    EXPECT("{% for x in [1, 2, 3] %}{{ loop.cycle('odd', 'even') }}{% endfor %}", NULL, "oddevenodd");
    EXPECT("{{ 'x' | center(5) }}|{{ 'ab' | format }}|{{ '%s-%d' | format('a', 3) }}|{{ '%s!' % 'hi' }}|{{ '%.2f' % "
           "1.5 }}",
           NULL, "  x  |ab|a-3|hi!|1.50");
    EXPECT("{{ namespace(a=1).a }} {{ dict(a=1) }} {% set j = joiner(', ') %}{% for x in [1, 2] %}{{ j() }}{{ x }}{% "
           "endfor %}",
           NULL, "1 {'a': 1} 1, 2");
}

/* More cases with a realistic context, checked the same way (Python jinja2 3.1.6 configured like
 * transformers produced every expected string): str methods, slicing, filters over messages,
 * numbers, tests, scoping, whitespace control in multi-line templates. */
#define CTX                                                                                                          \
    "{\"messages\": [{\"role\": \"system\", \"content\": \"  Sys  prompt\\n\"}, {\"role\": \"user\", \"content\": "  \
    "\"Héllo, wörld! a,b;c  d\"}, {\"role\": \"assistant\", \"content\": \"<think>\\nx\\n</think>\\n\\nAns\"}], "  \
    "\"tools\": null, \"documents\": null, \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": " \
    "\"</s>\"}"
static void test_differential(void) {
    EXPECT("{% for m in messages %}{{ m.content.split() }}|{{ m.content.split(',') }}|{{ m.content.rsplit(' ', 1) "
           "}}|{{ m.content.split(None, 1) }}|{{ m.content.rsplit(None, 2) }}{% endfor %}",
           CTX,
           "['Sys', 'prompt']|['  Sys  prompt\\n']|['  Sys ', 'prompt\\n']|['Sys', 'prompt\\n']|['Sys', "
           "'prompt']['Héllo,', 'wörld!', 'a,b;c', 'd']|['Héllo', ' wörld! a', 'b;c  d']|['Héllo, wörld! a,b;c ', "
           "'d']|['Héllo,', 'wörld! a,b;c  d']|['Héllo, wörld!', 'a,b;c', 'd']['<think>', 'x', '</think>', "
           "'Ans']|['<think>\\nx\\n</think>\\n\\nAns']|['<think>\\nx\\n</think>\\n\\nAns']|['<think>', "
           "'x\\n</think>\\n\\nAns']|['<think>\\nx', '</think>', 'Ans']");
    EXPECT("{% for m in messages %}{{ m.content.strip() }}|{{ m.content.lstrip() }}|{{ m.content.rstrip('\\n') }}|{{ "
           "m.content.strip(' S') }}{% endfor %}",
           CTX,
           "Sys  prompt|Sys  prompt\n|  Sys  prompt|ys  prompt\nHéllo, wörld! a,b;c  d|Héllo, wörld! a,b;c  d|Héllo, "
           "wörld! a,b;c  d|Héllo, wörld! a,b;c  "
           "d<think>\nx\n</think>\n\nAns|<think>\nx\n</think>\n\nAns|<think>\nx\n</think>\n\nAns|<think>\nx\n</"
           "think>\n\nAns");
    EXPECT("{% for m in messages %}{{ m.content | trim | upper }}|{{ m.content | title }}|{{ m.content.title() }}|{{ "
           "m.content.capitalize() }}|{{ m.content.swapcase() }}{% endfor %}",
           CTX,
           "SYS  PROMPT|  Sys  Prompt\n|  Sys  Prompt\n|  sys  prompt\n|  sYS  PROMPT\nHÉLLO, WÖRLD! A,B;C  D|Héllo, "
           "Wörld! A,b;c  D|Héllo, Wörld! A,B;C  D|Héllo, wörld! a,b;c  d|hÉLLO, WÖRLD! A,B;C  "
           "D<THINK>\nX\n</THINK>\n\nANS|<Think>\nX\n</think>\n\nAns|<Think>\nX\n</Think>\n\nAns|<think>\nx\n</"
           "think>\n\nans|<THINK>\nX\n</THINK>\n\naNS");
    EXPECT("{% for m in messages %}{{ m.content.find('o') }},{{ m.content.rfind('o') }},{{ m.content.count('o') }},{{ "
           "m.content.count('') }},{{ m.content.find('zz') }}{% endfor %}",
           CTX, "9,9,1,15,-14,4,1,23,-1-1,-1,0,24,-1");
    EXPECT("{% for m in messages %}{{ m.content[2:5] }}|{{ m.content[-3:] }}|{{ m.content[::2] }}|{{ m.content[::-1] "
           "}}|{{ m.content[10:2:-2] }}{% endfor %}",
           CTX,
           "Sys|pt\n| Ss rmt|\ntpmorp  syS  |mr sllo|  d|Hlo öl!abc |d  c;b,a !dlröw ,olléH|lö "
           "ohin|Ans|<hn>x<tik\nAs|snA\n\n>kniht/<\nx\n>kniht<|<x>n");
    EXPECT("{% for m in messages %}{{ m.content.replace('', '-') }}|{{ m.content.replace('o', 'O', 1) }}{% endfor %}",
           CTX,
           "- - -S-y-s- - -p-r-o-m-p-t-\n-|  Sys  prOmpt\n-H-é-l-l-o-,- -w-ö-r-l-d-!- -a-,-b-;-c- - -d-|HéllO, wörld! "
           "a,b;c  d-<-t-h-i-n-k->-\n-x-\n-<-/-t-h-i-n-k->-\n-\n-A-n-s-|<think>\nx\n</think>\n\nAns");
    EXPECT("{{ messages | map(attribute='role') | join(', ') }} {{ messages | tojson }} {{ messages[0] | "
           "tojson(indent=2) }} {{ messages | tojson(sort_keys=true) }}",
           CTX,
           "system, user, assistant [{\"role\": \"system\", \"content\": \"  Sys  prompt\\n\"}, {\"role\": \"user\", "
           "\"content\": \"Héllo, wörld! a,b;c  d\"}, {\"role\": \"assistant\", \"content\": "
           "\"<think>\\nx\\n</think>\\n\\nAns\"}] {\n  \"role\": \"system\",\n  \"content\": \"  Sys  prompt\\n\"\n} "
           "[{\"content\": \"  Sys  prompt\\n\", \"role\": \"system\"}, {\"content\": \"Héllo, wörld! a,b;c  d\", "
           "\"role\": \"user\"}, {\"content\": \"<think>\\nx\\n</think>\\n\\nAns\", \"role\": \"assistant\"}]");
    EXPECT("{{ messages | selectattr('role', 'in', ['user', 'system']) | list | length }} {{ messages | "
           "map(attribute='content') | map('length') | list }} {{ messages | sort(attribute='role') | "
           "map(attribute='role') | list }}",
           CTX, "2 [14, 22, 23] ['assistant', 'system', 'user']");
    EXPECT("{{ messages | sort(attribute='content', reverse=true) | map(attribute='role') | join }} {{ ['b', 'A', 'a', "
           "'B'] | sort }} {{ ['b', 'A', 'a', 'B'] | sort(case_sensitive=true) }} {{ ['b', 'A', 'a'] | unique | list "
           "}} {{ ['b','A','a'] | max }} {{ ['b','A','a'] | min }}",
           CTX, "userassistantsystem ['A', 'a', 'b', 'B'] ['A', 'B', 'a', 'b'] ['b', 'A'] b A");
    EXPECT("{{ 7 / 2 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** -1 }} {{ 10 ** 20 if false else 1 }} {{ 1e300 * 1e10 }} "
           "{{ -0.0 }} {{ 1/3 }} {{ 2/3*3 }} {{ 100.0 }} {{ 1234567890123456789.0 }} {{ 0.000123 }}",
           CTX, "3.5 3.0 0.5 0.5 1 inf -0.0 0.3333333333333333 2.0 100.0 1.2345678901234568e+18 0.000123");
    EXPECT("{{ '%s|%5s|%-5s|%d|%05d|%.3f|%x|%r' % ('a', 'b', 'c', 42, 7, 3.14159, 255, 'q') }}", CTX,
           "a|    b|c    |42|00007|3.142|ff|'q'");
    EXPECT("{{ '{0}-{1}-{0}'.format('a', 'b') }} {{ '{{x}}'.format() }} {{ 'a{}b'.format(none) }}", CTX,
           "a-b-a {x} aNoneb");
    EXPECT("{% set x = [1, [2, 3], {'k': (4, 5)}] %}{{ x }} {{ x | string }} {{ x[1][0] }} {{ x[2].k[1] }} {{ x | "
           "length }} {{ x[5] is defined }}",
           CTX, "[1, [2, 3], {'k': (4, 5)}] [1, [2, 3], {'k': (4, 5)}] 2 5 3 False");
    EXPECT("{{ namespace(a=1) }} {{ range(5) | list }} {{ range(5, 0, -2) | list }} {{ range(0) | list }} {{ dict(a=1, "
           "b=[2]) | dictsort }}",
           CTX, "<Namespace {'a': 1}> [0, 1, 2, 3, 4] [5, 3, 1] [] [('a', 1), ('b', [2])]");
    EXPECT("{{ 'abc' is string }} {{ 1 is number }} {{ true is number }} {{ none is none }} {{ [] is iterable }} {{ {} "
           "is sequence }} {{ 'a' is lower }} {{ 'A' is upper }} {{ 3 is gt 2 }} {{ 3 is ge 3 }} {{ 2 is lt 1 }} {{ 2 "
           "is in [1, 2] }}",
           CTX, "True True True True True True True True True True False True");
    EXPECT("{% for a in messages %}{% for b in messages %}{% if loop.index == 2 %}{% break %}{% endif %}{{ loop.index "
           "}}{{ loop.length }}{% endfor %}{{ loop.revindex }}{% endfor %}",
           CTX, "133132131");
    EXPECT("{% for k, v in {'a': 1, 'b': 2} | dictsort(reverse=true) %}{{ k }}{{ v }}{% endfor %} {% for k, v in {'b': "
           "1, 'a': 2} | dictsort(by='value') %}{{ k }}{% endfor %}",
           CTX, "b2a1 ba");
    EXPECT("{{ '  x\\n\\n  y  ' | indent(3) }}|{{ 'x\\ny\\n' | indent(2, first=true, blank=true) }}|{{ 'x\\n\\ny' | "
           "indent('> ') }}",
           CTX, "  x\n\n     y  |  x\n  y\n  |x\n\n> y");
    EXPECT("{{ 'x' ~ 1.5 ~ 2 ~ [1] }} {{ 'ab' < 'b' }} {{ [1, 2] < [1, 3] }} {{ (1, 2) == (1, 2) }} {{ [1, 2] == (1, "
           "2) }} {{ 1 == true }} {{ 0 == false }} {{ 'a' == 'a' }}",
           CTX, "x1.52[1] True True True False True True True");
    EXPECT("{% if messages[0].role == 'system' %}{% set sys = messages[0].content | trim %}{% set rest = messages[1:] "
           "%}{% else %}{% set rest = messages %}{% endif %}{{ sys }}|{{ rest | length }}",
           CTX, "Sys  prompt|2");
    EXPECT("{{- \"x\" -}}", CTX, "x");
    EXPECT("   {{ 'a' }}   {# c #}   {{ 'b' }}", CTX, "   a      b");
    EXPECT("    {{ i }}", CTX, "    ");
    EXPECT("{{ messages[0]['content'] | wordcount }} {{ messages[1].content | wordcount }} {{ 'a-b c_d' | wordcount }}",
           CTX, "2 6 3");
    EXPECT("{{ 3.7 | int }} {{ '  12  ' | int }} {{ '0x1A' | int(0, 16) }} {{ '1e3' | float }} {{ 'abc' | float(1.5) "
           "}} {{ true | int }} {{ 2.675 | round(2) }} {{ 0.5 | round }} {{ 1.5 | round }} {{ -2.5 | round }} {{ 5 | "
           "round(1) }}",
           CTX, "3 12 26 1000.0 1.5 1 2.67 0.0 2.0 -2.0 5");
    EXPECT("{{ messages.0.role }} {{ messages[0]['role'] }} {{ messages[-1]['content'][:4] }} {{ (messages | "
           "last).role }} {{ (messages | first)['role'] }}",
           CTX, "system system <thi assistant system");
    EXPECT("{% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.found "
           "= true %}{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.found }}{{ ns.n }}",
           CTX, "True3");
    EXPECT("{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }}{{ ', ' if not loop.last }}{% "
           "else %}none{% endfor %}",
           CTX, "1:user, 2:assistant");
    EXPECT("{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.role "
           "if loop.nextitem else '-' }} {% endfor %}",
           CTX, "->user system>assistant user>- ");
    EXPECT("{{ messages | selectattr('role', 'equalto', 'assistant') | map(attribute='content') | first | truncate if "
           "false else 'ok' }}",
           CTX, "ok");
    EXPECT("{{ messages | rejectattr('content', 'string') | list }} {{ messages | selectattr('tool_calls', 'defined') "
           "| list }} {{ messages | map(attribute='missing', default='d') | list }}",
           CTX, "[] [] ['d', 'd', 'd']");
    EXPECT("{% if messages[1].content is not none and messages[1].content.startswith('Hé') %}yes{% endif %} {{ 'Hé' in "
           "messages[1].content }} {{ messages[1].content.endswith(('d', 'x')) }}",
           CTX, "yes True True");
    EXPECT("{{ messages[2].content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}|{{ "
           "messages[2].content.split('</think>')[-1].lstrip('\\n') }}",
           CTX, "x|Ans");
    EXPECT("{{ 'a' * 0 }}|{{ [0] * 3 }}|{{ 3 * 'ab' }}|{{ -1 * 'x' }}|{{ 1 + 2.0 }}|{{ true + 1 }}|{{ 5 % 3 }}|{{ -5 % "
           "3 }}|{{ 5 % -3 }}|{{ 5.5 % 2 }}",
           CTX, "|[0, 0, 0]|ababab||3.0|2|2|1|-1|1.5");
    EXPECT("{{ none is not none }} {{ not none }} {{ none == none }} {{ [] == [] }} {{ {} is mapping }} {{ messages is "
           "sequence }} {{ messages[0] is mapping }} {{ 'x' is sequence }}",
           CTX, "False True True True True True True True");
    EXPECT("{%- set d = {'b': 1, 'a': 2, 'c': {'z': [1, 'two']}} -%}{{ d | tojson }} {{ d | tojson(sort_keys=true) }} "
           "{{ d | tojson(indent=1) }} {{ d | tojson(separators=(',', ':')) }} {{ d.items() | list }}",
           CTX,
           "{\"b\": 1, \"a\": 2, \"c\": {\"z\": [1, \"two\"]}} {\"a\": 2, \"b\": 1, \"c\": {\"z\": [1, \"two\"]}} {\n "
           "\"b\": 1,\n \"a\": 2,\n \"c\": {\n  \"z\": [\n   1,\n   \"two\"\n  ]\n }\n} "
           "{\"b\":1,\"a\":2,\"c\":{\"z\":[1,\"two\"]}} [('b', 1), ('a', 2), ('c', {'z': [1, 'two']})]");
    EXPECT("{{ \"tab\\there\" }} {{ 'quote\"s' | tojson }} {{ '\\u0001\\u001f' | tojson }} {{ 'ü€😀' | tojson }} {{ "
           "'ü€😀' | length }} {{ 'ü€😀'[1:] }} {{ 'ü€😀' | reverse }} {{ 'ü€😀'.upper() }}",
           CTX, "tab\there \"quote\\\"s\" \"\\u0001\\u001f\" \"ü€😀\" 3 €😀 😀€ü Ü€😀");
    EXPECT(
        "{{ \"%s and %s\" | format(\"a\", \"b\") }} {{ \"%(x)s!\" | format(x=1) }} {{ '%c' if false else '%%' % () }}",
        CTX, "a and b 1! %");
    EXPECT("{{ (1, 2, 3)[1:] }} {{ [1, 2, 3][-1:] }} {{ [1, 2, 3][5:] }} {{ 'abc'[-10:2] }} {{ 'abc'[1:-1] }} {{ "
           "[1,2,3,4][::-2] }}",
           CTX, "(2, 3) [3] [] ab b [4, 2]");
    EXPECT("{{ 1 if messages else 0 }} {{ messages and 'y' }} {{ [] or 'empty' }} {{ not messages }} {{ messages | "
           "length > 2 }} {{ messages | count == 3 and messages[0].role == 'system' }}",
           CTX, "1 y empty False True True");
    EXPECT("{% set a = 1 %}{% if true %}{% set a = 2 %}{% endif %}{{ a }}{% for i in [1] %}{% set a = 3 %}{{ a }}{% "
           "endfor %}{{ a }}{% with %}{% set a = 4 %}{{ a }}{% endwith %}{{ a }}",
           CTX, "23242");
    EXPECT("{% set out %}{% for m in messages %}{{ m.role[0] }}{% endfor %}{% endset %}{{ out | upper }}{{ out | "
           "length }}",
           CTX, "SUA3");
    EXPECT("{{ ['a', 'b'] | join }} {{ [1, 2] | join('+') }} {{ messages | join(',', attribute='role') }} {{ [none, "
           "true, 1.0] | join(' ') }}",
           CTX, "ab 1+2 system,user,assistant None True 1.0");
    EXPECT("{{ 'Hello World' | lower | replace('world', 'there') | capitalize | center(15) }}|{{ 'ab' | center(7) "
           "}}|{{ 'abc' | center(2) }}",
           CTX, "  Hello there  |   ab  |abc");
    EXPECT("{{ '1,2,3'.split(',') | map('int') | sum }} {{ ['3', '1', '2'] | map('int') | sort | list }} {{ [1.5, "
           "2.25] | sum }} {{ [1, 2, 3] | map('string') | join('-') }}",
           CTX, "6 [1, 2, 3] 3.75 1-2-3");
    EXPECT("{{ range(3) | reverse | list }} {{ 'abc' | list | reverse | join }} {{ [3, 1, 2] | sort | first }} {{ [] | "
           "first is defined }} {{ [] | max is defined }}",
           CTX, "[2, 1, 0] cba 1 False False");
    EXPECT("{{ '  '.join(['a', 'b']) }} {{ ''.join([]) }} {{ '-'.join('abc') }} {{ 'a b'.split(' ') }} {{ ''.split() "
           "}} {{ ''.split(',') }} {{ 'a  b'.split(' ') }}",
           CTX, "a  b  a-b-c ['a', 'b'] [] [''] ['a', '', 'b']");
    EXPECT("{{ 'abc'.startswith('') }} {{ 'abc'.endswith('bc', 1) }} {{ 'abc'.startswith('b', 1) }} {{ "
           "'abcabc'.find('c', 3) }} {{ 'abcabc'.rfind('a', 0, 3) }} {{ 'abc'.index('c') }}",
           CTX, "True True True 5 0 2");
    EXPECT("{{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'x'.zfill(3) }} {{ 'abc'.removeprefix('a') }} {{ "
           "'abc'.removesuffix('bc') }} {{ 'ABC'.isupper() }} {{ '123'.isdigit() }} {{ ' '.isspace() }} {{ "
           "'a1'.isalnum() }}",
           CTX, "['a', 'b', 'c'] 00x bc a True True True True");
    EXPECT("{{ {'a': 1}.get('a') }} {{ {'a': 1}.get('b', 'dflt') }} {{ {'a': 1}.keys() | list }} {{ {'a': 1}['a'] }} "
           "{{ {'a': {'b': 2}}.a.b }} {{ {1: 'int key'}[1] }} {{ {'x': 1} | length }}",
           CTX, "1 dflt ['a'] 1 2 int key 1");
    EXPECT("{{ [1, 2, 2, 3].count(2) }} {{ [1, 2, 3].index(3) }} {{ (1, 2).count(1) }}", CTX, "2 2 1");
    EXPECT("{{ messages | selectattr('role', 'equalto', 'assistant') | map(attribute='content') | first | truncate if "
           "false else 'ok' }}",
           CTX, "ok");
    EXPECT("{{ 'Hello wonderful world of templates' | truncate(20) }}|{{ 'Hello wonderful world of templates' | "
           "truncate(20, true) }}|{{ 'short' | truncate(3, leeway=0, end='') }}|{{ 'abcdefghijkl' | truncate(9, "
           "end='..') }}|{{ ('x' * 300) | truncate | length }}|{% if false %}{{ 300 | truncate }}{% endif %}",
           CTX, "Hello wonderful...|Hello wonderful w...|sho|abcdefghijkl|255|");
    EXPECT("{%- for message in messages -%}\n    {%- if loop.first %}[{{ message.role }}]{% endif -%}\n    {{ "
           "message.content | trim }}\n{% endfor -%}\n{{- \"x\" -}}\n   {{ 'a' }}   {# c #}   {{ 'b' }}\n  {% for i in "
           "[1,2] %}\n    {{ i }}\n  {% endfor %}",
           CTX, "[system]Sys  prompt\nHéllo, wörld! a,b;c  d\n<think>\nx\n</think>\n\nAns\nxa      b\n    1\n    2\n");
    EXPECT("{% macro render(m, prefix='') -%}\n{{ prefix }}{{ m.role | upper }}: {{ m.content | trim }}\n{%- endmacro "
           "%}\n{% for m in messages %}\n  {{ render(m, prefix='* ') }}\n{% endfor %}",
           CTX,
           "  * SYSTEM: Sys  prompt\n  * USER: Héllo, wörld! a,b;c  d\n  * ASSISTANT: <think>\nx\n</think>\n\nAns\n");
    EXPECT(
        "{{ bos_token }}{% for m in messages %}\n  {%- if m.role == 'system' %}\n    <<SYS>>{{ m.content }}<</SYS>>\n  "
        "{%+ elif m.role == 'user' -%}\n    [INST] {{ m.content }} [/INST]\n  {% else %}\n {{ m.content }}{{ eos_token "
        "}}\n  {% endif %}\n{% endfor %}\n{% if add_generation_prompt %}  ASSISTANT:{% endif %}\n",
        CTX,
        "<s>    <<SYS>>  Sys  prompt\n<</SYS>>\n  [INST] Héllo, wörld! a,b;c  d [/INST]\n "
        "<think>\nx\n</think>\n\nAns</s>\n  ASSISTANT:");
}
#undef CTX

/* Syntax errors, unknown filters and tests, raise_exception and runtime errors: a status and one
 * message with the line and column of the offending tag or expression. */
static void test_errors(void) {
    EXPECT_ERROR("{{ x | nofilter }}", NULL, NPG_ERR_FORMAT, "line 1, column 8: no filter named 'nofilter'");
    /* unknown names are refused at compile time even in branches that never run, like jinja2 */
    EXPECT_ERROR("{% if false %}\n  {{ x | bogus(1) }}{% endif %}", NULL, NPG_ERR_FORMAT,
                 "line 2, column 10: no filter named 'bogus'");
    EXPECT_ERROR("{% if x is nosuchtest %}{% endif %}", NULL, NPG_ERR_FORMAT,
                 "line 1, column 12: no test named 'nosuchtest'");
    EXPECT_ERROR("{{ [1] | select('nosuch') | list }}", NULL, NPG_ERR_FORMAT,
                 "line 1, column 10: no test named 'nosuch'");
    EXPECT_ERROR(
        "a\n{% for x in y %}\n{{ x }}", NULL, NPG_ERR_FORMAT,
        "line 3, column 8: unexpected end of template; expected 'endfor' or 'else' to close the tag at line 2, "
        "column 4");
    EXPECT_ERROR("{{ 1 + }}", NULL, NPG_ERR_FORMAT,
                 "line 1, column 8: expected an expression, got end of print statement");
    EXPECT_ERROR("x\n  {% endif %}", NULL, NPG_ERR_FORMAT, "line 2, column 6: unexpected 'endif' with no open block");
    EXPECT_ERROR("{% if x %}{% endfor %}", NULL, NPG_ERR_FORMAT,
                 "line 1, column 14: unexpected 'endfor'; expected 'elif' or 'else' or 'endif' to close the tag at "
                 "line 1, column 4");
    EXPECT_ERROR("{{ 'abc }}", NULL, NPG_ERR_FORMAT, "line 1, column 4: unterminated string literal");
    EXPECT_ERROR("{{ x ", NULL, NPG_ERR_FORMAT, "line 1, column 1: unexpected end of template: '{{' is never closed");
    EXPECT_ERROR("{% frobnicate %}", NULL, NPG_ERR_FORMAT, "line 1, column 4: encountered unknown tag 'frobnicate'");
    EXPECT_ERROR("{% break %}", NULL, NPG_ERR_FORMAT, "line 1, column 4: 'break' outside of a loop");
    EXPECT_ERROR("{% include 'x.j2' %}", NULL, NPG_ERR_FORMAT,
                 "line 1, column 4: the 'include' tag is not supported in chat templates");
    EXPECT_ERROR("{# never closed", NULL, NPG_ERR_FORMAT, "line 1, column 3: missing end of comment tag");
    /* raise_exception keeps its message verbatim after the position of the call */
    EXPECT_ERROR("ok\n  {{- raise_exception('Conversation roles must ' ~ 'alternate') }}", NULL,
                 NPG_ERR_INVALID_ARGUMENT, "line 2, column 7: Conversation roles must alternate");
    EXPECT_ERROR("{{ foo.bar }}", NULL, NPG_ERR_INVALID_ARGUMENT, "line 1, column 7: 'foo' is undefined");
    EXPECT_ERROR("{{ d.a.b }}", "{\"d\": {}}", NPG_ERR_INVALID_ARGUMENT,
                 "line 1, column 7: 'dict object' has no attribute 'a'");
    EXPECT_ERROR("{{ 1 / 0 }}", NULL, NPG_ERR_INVALID_ARGUMENT, "line 1, column 6: division by zero");
    EXPECT_ERROR("{{ 'a' + 1 }}", NULL, NPG_ERR_INVALID_ARGUMENT,
                 "line 1, column 8: can only concatenate str (not \"int\") to str");
    EXPECT_ERROR("{% set l = [1] %}{{ l.append(2) }}", NULL, NPG_ERR_INVALID_ARGUMENT,
                 "line 1, column 22: 'list object' has no attribute 'append'");
    EXPECT_ERROR("{% for x in none %}{% endfor %}", NULL, NPG_ERR_INVALID_ARGUMENT,
                 "line 1, column 13: for: 'NoneType' object is not iterable");
    EXPECT_ERROR("{% set x.y = 1 %}", NULL, NPG_ERR_INVALID_ARGUMENT,
                 "line 1, column 4: cannot assign attribute 'y' on non-namespace object 'x'");
    EXPECT_ERROR("{{ ['a'] | sum(start='') }}", NULL, NPG_ERR_INVALID_ARGUMENT,
                 "line 1, column 12: sum() can't sum strings [use ''.join(seq) instead]");
    EXPECT_ERROR("{{ 300 | truncate }}", NULL, NPG_ERR_INVALID_ARGUMENT,
                 "line 1, column 10: filter 'truncate': object of type 'int' has no len()");
    EXPECT_ERROR("{{ '%99999d' % 1 }}", NULL, NPG_ERR_LIMIT,
                 "line 1, column 14: format: width or precision above 4096");
    EXPECT_ERROR("{{ x | tojson }}", NULL, NPG_ERR_INVALID_ARGUMENT,
                 "line 1, column 8: tojson: Object of type Undefined is not JSON serializable");
}

/* Robustness: every shared template, mutated (bytes replaced by template punctuation, cut short,
 * spans duplicated), must compile and render or fail with a message — never crash, hang or leak
 * (this test runs under ASan+UBSan in CI). A fixed xorshift seed keeps it deterministic. */
static void test_mutations(void) {
    static const char *const sources[] = {
        "chat-templates/HuggingFaceTB-SmolLM3-3B.jinja",
        "chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja",
        "chat-templates/Qwen-Qwen3-0.6B.jinja",
        "chat-templates/google-gemma-2-2b-it.jinja",
        "chat-templates/meta-llama-Llama-3.1-8B-Instruct.jinja",
        "chat-templates/microsoft-Phi-3.5-mini-instruct.jinja",
        "chat-templates/mistralai-Mistral-Nemo-Instruct-2407.jinja",
        "tokenizers/gemma3/tokenizer_config.json",
        "tokenizers/llama3_2/tokenizer_config.json",
    };
    static const char alphabet[] = "{}%#-+()[]'\".|~=!<>,:*/ \nabcdefinorstux0123456789";
    cJSON *ctx = cJSON_Parse("{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", "
                             "\"content\": \"u\"}, {\"role\": \"assistant\", \"content\": \"a\"}], "
                             "\"add_generation_prompt\": true, \"tools\": null, \"bos_token\": \"<s>\"}");
    REQUIRE(ctx);
    uint64_t rng = 0x9E3779B97F4A7C15u;
    int rendered = 0, failed = 0;
    for (size_t s = 0; s < sizeof sources / sizeof sources[0]; s++) {
        char *src = load_template(sources[s]);
        REQUIRE(src);
        size_t n = strlen(src);
        char *buf = malloc(2 * n + 1);
        REQUIRE(buf);
        for (int iter = 0; iter < 150; iter++) {
            memcpy(buf, src, n + 1);
            size_t len = n;
            for (int m = 0; m < 1 + iter % 4; m++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                size_t at = (size_t)(rng % (len ? len : 1));
                switch ((rng >> 32) % 3) {
                case 0: /* template punctuation, now and then any byte (NUL, invalid UTF-8) */
                    buf[at] = ((rng >> 50) & 7) ? alphabet[(rng >> 40) % (sizeof alphabet - 1)] : (char)(rng >> 56);
                    break;
                case 1: len = at; break;
                default: { /* duplicate a short span */
                    size_t span = (size_t)((rng >> 20) % 16);
                    if (at + span <= len && len + span <= 2 * n) {
                        memmove(buf + at + span, buf + at, len - at);
                        len += span;
                    }
                }
                }
            }
            npg_template *t = NULL;
            char *out = NULL;
            npg_status st = npg_template_compile(buf, len, &t);
            if (st == NPG_OK)
                st = npg_template_render(t, ctx, NULL, &out);
            if (st == NPG_OK)
                rendered++;
            else {
                failed++;
                /* every refusal names its position */
                if (strncmp(npg_last_error(), "line ", 5) != 0) {
                    fprintf(stderr, "%s mutation %d: %s\n", sources[s], iter, npg_last_error());
                    npg_test_failures++;
                }
            }
            free(out);
            npg_template_free(t);
        }
        free(buf);
        free(src);
    }
    fprintf(stderr, "mutated templates: %d rendered, %d refused with a message\n", rendered, failed);
    CHECK(rendered > 0 && failed > 0);
    cJSON_Delete(ctx);
}

/* Work is bounded: a runaway template fails with NPG_ERR_LIMIT (the default bound is 1,000,000
 * steps; a small one keeps this quick). Options also pin strftime_now's clock. */
static void test_limits_and_options(void) {
    npg_template *t = NULL;
    const char *src = "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}";
    REQUIRE_OK(npg_template_compile(src, strlen(src), &t));
    npg_template_options o = {.max_steps = 5000};
    char *out = NULL;
    CHECK(npg_template_render(t, NULL, &o, &out) == NPG_ERR_LIMIT);
    CHECK(strcmp(npg_last_error(), "line 1, column 30: template runs more than 5000 steps (statements, loop "
                                   "iterations, calls)") == 0);
    CHECK(out == NULL);
    npg_template_free(t);
    src = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    REQUIRE_OK(npg_template_compile(src, strlen(src), &t));
    CHECK(npg_template_render(t, NULL, NULL, &out) == NPG_ERR_LIMIT);
    CHECK(strstr(npg_last_error(), "macro calls nested deeper than 128 levels") != NULL);
    npg_template_free(t);
    /* strftime_now formats the pinned instant (local time; TZ=UTC set in main) */
    src = "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%dT%H:%M') }}";
    REQUIRE_OK(npg_template_compile(src, strlen(src), &t));
    npg_template_options pin = {.pin_time = true, .now = 1721952000}; /* 2024-07-26 00:00 UTC */
    REQUIRE_OK(npg_template_render(t, NULL, &pin, &out));
    CHECK(strcmp(out, "26 Jul 2024|2024-07-26T00:00") == 0);
    free(out);
    npg_template_free(t);
}

int main(void) {
    setenv("TZ", "UTC", 1);
    RUN(test_goldens);
    RUN(test_semantics);
    RUN(test_differential);
    RUN(test_errors);
    RUN(test_mutations);
    RUN(test_limits_and_options);
    return npg_test_summary();
}
