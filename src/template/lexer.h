/* lexer.h — splits a template into text and tag tokens the way Jinja2's lexer does with Hugging
 * Face's settings (trim_blocks, lstrip_blocks, keep_trailing_newline off).
 *
 * Whitespace control happens here, as in Jinja2: text tokens come out already trimmed by `{%-`,
 * `-%}`, `{{-`, `-}}`, `{#-`, `-#}`, by trim_blocks (the newline after `%}` / `#}`) and by
 * lstrip_blocks (indentation before `{%` / `{#` on its own line). Comments disappear and
 * `{% raw %}...{% endraw %}` becomes one text token. */
#ifndef NPG_TEMPLATE_LEXER_H
#define NPG_TEMPLATE_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "template/value.h"

typedef enum npg_ttok_kind {
    NPG_TK_EOF = 0,
    NPG_TK_DATA,        /* s: literal text */
    NPG_TK_VAR_BEGIN,   /* {{ */
    NPG_TK_VAR_END,     /* }} */
    NPG_TK_BLOCK_BEGIN, /* {% */
    NPG_TK_BLOCK_END,   /* %} */
    NPG_TK_NAME,        /* s: identifier (keywords such as `if` and `not` are names too) */
    NPG_TK_STRING,      /* s: the unescaped value */
    NPG_TK_INT,         /* i */
    NPG_TK_FLOAT,       /* f */
    NPG_TK_OP,          /* op */
} npg_ttok_kind;

typedef enum npg_top {
    NPG_OP_ADD,
    NPG_OP_SUB,
    NPG_OP_DIV,
    NPG_OP_FLOORDIV,
    NPG_OP_MUL,
    NPG_OP_MOD,
    NPG_OP_POW,
    NPG_OP_TILDE,
    NPG_OP_LBRACKET,
    NPG_OP_RBRACKET,
    NPG_OP_LPAREN,
    NPG_OP_RPAREN,
    NPG_OP_LBRACE,
    NPG_OP_RBRACE,
    NPG_OP_EQ,
    NPG_OP_NE,
    NPG_OP_GT,
    NPG_OP_GTEQ,
    NPG_OP_LT,
    NPG_OP_LTEQ,
    NPG_OP_ASSIGN,
    NPG_OP_DOT,
    NPG_OP_COLON,
    NPG_OP_PIPE,
    NPG_OP_COMMA,
    NPG_OP_SEMICOLON,
} npg_top;

typedef struct npg_ttoken {
    npg_ttok_kind kind;
    npg_top op;
    int line, col; /* 1-based; columns count code points */
    npg_tstr s;
    int64_t i;
    double f;
} npg_ttoken;

/* Tokenizes src (newlines already normalized to "\n", the trailing newline already dropped).
 * Strings point into src or into `arena`, which must outlive the tokens. *tokens is malloc'd and
 * ends with an NPG_TK_EOF token. Errors: NPG_ERR_FORMAT "line L, column C: ...". */
npg_status npg_tlex(const char *src, size_t len, npg_tarena *arena, npg_ttoken **tokens, size_t *n_tokens);

/* The operator's spelling ("==", "|", ...). */
const char *npg_top_name(npg_top op);

#endif
