/* hub_http.h — what every request to the Hub shares (libcurl): the endpoint, the bearer token, URL
 * quoting, the Hub's response headers and its error messages. Internal to src/hub/. */
#ifndef NPG_HUB_HTTP_H
#define NPG_HUB_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

typedef struct hub_http {
    char *endpoint;             /* no trailing '/' */
    bool has_token;
    struct curl_slist *headers; /* Authorization: Bearer ... (curl keeps it off redirects to other hosts) */
} hub_http;

npg_status hub_http_open(hub_http *h, const char *endpoint, const char *token);
void hub_http_close(hub_http *h);
/* Options every request shares: URL, headers, user agent, redirects, timeouts, error buffer
 * (CURL_ERROR_SIZE bytes). */
void hub_http_setup(const hub_http *h, CURL *c, const char *url, char *errbuf);

/* Python's urllib.parse.quote: keeps [A-Za-z0-9_.~-] (and '/' when keep_slash). malloc'd. */
char *hub_quote(const char *s, bool keep_slash);

/* The response headers the Hub speaks with; fill with CURLOPT_HEADERFUNCTION = hub_http_on_header. */
typedef struct hub_headers {
    char repo_commit[64];    /* X-Repo-Commit of the first response that had one (the Hub's, not a CDN's) */
    char error_message[256]; /* X-Error-Message of the last response */
    int64_t range_start;     /* Content-Range start of the last response; -1 when none */
} hub_headers;

void hub_headers_reset(hub_headers *h);
size_t hub_http_on_header(char *buf, size_t size, size_t n, void *user);

/* The failure for an HTTP error status: names the URL and the Hub's message (X-Error-Message, else
 * the body's "error"), with a hint for 401/403/404. */
npg_status hub_http_fail(long code, const char *url, bool has_token, const hub_headers *hd, const char *body,
                         size_t len);

/* A whole GET into memory (the listing). *body malloc'd and NUL-terminated. */
npg_status hub_http_get(const hub_http *h, const char *url, char **body, size_t *len);

#endif
