/* serve_load.c — npg-serve-load: a load generator for `npugen serve` on loopback.
 *
 *   npg-serve-load --port N [--host 127.0.0.1] [--model NAME] [--clients C] [--requests R]
 *                  [--duration S] [--prompt-tokens P] [--max-tokens T] [--pid SERVER_PID] [--json]
 *
 * C client threads each send streamed POST /v1/completions requests one after the other until R
 * requests were sent or S seconds passed (both bounded: R <= 100000, S <= 3600). The prompt is P token
 * ids (BOS, then ids that differ per request, so no request reuses another's cached prefix), the
 * answer T tokens (max_tokens; usage counts what was generated). Reports the aggregate generation
 * throughput (completion tokens / wall time), time to first token p50/p99, 429s (the server's
 * designed refusal of a full queue; the client waits its Retry-After and sends the request again) and
 * other errors (each printed on stderr with its reason), and with --pid the server's RSS before, after
 * the first 100 requests and at the end, and the server's CPU time over the run (tokens per CPU second
 * compares runs on a machine shared with other work, where wall-clock throughput swings). Only loopback addresses are accepted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG "npg-serve-load"

typedef struct cfg {
    const char *host, *model;
    int port, clients, prompt_tokens, max_tokens;
    long requests;
    double duration_s;
    int pid;
    bool json;
} cfg;

typedef struct shared {
    const cfg *c;
    atomic_long next;      /* requests started */
    atomic_long finished;  /* requests finished */
    atomic_long tokens;    /* completion tokens */
    atomic_long n429, errors;
    double t0, deadline;
    pthread_mutex_t mu;
    double *ttft; /* [requests] ms */
    size_t n_ttft;
    long rss_after_100;
} shared;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(int pid) {
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* The process's CPU time (user + system) in seconds, or -1. */
static double cpu_s(int pid) {
    if (pid <= 0)
        return -1;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The printable tail of what a failed request received: control characters as '.', for the report. */
static void tail_text(const char *buf, size_t have, char *out, size_t cap) {
    size_t from = have > cap - 1 ? have - (cap - 1) : 0, o = 0;
    for (size_t i = from; i < have && o + 1 < cap; i++)
        out[o++] = (unsigned char)buf[i] < 32 ? '.' : buf[i];
    out[o] = '\0';
}

/* One streamed request; returns 0 ok, 429, or -1 on any other failure, with why[] saying what went
 * wrong (the step that failed, errno, the HTTP status and the server's error message or what it sent
 * last), so a failure in a long run can be told from the report alone. */
static int one_request(shared *s, long index, double *ttft_ms, long *tokens, char *why, size_t why_cap) {
    const cfg *c = s->c;
    why[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(why, why_cap, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    inet_pton(AF_INET, c->host, &a.sin_addr);
    struct timeval tv = {.tv_sec = 600};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        snprintf(why, why_cap, "connect: %s", strerror(errno));
        close(fd);
        return -1;
    }
    size_t cap = (size_t)c->prompt_tokens * 8 + 512;
    char *body = malloc(cap), *req = malloc(cap + 512);
    if (!body || !req) {
        free(body);
        free(req);
        close(fd);
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    int n = snprintf(body, cap, "{\"model\":\"%s\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                                "\"max_tokens\":%d,\"temperature\":0,\"prompt\":[1",
                     c->model, c->max_tokens);
    for (int k = 1; k < c->prompt_tokens; k++)
        n += snprintf(body + n, cap - (size_t)n, ",%ld", 300 + (index * 131 + k * 17) % 20000);
    n += snprintf(body + n, cap - (size_t)n, "]}");
    int m = snprintf(req, cap + 512,
                     "POST /v1/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     c->host, n, body);
    free(body);
    double t_send = now_s();
    ssize_t sent = write(fd, req, (size_t)m);
    int send_errno = errno;
    bool ok = sent == m;
    free(req);
    char buf[65536];
    size_t have = 0, total = 0;
    int status = 0, read_errno = 0;
    bool first = false, done = false, eof = false;
    *tokens = 0;
    while (ok && !done) {
        errno = 0;
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r <= 0) {
            read_errno = r < 0 ? errno : 0;
            eof = r == 0;
            break;
        }
        have += (size_t)r;
        total += (size_t)r;
        buf[have] = '\0';
        if (!status && strstr(buf, "\r\n"))
            status = atoi(buf + 9);
        if (status && status != 200) {
            /* the error object follows: read it to the end (Connection: close) for the report */
            while (have < sizeof buf - 1 && (r = read(fd, buf + have, sizeof buf - 1 - have)) > 0)
                have += (size_t)r;
            buf[have] = '\0';
            break;
        }
        if (!first && strstr(buf, "\"text\":\"") && strstr(buf, "data: {")) {
            first = true;
            *ttft_ms = (now_s() - t_send) * 1e3;
        }
        char *u = strstr(buf, "\"completion_tokens\":");
        if (u)
            *tokens = strtol(u + 20, NULL, 10);
        if (strstr(buf, "data: [DONE]"))
            done = true;
        /* keep the unfinished tail (the last 200 bytes are enough for the markers above) */
        if (have > sizeof buf / 2) {
            memmove(buf, buf + have - 200, 200);
            have = 200;
        }
    }
    close(fd);
    if (status == 429)
        return 429;
    if (done && first)
        return 0;
    double after = now_s() - t_send;
    char tail[160];
    tail_text(buf, have, tail, sizeof tail);
    if (!ok)
        snprintf(why, why_cap, "send: %s (%zd of %d bytes written)", sent < 0 ? strerror(send_errno) : "short write",
                 sent, m);
    else if (status && status != 200) {
        const char *msg = strstr(buf, "\"message\":");
        snprintf(why, why_cap, "HTTP %d after %.2f s: %.200s", status, after, msg ? msg : tail);
    } else if (done)
        snprintf(why, why_cap, "stream finished without a text chunk after %.2f s (%zu bytes): ...%s", after,
                 total, tail);
    else if (status)
        snprintf(why, why_cap, "stream ended early after %.2f s, %zu bytes, %s: ...%s", after, total,
                 eof ? "connection closed by the server" : read_errno ? strerror(read_errno) : "read failed",
                 tail);
    else
        snprintf(why, why_cap, "no response after %.2f s (%zu bytes): %s", after, total,
                 eof ? "connection closed by the server" : read_errno ? strerror(read_errno) : "nothing read");
    return -1;
}

static void *client(void *arg) {
    shared *s = arg;
    char why[512];
    for (;;) {
        long i = atomic_fetch_add(&s->next, 1);
        if (i >= s->c->requests || now_s() > s->deadline)
            break;
        double ttft = 0;
        long tokens = 0;
        int r;
        /* a 429 is the server's designed answer to a full queue: wait its Retry-After (1 s), send again */
        while ((r = one_request(s, i, &ttft, &tokens, why, sizeof why)) == 429 && now_s() < s->deadline) {
            atomic_fetch_add(&s->n429, 1);
            sleep(1);
        }
        if (r == 429)
            snprintf(why, sizeof why, "still refused with 429 at the --duration deadline");
        if (r != 0) {
            /* every failure, with its reason (one line each; runs are bounded in requests) */
            long e = atomic_fetch_add(&s->errors, 1) + 1;
            fprintf(stderr, PROG ": request %ld failed (error %ld, %.1f s into the run): %s\n", i, e,
                    now_s() - s->t0, why);
        } else {
            atomic_fetch_add(&s->tokens, tokens);
            pthread_mutex_lock(&s->mu);
            s->ttft[s->n_ttft++] = ttft;
            pthread_mutex_unlock(&s->mu);
        }
        long f = atomic_fetch_add(&s->finished, 1) + 1;
        if (f == 100)
            s->rss_after_100 = rss_kb(s->c->pid);
    }
    return NULL;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p) {
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static void usage(FILE *fp) {
    fprintf(fp, "usage: " PROG " --port N [--host 127.0.0.1] [--model NAME] [--clients C] [--requests R]\n"
                "       [--duration S] [--prompt-tokens P] [--max-tokens T] [--pid SERVER_PID] [--json]\n");
}

int main(int argc, char **argv) {
    cfg c = {.host = "127.0.0.1", .model = "model", .clients = 1, .requests = 16, .duration_s = 600,
             .prompt_tokens = 64, .max_tokens = 64};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            c.json = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, PROG ": %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--host") == 0)
            c.host = v;
        else if (strcmp(a, "--model") == 0)
            c.model = v;
        else if (strcmp(a, "--port") == 0)
            c.port = atoi(v);
        else if (strcmp(a, "--clients") == 0)
            c.clients = atoi(v);
        else if (strcmp(a, "--requests") == 0)
            c.requests = atol(v);
        else if (strcmp(a, "--duration") == 0)
            c.duration_s = atof(v);
        else if (strcmp(a, "--prompt-tokens") == 0)
            c.prompt_tokens = atoi(v);
        else if (strcmp(a, "--max-tokens") == 0)
            c.max_tokens = atoi(v);
        else if (strcmp(a, "--pid") == 0)
            c.pid = atoi(v);
        else {
            fprintf(stderr, PROG ": unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    struct in_addr ia;
    if (inet_pton(AF_INET, c.host, &ia) != 1 || (ntohl(ia.s_addr) >> 24) != 127) {
        fprintf(stderr, PROG ": --host %s: only loopback IPv4 addresses (127.x.x.x) are accepted\n", c.host);
        return 2;
    }
    if (c.port <= 0 || c.port > 65535 || c.clients < 1 || c.clients > 1024 || c.requests < 1 ||
        c.requests > 100000 || c.duration_s <= 0 || c.duration_s > 3600 || c.prompt_tokens < 1 ||
        c.prompt_tokens > 8192 || c.max_tokens < 1 || c.max_tokens > 8192) {
        fprintf(stderr, PROG ": a value is out of range (port 1..65535, clients 1..1024, requests 1..100000, "
                        "duration 0..3600 s, tokens 1..8192)\n");
        return 2;
    }
    shared s = {.c = &c, .rss_after_100 = -1};
    pthread_mutex_init(&s.mu, NULL);
    s.ttft = calloc((size_t)c.requests, sizeof *s.ttft);
    pthread_t *th = calloc((size_t)c.clients, sizeof *th);
    if (!s.ttft || !th)
        return 1;
    long rss0 = rss_kb(c.pid);
    double cpu0 = cpu_s(c.pid);
    s.t0 = now_s();
    s.deadline = s.t0 + c.duration_s;
    for (int i = 0; i < c.clients; i++)
        pthread_create(&th[i], NULL, client, &s);
    for (int i = 0; i < c.clients; i++)
        pthread_join(th[i], NULL);
    double wall = now_s() - s.t0;
    long rss1 = rss_kb(c.pid);
    double cpu = cpu0 >= 0 ? cpu_s(c.pid) - cpu0 : -1;
    qsort(s.ttft, s.n_ttft, sizeof *s.ttft, cmp_d);
    long tokens = atomic_load(&s.tokens);
    double tok_s = wall > 0 ? (double)tokens / wall : 0;
    if (c.json)
        printf("{\"clients\":%d,\"requests_ok\":%zu,\"n429\":%ld,\"errors\":%ld,\"completion_tokens\":%ld,"
               "\"wall_s\":%.3f,\"tok_s\":%.2f,\"ttft_p50_ms\":%.1f,\"ttft_p99_ms\":%.1f,\"rss_before_kb\":%ld,"
               "\"rss_after_100_kb\":%ld,\"rss_after_kb\":%ld,\"server_cpu_s\":%.2f,\"tok_per_cpu_s\":%.3f}\n",
               c.clients, s.n_ttft, atomic_load(&s.n429), atomic_load(&s.errors), tokens, wall, tok_s,
               pct(s.ttft, s.n_ttft, 0.5), pct(s.ttft, s.n_ttft, 0.99), rss0, s.rss_after_100, rss1, cpu,
               cpu > 0 ? (double)tokens / cpu : 0);
    else
        printf("clients %d: %zu ok, %ld 429, %ld errors; %ld tokens in %.2f s = %.2f tok/s; TTFT p50 %.1f ms, "
               "p99 %.1f ms; server RSS %ld kB before, %ld kB after 100 requests, %ld kB after; server CPU %.2f s\n",
               c.clients, s.n_ttft, atomic_load(&s.n429), atomic_load(&s.errors), tokens, wall, tok_s,
               pct(s.ttft, s.n_ttft, 0.5), pct(s.ttft, s.n_ttft, 0.99), rss0, s.rss_after_100, rss1, cpu);
    free(s.ttft);
    free(th);
    pthread_mutex_destroy(&s.mu);
    return atomic_load(&s.errors) ? 1 : 0;
}
