/* hub_http.c — the request options, headers and error messages every call to the Hub shares. */
#include "hub/hub_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"

npg_status hub_http_open(hub_http *h, const char *endpoint, const char *token) {
    memset(h, 0, sizeof *h);
    h->endpoint = strdup(endpoint);
    NPG_CHECK_ALLOC(h->endpoint);
    size_t n = strlen(h->endpoint);
    while (n > 0 && h->endpoint[n - 1] == '/')
        h->endpoint[--n] = '\0';
    if (token && token[0]) {
        for (const char *p = token; *p; p++)
            if ((unsigned char)*p < ' ' || *p == 127) {
                hub_http_close(h);
                return npg_fail(NPG_ERR_INVALID_ARGUMENT, "the Hugging Face token has a control character");
            }
        npg_strbuf sb = {0};
        npg_status st = npg_strbuf_printf(&sb, "Authorization: Bearer %s", token);
        struct curl_slist *l = st == NPG_OK ? curl_slist_append(NULL, sb.data) : NULL;
        npg_strbuf_free(&sb);
        if (!l) {
            hub_http_close(h);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        }
        h->headers = l;
        h->has_token = true;
    }
    return NPG_OK;
}

void hub_http_close(hub_http *h) {
    if (!h)
        return;
    free(h->endpoint);
    curl_slist_free_all(h->headers);
    memset(h, 0, sizeof *h);
}

void hub_http_setup(const hub_http *h, CURL *c, const char *url, char *errbuf) {
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (h->headers)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "npugen/" NPG_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* LFS files redirect to a CDN */
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    /* a stalled transfer (under 1 byte/s for 60 s) fails and is retried from where it stopped */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    errbuf[0] = '\0';
}

char *hub_quote(const char *s, bool keep_slash) {
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '_' || c == '.' || c == '~' || c == '-' || (keep_slash && c == '/')) {
            out[o++] = (char)c;
        } else {
            snprintf(out + o, 4, "%%%02X", c);
            o += 3;
        }
    }
    out[o] = '\0';
    return out;
}

void hub_headers_reset(hub_headers *h) {
    memset(h, 0, sizeof *h);
    h->range_start = -1;
}

/* Copies a header's value (trimmed) into dst when `line` is "name: value". */
static bool header_value(const char *line, size_t len, const char *name, char *dst, size_t cap) {
    size_t k = strlen(name);
    if (len <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return false;
    const char *v = line + k + 1;
    size_t n = len - k - 1;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return true;
}

size_t hub_http_on_header(char *buf, size_t size, size_t n, void *user) {
    hub_headers *h = user;
    size_t len = size * n;
    char val[256];
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) { /* a new response (after a redirect) */
        h->error_message[0] = '\0';
        h->range_start = -1;
    } else if (!h->repo_commit[0] && header_value(buf, len, "X-Repo-Commit", val, sizeof h->repo_commit)) {
        memcpy(h->repo_commit, val, strlen(val) + 1);
    } else if (header_value(buf, len, "X-Error-Message", val, sizeof val)) {
        memcpy(h->error_message, val, sizeof h->error_message);
    } else if (header_value(buf, len, "Content-Range", val, sizeof val)) {
        long long start;
        if (sscanf(val, "bytes %lld-", &start) == 1 && start >= 0)
            h->range_start = start;
    }
    return len;
}

npg_status hub_http_fail(long code, const char *url, bool has_token, const hub_headers *hd, const char *body,
                         size_t len) {
    char msg[256] = "";
    if (hd && hd->error_message[0]) {
        snprintf(msg, sizeof msg, "%s", hd->error_message);
    } else if (body && len > 0) { /* the Hub answers errors as {"error": "..."} */
        cJSON *root = cJSON_ParseWithLength(body, len);
        const char *e = npg_json_get_string(root, "error");
        if (e)
            snprintf(msg, sizeof msg, "%s", e);
        cJSON_Delete(root);
    }
    const char *hint = "";
    if (code == 401 || code == 403)
        hint = has_token ? " (the token from HF_TOKEN / HF_TOKEN_PATH was refused or has no access to this repo)"
                         : " (a private or gated repo needs a token: set HF_TOKEN)";
    else if (code == 404)
        hint = " (check the repo id, the revision and HF_ENDPOINT)";
    return npg_fail(code == 404 ? NPG_ERR_NOT_FOUND : NPG_ERR_IO, "HTTP %ld from %s%s%s%s", code, url,
                    msg[0] ? ": " : "", msg, hint);
}

static size_t to_strbuf(char *p, size_t size, size_t n, void *user) {
    npg_strbuf *sb = user;
    if (sb->len + size * n > (64u << 20)) /* a listing is kilobytes; refuse to buffer more than 64 MiB */
        return 0;
    return npg_strbuf_append(sb, p, size * n) == NPG_OK ? size * n : 0;
}

npg_status hub_http_get(const hub_http *h, const char *url, char **body, size_t *len) {
    CURL *c = curl_easy_init();
    if (!c)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "cannot create a libcurl handle");
    char errbuf[CURL_ERROR_SIZE];
    npg_strbuf sb = {0};
    hub_headers hd;
    hub_headers_reset(&hd);
    hub_http_setup(h, c, url, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_strbuf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hub_http_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    npg_status st = NPG_OK;
    if (rc != CURLE_OK)
        st = npg_fail(NPG_ERR_IO, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else if (code != 200)
        st = hub_http_fail(code, url, h->has_token, &hd, sb.data, sb.len);
    if (st != NPG_OK) {
        npg_strbuf_free(&sb);
        return st;
    }
    *len = sb.len;
    return npg_strbuf_detach(&sb, body);
}
