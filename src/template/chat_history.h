/* chat_history.h — internal operations on the public npg_chat_history. */
#ifndef NPG_TEMPLATE_CHAT_HISTORY_H
#define NPG_TEMPLATE_CHAT_HISTORY_H

#include <stddef.h>

#include "npugen.h"

/* Drops the messages from index n on (none when n >= size). Frees only: it cannot fail, so a pipeline
 * rolling back a failed chat turn never ends with the turn half-removed. */
void npg_chat_history_truncate(npg_chat_history *h, size_t n);

#endif
