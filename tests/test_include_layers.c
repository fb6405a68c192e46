/* test_include_layers.c — the folders of src/ form layers: no cycle in the folder include graph.
 *
 * Scans every .c/.h under NPG_SOURCE_DIR/src, reads its `#include "..."` lines, resolves each against
 * the including file's folder and then src/ (what the compiler does with -Isrc), and records an edge
 * folder(file) -> folder(included) between top-level folders of src/ (device/npu/ counts as device/).
 * Includes that resolve to neither (npugen.h, system headers) are not edges. A cycle fails the test
 * and is printed with, for every edge on it, one include line that makes it. A second case checks that
 * tools/ (the CLI) includes nothing of src/: only include/npugen.h and its own headers. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define MAX_FOLDERS 32

typedef struct graph {
    char names[MAX_FOLDERS][64];
    int n;
    bool edge[MAX_FOLDERS][MAX_FOLDERS];
    char why[MAX_FOLDERS][MAX_FOLDERS][512]; /* "src/a/x.c includes \"b/y.h\"" for the first such line */
    int files;                               /* files scanned */
    int edges;                               /* include lines that cross folders */
} graph;

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int folder_id(graph *g, const char *name) {
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->names[i], name) == 0)
            return i;
    if (g->n == MAX_FOLDERS)
        return -1;
    snprintf(g->names[g->n], sizeof g->names[0], "%s", name);
    return g->n++;
}

/* The top folder of a path relative to src/ ("device/npu/x.h" -> "device"); -1 when it has none. */
static int top_folder(graph *g, const char *rel) {
    const char *slash = strchr(rel, '/');
    if (!slash || slash - rel >= 63)
        return -1;
    char name[64];
    memcpy(name, rel, (size_t)(slash - rel));
    name[slash - rel] = '\0';
    return folder_id(g, name);
}

/* rel: the file's path relative to src/ ("core/error.c"); dir_rel: its folder ("core"). */
static void scan_file(graph *g, const char *src_root, const char *rel, const char *dir_rel) {
    char path[2048];
    if (snprintf(path, sizeof path, "%s/%s", src_root, rel) >= (int)sizeof path)
        return;
    char *text = read_all(path, NULL);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", path);
        npg_test_failures++;
        return;
    }
    g->files++;
    int from = top_folder(g, rel);
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if (strncmp(p, "include", 7) == 0) {
                const char *q = strchr(p + 7, '"');
                const char *e = q ? strchr(q + 1, '"') : NULL;
                if (q && e && e - q - 1 < 400) {
                    char inc[512], cand[1024], target[1024] = "";
                    memcpy(inc, q + 1, (size_t)(e - q - 1));
                    inc[e - q - 1] = '\0';
                    snprintf(cand, sizeof cand, "%s/%s/%s", src_root, dir_rel, inc);
                    if (is_file(cand))
                        snprintf(target, sizeof target, "%s/%s", dir_rel, inc);
                    else {
                        snprintf(cand, sizeof cand, "%s/%s", src_root, inc);
                        if (is_file(cand))
                            snprintf(target, sizeof target, "%s", inc);
                    }
                    int to = target[0] ? top_folder(g, target) : -1;
                    if (from >= 0 && to >= 0 && to != from) {
                        g->edges++;
                        if (!g->edge[from][to]) {
                            g->edge[from][to] = true;
                            if (snprintf(g->why[from][to], sizeof g->why[0][0], "src/%s includes \"%s\"", rel, inc) >=
                                (int)sizeof g->why[0][0])
                                g->why[from][to][sizeof g->why[0][0] - 2] = '~';
                        }
                    }
                }
            }
        }
        line = next;
    }
    free(text);
}

static void scan_dir(graph *g, const char *src_root, const char *dir_rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src_root, dir_rel);
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", path);
        npg_test_failures++;
        return;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        const char *name = ent->d_name;
        if (name[0] == '.')
            continue;
        char rel[1024], full[2048];
        snprintf(rel, sizeof rel, "%s%s%s", dir_rel, dir_rel[0] ? "/" : "", name);
        snprintf(full, sizeof full, "%s/%s", src_root, rel);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        size_t len = strlen(name);
        if (S_ISDIR(st.st_mode))
            scan_dir(g, src_root, rel);
        else if (dir_rel[0] && len > 2 && name[len - 2] == '.' && (name[len - 1] == 'c' || name[len - 1] == 'h'))
            scan_file(g, src_root, rel, dir_rel);
    }
    closedir(d);
}

/* Depth-first search; on a back edge prints the cycle from the stack. Returns the number of cycles
 * reported (each back edge once). */
static int find_cycles(const graph *g, int v, int *color, int *stack, int depth) {
    int found = 0;
    color[v] = 1;
    stack[depth] = v;
    for (int w = 0; w < g->n; w++) {
        if (!g->edge[v][w])
            continue;
        if (color[w] == 1) {
            int start = depth;
            while (stack[start] != w)
                start--;
            fprintf(stderr, "include cycle between folders of src/:");
            for (int i = start; i <= depth; i++)
                fprintf(stderr, " %s ->", g->names[stack[i]]);
            fprintf(stderr, " %s\n", g->names[w]);
            for (int i = start; i <= depth; i++) {
                int a = stack[i], b = i < depth ? stack[i + 1] : w;
                fprintf(stderr, "  %s -> %s: %s\n", g->names[a], g->names[b], g->why[a][b]);
            }
            found++;
        } else if (color[w] == 0) {
            found += find_cycles(g, w, color, stack, depth + 1);
        }
    }
    color[v] = 2;
    return found;
}

static void test_src_folders_have_no_include_cycle(void) {
    static graph g; /* large (the why table); static keeps it off the stack */
    memset(&g, 0, sizeof g);
    char src_root[1024];
    snprintf(src_root, sizeof src_root, "%s/src", NPG_SOURCE_DIR);
    scan_dir(&g, src_root, "");
    /* The scan must have seen the tree: a wrong root would find no edges and pass vacuously. */
    REQUIRE(g.files > 50);
    REQUIRE(g.edges > 20);
    REQUIRE(g.n >= 8);
    int color[MAX_FOLDERS] = {0}, stack[MAX_FOLDERS];
    int cycles = 0;
    for (int v = 0; v < g.n; v++)
        if (color[v] == 0)
            cycles += find_cycles(&g, v, color, stack, 0);
    CHECK(cycles == 0);
    if (cycles == 0) {
        fprintf(stderr, "%d files, %d folders; layers (folder -> folders it includes):\n", g.files, g.n);
        for (int a = 0; a < g.n; a++) {
            fprintf(stderr, "  %s ->", g.names[a]);
            for (int b = 0; b < g.n; b++)
                if (g.edge[a][b])
                    fprintf(stderr, " %s", g.names[b]);
            fprintf(stderr, "\n");
        }
    }
}

/* The CLI is a client of the public API: every `#include "..."` in tools/ names npugen.h or a header
 * of tools/ itself. */
static void test_tools_use_only_the_public_header(void) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tools", NPG_SOURCE_DIR);
    DIR *d = opendir(dir);
    REQUIRE(d);
    int files = 0, bad = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len < 3 || ent->d_name[len - 2] != '.' || (ent->d_name[len - 1] != 'c' && ent->d_name[len - 1] != 'h'))
            continue;
        char path[2048];
        if (snprintf(path, sizeof path, "%s/%s", dir, ent->d_name) >= (int)sizeof path)
            continue;
        char *text = read_all(path, NULL);
        REQUIRE(text);
        files++;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            const char *q = strstr(line, "#include \"");
            if (!q || q != line)
                continue;
            char inc[512] = "";
            sscanf(q + 10, "%511[^\"]", inc);
            char own[2600];
            snprintf(own, sizeof own, "%s/%s", dir, inc);
            if (strcmp(inc, "npugen.h") != 0 && !is_file(own)) {
                fprintf(stderr, "tools/%s includes \"%s\": the CLI may use include/npugen.h only\n", ent->d_name, inc);
                bad++;
            }
        }
        free(text);
    }
    closedir(d);
    CHECK(files > 10);
    CHECK(bad == 0);
}

int main(void) {
    RUN(test_src_folders_have_no_include_cycle);
    RUN(test_tools_use_only_the_public_header);
    return npg_test_summary();
}
