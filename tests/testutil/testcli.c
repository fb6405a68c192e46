#include "testcli.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"

int npugen(const char *args, char **out, char **err) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", NPG_CLI, args);
    return run_cmd(cmd, out, err);
}

size_t count_lines(const char *s) {
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

void expect_error(const char *args, int code, const char *needle) {
    char *out = NULL, *err = NULL;
    int rc = npugen(args, &out, &err);
    if (rc != code || !out || out[0] != '\0') {
        fprintf(stderr, "  [%s] rc %d (want %d), stdout: %s\n", args, rc, code, out ? out : "(null)");
        CHECK(false);
    }
    if (!err || count_lines(err) != 1 || strncmp(err, "npugen", 6) != 0) {
        fprintf(stderr, "  [%s] stderr is not one line starting with npugen: %s\n", args, err ? err : "(null)");
        CHECK(false);
    }
    if (needle && !(err && strstr(err, needle))) {
        fprintf(stderr, "  [%s] stderr lacks '%s': %s\n", args, needle, err ? err : "(null)");
        CHECK(false);
    }
    free(out);
    free(err);
}
