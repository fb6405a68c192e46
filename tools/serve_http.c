/* serve_http.c — the HTTP side of `npugen serve` on libmicrohttpd: one thread per connection (a
 * generation waits on its own thread, so a slow request never holds up another), the bearer key
 * (constant-time compare), the body limit (413 before the body is read when Content-Length says so),
 * idle-connection timeouts for slow or half-open clients, CORS, routing, and sending replies (JSON,
 * text, or an event stream read from a job). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve.h"
#include "serve_job.h"

typedef struct conn_state {
    char *body;
    size_t len, cap;
    bool too_big;
} conn_state;

static bool auth_ok(const serve_ctx *ctx, struct MHD_Connection *c) {
    if (!ctx->api_key)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *k = h + 7;
    size_t kl = strlen(k);
    /* every byte of the key is compared whatever differs first: the time does not tell how much of a
     * guess was right */
    unsigned diff = kl != ctx->api_key_len;
    for (size_t i = 0; i < ctx->api_key_len; i++)
        diff |= (unsigned char)ctx->api_key[i] ^ (unsigned char)(i < kl ? k[i] : 0);
    return diff == 0;
}

static void add_common_headers(const serve_ctx *ctx, struct MHD_Response *resp) {
    if (ctx->cors) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", ctx->cors);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    }
}

static enum MHD_Result send_reply(serve_ctx *ctx, struct MHD_Connection *c, serve_reply *r) {
    struct MHD_Response *resp;
    if (r->stream) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, serve_job_sse_read, r->stream,
                                                 serve_job_sse_free);
        if (!resp) {
            serve_job_free(r->stream);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass events on at once */
    } else {
        const char *body = r->body ? r->body : "";
        resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                               r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp) {
            free(r->body);
            return MHD_NO;
        }
        r->body = NULL;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/json");
        if (r->retry_after) {
            char ra[16];
            snprintf(ra, sizeof ra, "%u", r->retry_after);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
        }
    }
    add_common_headers(ctx, resp);
    serve_metrics_status(&ctx->metrics, r->status);
    enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void reply_text(serve_reply *r, unsigned status, const char *type, char *body) {
    r->status = body ? status : 500;
    r->body = body;
    r->content_type = type;
}

static int client_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

static bool is_get(const char *m) { return strcmp(m, MHD_HTTP_METHOD_GET) == 0 || strcmp(m, MHD_HTTP_METHOD_HEAD) == 0; }

static void route(serve_ctx *ctx, struct MHD_Connection *c, const char *url, const char *method, conn_state *cs,
                  serve_reply *r) {
    bool get = is_get(method), post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
        if (get) {
            char *page = malloc(serve_page_html_len + 1);
            if (page) {
                memcpy(page, serve_page_html, serve_page_html_len + 1);
            }
            reply_text(r, 200, "text/html; charset=utf-8", page);
            return;
        }
    } else if (strcmp(url, "/health") == 0) {
        if (get) {
            reply_text(r, 200, "application/json", strdup(atomic_load(&ctx->stopping) ? "{\"status\":\"stopping\"}"
                                                                                       : "{\"status\":\"ok\"}"));
            if (atomic_load(&ctx->stopping))
                r->status = 503;
            return;
        }
    } else if (!auth_ok(ctx, c)) {
        serve_reply_error(r, 401, "invalid_request_error", NULL, "invalid_api_key",
                          "Incorrect or missing API key: send 'Authorization: Bearer KEY'");
        return;
    } else if (strcmp(url, "/metrics") == 0) {
        if (get) {
            reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", serve_metrics_text(ctx));
            return;
        }
    } else if (strcmp(url, "/v1/models") == 0) {
        if (get) {
            serve_list_models(ctx, NULL, r);
            return;
        }
    } else if (strncmp(url, "/v1/models/", 11) == 0) {
        if (get) {
            serve_list_models(ctx, url + 11, r);
            return;
        }
    } else if (strcmp(url, "/v1/chat/completions") == 0 || strcmp(url, "/v1/completions") == 0) {
        if (post) {
            /* a request may wait in the queue and generate for longer than the idle timeout: the
             * timeout is off until its reply is complete (a client that leaves is noticed anyway) */
            MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0);
            serve_generate(ctx, cs->body ? cs->body : "", cs->len, url[4] == 'c' && url[5] == 'h', client_fd(c), r);
            if (r->stream)
                r->stream->conn = c;
            else
                MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, ctx->idle_timeout_s);
            return;
        }
    } else if (strcmp(url, "/v1/audio/transcriptions") == 0) {
        if (post) {
            serve_transcribe(ctx, c, cs->body ? cs->body : "", cs->len, r);
            return;
        }
    } else {
        serve_reply_error(r, 404, "invalid_request_error", NULL, "not_found", "no endpoint %s %s", method, url);
        return;
    }
    serve_reply_error(r, 405, "invalid_request_error", NULL, "method_not_allowed", "%s is not allowed on %s", method,
                      url);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **con_cls) {
    (void)version;
    serve_ctx *ctx = cls;
    conn_state *cs = *con_cls;
    serve_reply r = {0};
    if (!cs) { /* the headers are in: refuse early what needs no body */
        cs = calloc(1, sizeof *cs);
        if (!cs)
            return MHD_NO;
        *con_cls = cs;
        if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0) { /* CORS preflight */
            r.status = 204;
            return send_reply(ctx, c, &r);
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > ctx->max_body) {
            serve_reply_error(&r, 413, "invalid_request_error", NULL, "request_too_large",
                              "the request body of %s bytes is over the limit of %zu bytes (--max-body)", cl,
                              ctx->max_body);
            return send_reply(ctx, c, &r);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (cs->too_big)
            return MHD_YES;
        if (cs->len + n > ctx->max_body) { /* a chunked body that grew past the limit */
            cs->too_big = true;
            free(cs->body);
            cs->body = NULL;
            cs->len = cs->cap = 0;
            return MHD_YES;
        }
        if (cs->len + n + 1 > cs->cap) {
            size_t nc = cs->cap ? cs->cap : 4096;
            while (nc < cs->len + n + 1)
                nc *= 2;
            char *nb = realloc(cs->body, nc);
            if (!nb)
                return MHD_NO;
            cs->body = nb;
            cs->cap = nc;
        }
        memcpy(cs->body + cs->len, upload_data, n);
        cs->len += n;
        cs->body[cs->len] = '\0';
        return MHD_YES;
    }
    if (cs->too_big)
        serve_reply_error(&r, 413, "invalid_request_error", NULL, "request_too_large",
                          "the request body is over the limit of %zu bytes (--max-body)", ctx->max_body);
    else
        route(ctx, c, url, method, cs, &r);
    return send_reply(ctx, c, &r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)c, (void)toe;
    conn_state *cs = *con_cls;
    if (cs) {
        free(cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

struct MHD_Daemon *serve_http_start(serve_ctx *ctx, const char *host, unsigned port, unsigned max_conns,
                                    unsigned *bound_port, char *err, size_t err_size) {
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host, service, &hints, &ai);
    if (gai != 0) {
        snprintf(err, err_size, "--host %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned idle = ctx->request_timeout_s < 30 ? ctx->request_timeout_s : 30;
    ctx->idle_timeout_s = idle ? idle : 1;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handler, ctx, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_TIMEOUT, ctx->idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT, max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0, MHD_OPTION_NOTIFY_COMPLETED, completed, ctx,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 128, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) {
        snprintf(err, err_size, "cannot listen on %s port %u (in use, or not an address of this machine)", host, port);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = di ? di->port : port;
    return d;
}
