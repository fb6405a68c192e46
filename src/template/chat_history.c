/* chat_history.c — the chat-history handle of the public API: an ordered list of (role, content)
 * messages, each string owned by the history (copied on push, freed on clear / free). */
#include <stdlib.h>
#include <string.h>

#include "template/chat_history.h"

#include "core/error.h"

typedef struct chat_message {
    char *role;
    char *content;
} chat_message;

struct npg_chat_history {
    chat_message *msgs;
    size_t n, cap;
};

npg_status npg_chat_history_create(npg_chat_history **out) {
    if (!out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_chat_history_create: out is NULL");
    npg_chat_history *h = calloc(1, sizeof *h);
    NPG_CHECK_ALLOC(h);
    *out = h;
    return NPG_OK;
}

void npg_chat_history_truncate(npg_chat_history *h, size_t n) {
    if (!h)
        return;
    for (size_t i = n; i < h->n; i++) {
        free(h->msgs[i].role);
        free(h->msgs[i].content);
    }
    if (n < h->n)
        h->n = n;
}

void npg_chat_history_clear(npg_chat_history *h) { npg_chat_history_truncate(h, 0); }

void npg_chat_history_free(npg_chat_history *h) {
    if (!h)
        return;
    npg_chat_history_clear(h);
    free(h->msgs);
    free(h);
}

npg_status npg_chat_history_push(npg_chat_history *h, const char *role, const char *content) {
    if (!h || !role || !content)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_chat_history_push: %s is NULL",
                        !h      ? "history"
                        : !role ? "role"
                                : "content");
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        chat_message *m = realloc(h->msgs, cap * sizeof *m);
        NPG_CHECK_ALLOC(m);
        h->msgs = m;
        h->cap = cap;
    }
    char *r = strdup(role), *c = strdup(content);
    if (!r || !c) {
        free(r);
        free(c);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "npg_chat_history_push: out of memory");
    }
    h->msgs[h->n].role = r;
    h->msgs[h->n].content = c;
    h->n++;
    return NPG_OK;
}

size_t npg_chat_history_size(const npg_chat_history *h) { return h ? h->n : 0; }

npg_status npg_chat_history_at(const npg_chat_history *h, size_t i, const char **role, const char **content) {
    if (!h || !role || !content)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_chat_history_at: %s is NULL",
                        !h      ? "history"
                        : !role ? "role"
                                : "content");
    if (i >= h->n)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_chat_history_at: index %zu out of range (history holds %zu)", i,
                        h->n);
    *role = h->msgs[i].role;
    *content = h->msgs[i].content;
    return NPG_OK;
}
