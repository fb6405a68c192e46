/* cmd_tokenize.c — `npugen tokenize` (text -> ids) and `npugen detokenize` (ids -> text).
 *
 * Both need only the tokenizer files of a folder (tokenizer.json, plus tokenizer_config.json and
 * special_tokens_map.json when present), not a model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "npugen.h"

static void tokenize_usage(FILE *fp) {
    fprintf(fp, "usage: npugen tokenize MODEL_DIR [--add-special-tokens] (TEXT | -f FILE)\n\n"
                "Prints the token ids of TEXT (or of FILE's contents) on one line, separated by spaces.\n\n"
                "  MODEL_DIR              a folder with tokenizer.json (a model folder or tokenizer files only)\n"
                "  --add-special-tokens   add what the tokenizer's post-processor adds (BOS, ...)\n"
                "  -f, --file FILE        read the text from FILE (UTF-8; - = standard input) instead of the\n"
                "                         command line; every byte counts, NUL bytes included\n"
                "  --                     the next argument is the text, even if it starts with '-'\n");
}

static void detokenize_usage(FILE *fp) {
    fprintf(fp, "usage: npugen detokenize MODEL_DIR [--skip-special-tokens] ID...\n\n"
                "Prints the text of the token ids, then a newline.\n\n"
                "  MODEL_DIR               a folder with tokenizer.json (a model folder or tokenizer files only)\n"
                "  --skip-special-tokens   leave out special tokens (BOS, EOS, ...)\n");
}

int npg_cmd_tokenize(int argc, char **argv) {
    static const char cmd[] = "tokenize";
    const char *dir = NULL, *text = NULL, *file = NULL;
    bool special = false, end_of_options = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!end_of_options && cli_is_help(a)) {
            tokenize_usage(stdout);
            return 0;
        }
        if (!end_of_options && strcmp(a, "--") == 0) {
            end_of_options = true;
        } else if (!end_of_options && cli_flag(a, NULL, "--add-special-tokens")) {
            special = true;
        } else if (!end_of_options && cli_opt(a, "-f", "--file")) {
            if (!cli_value(cmd, argc, argv, &i, &file))
                return 2;
        } else if (!end_of_options && a[0] == '-' && a[1]) {
            cli_unknown_option(cmd, a, tokenize_usage);
            return 2;
        } else if (!dir) {
            dir = a;
        } else if (!text) {
            text = a;
        } else {
            cli_error(cmd, "unexpected argument '%s': give the text as one argument (quote it)", a);
            return 2;
        }
    }
    if (!dir) {
        cli_error(cmd, "missing MODEL_DIR (see npugen tokenize --help)");
        return 2;
    }
    if (!!text == !!file) {
        cli_error(cmd, text ? "give either TEXT or -f FILE, not both" : "missing TEXT or -f FILE");
        return 2;
    }
    char *buf = NULL;
    size_t len = text ? strlen(text) : 0;
    if (file) { /* by length: a NUL byte in the file is a character, not the end */
        if (!cli_read_file_n(cmd, file, &buf, &len))
            return 1;
        text = buf;
    }
    npg_tokenizer *tok = NULL;
    npg_status st = npg_tokenizer_create(dir, &tok);
    int32_t *ids = NULL;
    size_t n = 0;
    if (st == NPG_OK)
        st = npg_tokenizer_encode_n(tok, text, len, special, &ids, &n);
    int rc = 0;
    if (st != NPG_OK) {
        rc = cli_fail(cmd, st);
    } else {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    npg_free(ids);
    npg_tokenizer_free(tok);
    free(buf);
    return rc;
}

int npg_cmd_detokenize(int argc, char **argv) {
    static const char cmd[] = "detokenize";
    const char *dir = NULL;
    bool skip = false;
    int32_t *ids = malloc((size_t)argc * sizeof *ids);
    size_t n = 0;
    if (!ids) {
        cli_error(cmd, "out of memory");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool numeric = (a[0] >= '0' && a[0] <= '9') || (a[0] == '-' && a[1] >= '0' && a[1] <= '9');
        if (cli_is_help(a)) {
            detokenize_usage(stdout);
            free(ids);
            return 0;
        }
        if (cli_flag(a, NULL, "--skip-special-tokens")) {
            skip = true;
        } else if (a[0] == '-' && !(dir && numeric)) {
            cli_unknown_option(cmd, a, detokenize_usage);
            free(ids);
            return 2;
        } else if (!dir) {
            dir = a;
        } else {
            long long v;
            if (!cli_parse_long(cmd, "ID", a, INT32_MIN, INT32_MAX, &v)) {
                free(ids);
                return 2;
            }
            ids[n++] = (int32_t)v;
        }
    }
    if (!dir || n == 0) {
        cli_error(cmd, !dir ? "missing MODEL_DIR (see npugen detokenize --help)" : "missing token ids");
        free(ids);
        return 2;
    }
    npg_tokenizer *tok = NULL;
    char *text = NULL;
    npg_status st = npg_tokenizer_create(dir, &tok);
    if (st == NPG_OK)
        st = npg_tokenizer_decode(tok, ids, n, skip, &text);
    int rc = 0;
    if (st != NPG_OK)
        rc = cli_fail(cmd, st);
    else
        printf("%s\n", text);
    npg_free(text);
    npg_tokenizer_free(tok);
    free(ids);
    return rc;
}
