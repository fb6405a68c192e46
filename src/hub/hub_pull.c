/* hub_pull.c — `npugen pull`: list a repo revision, then download the selected files several at a
 * time on one thread (a libcurl multi handle), each into "<final>.incomplete", hashed as it arrives,
 * resumed with a Range request after a dropped connection (in this pull or the next), and renamed to
 * its final name only once its size and digest match the listing. In the cache the snapshot links
 * and refs/<revision> come last. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/strbuf.h"
#include "core/timer.h"
#include "hub/hub_fs.h"
#include "hub/hub_http.h"

enum { MAX_TRIES = 5 }; /* attempts in a row that bring no new byte before a file fails */

typedef enum { JOB_PENDING, JOB_RUNNING, JOB_DONE } job_state;

typedef struct job {
    const npg_hub_file *f;
    size_t n_files; /* selected files this download serves (same content = one blob in the cache) */
    char *url, *final_path, *part_path;
    int fd;      /* the .incomplete file; -1 when closed */
    bool locked; /* fd holds its lock: this pull owns the part file */
    EVP_MD_CTX *md;
    uint64_t have;     /* bytes in the part file, all fed to md */
    uint64_t have_at_start;
    uint64_t fetched;  /* received over the network in this pull, every attempt */
    bool checked;      /* this response's status was looked at (first body bytes) */
    npg_strbuf err_body;
    hub_headers hd;
    char errbuf[CURL_ERROR_SIZE];
    char range[32];
    CURL *easy;
    int tries;
    bool present; /* in place before this pull: nothing to fetch */
    double retry_at;
    job_state state;
    npg_status st; /* set by the callbacks; the message is already recorded */
} job;

typedef struct puller {
    const npg_hub_pull_options *o;
    const char *commit;
    hub_http http;
    CURLM *multi;
    job *jobs;
    size_t n_jobs, running;
    npg_hub_progress prog;
    double last_report;
} puller;

/* ---- one transfer --------------------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *user) {
    job *j = user;
    size_t len = size * n;
    long code = 0;
    if (!j->checked) {
        j->checked = true;
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200 && j->have > 0) { /* the server ignored the Range: start over */
            if (ftruncate(j->fd, 0) != 0 || lseek(j->fd, 0, SEEK_SET) != 0) {
                j->st = npg_fail(NPG_ERR_IO, "%s: cannot truncate: %s", j->part_path, strerror(errno));
                return 0;
            }
            EVP_MD_CTX_free(j->md);
            j->md = NULL;
            j->have = j->have_at_start = 0;
            if ((j->st = hub_digest_begin(j->f, &j->md)) != NPG_OK)
                return 0;
        } else if (code == 206 && (j->hd.range_start < 0 || (uint64_t)j->hd.range_start != j->have)) {
            j->st = npg_fail(NPG_ERR_IO, "%s: asked for bytes from %llu, got a range from %lld", j->url,
                             (unsigned long long)j->have, (long long)j->hd.range_start);
            return 0;
        }
    }
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200 && code != 206) { /* an error page: keep a little of it for the message */
        if (j->err_body.len < 4096 && npg_strbuf_append(&j->err_body, p, len) != NPG_OK)
            return 0;
        return len;
    }
    if (j->have + len > j->f->size) {
        j->st = npg_fail(NPG_ERR_FORMAT, "%s: the server sent more than the %llu bytes the listing gives '%s'",
                         j->url, (unsigned long long)j->f->size, j->f->name);
        return 0;
    }
    for (size_t o = 0; o < len;) {
        ssize_t w = write(j->fd, p + o, len - o);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            j->st = npg_fail(NPG_ERR_IO, "%s: write failed: %s", j->part_path, strerror(errno));
            return 0;
        }
        o += (size_t)w;
    }
    EVP_DigestUpdate(j->md, p, len);
    j->have += len;
    j->fetched += len;
    return len;
}

static void job_close(job *j) {
    if (j->fd >= 0)
        close(j->fd); /* also drops the lock */
    j->fd = -1;
    j->locked = false;
    EVP_MD_CTX_free(j->md);
    j->md = NULL;
}

/* Opens and locks the part file and hashes what an earlier attempt left in it. */
static npg_status job_open(job *j) {
    NPG_TRY(hub_mkdirs_parent(j->part_path));
    j->fd = open(j->part_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0)
        return npg_fail(NPG_ERR_IO, "%s: cannot open: %s", j->part_path, strerror(errno));
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0)
        return npg_fail(NPG_ERR_IO, "%s: another pull is downloading this file (%s)", j->part_path,
                        strerror(errno));
    j->locked = true;
    NPG_TRY(hub_digest_begin(j->f, &j->md));
    struct stat sb;
    if (fstat(j->fd, &sb) != 0)
        return npg_fail(NPG_ERR_IO, "%s: cannot stat: %s", j->part_path, strerror(errno));
    if ((uint64_t)sb.st_size > j->f->size && ftruncate(j->fd, 0) != 0)
        return npg_fail(NPG_ERR_IO, "%s: cannot truncate: %s", j->part_path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    NPG_CHECK_ALLOC(buf);
    j->have = 0;
    npg_status st = NPG_OK;
    for (;;) {
        ssize_t n = read(j->fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = npg_fail(NPG_ERR_IO, "%s: read failed: %s", j->part_path, strerror(errno));
        if (n <= 0)
            break;
        EVP_DigestUpdate(j->md, buf, (size_t)n);
        j->have += (uint64_t)n;
    }
    free(buf);
    return st;
}

static npg_status job_request(puller *p, job *j) {
    j->easy = curl_easy_init();
    if (!j->easy)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "cannot create a libcurl handle");
    hub_headers_reset(&j->hd);
    npg_strbuf_free(&j->err_body);
    j->checked = false;
    j->have_at_start = j->have;
    hub_http_setup(&p->http, j->easy, j->url, j->errbuf);
    curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->easy, CURLOPT_HEADERFUNCTION, hub_http_on_header);
    curl_easy_setopt(j->easy, CURLOPT_HEADERDATA, &j->hd);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, (void *)j);
    if (j->have > 0) {
        snprintf(j->range, sizeof j->range, "%llu-", (unsigned long long)j->have);
        curl_easy_setopt(j->easy, CURLOPT_RANGE, j->range);
    }
    if (curl_multi_add_handle(p->multi, j->easy) != CURLM_OK) {
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
        return npg_fail(NPG_ERR_INTERNAL, "cannot add a transfer to the libcurl multi handle");
    }
    j->state = JOB_RUNNING;
    p->running++;
    return NPG_OK;
}

/* The bytes are all there: check them, then give the file its final name. */
static npg_status job_finish(puller *p, job *j) {
    char hex[65];
    hub_digest_hex(j->md, hex);
    j->md = NULL;
    if (strcmp(hex, j->f->etag) != 0) {
        unlink(j->part_path); /* while still holding its lock */
        job_close(j);
        return npg_fail(NPG_ERR_CHECKSUM,
                        "%s: the downloaded bytes have %s %s, the Hub lists %s; the download was discarded", j->f->name,
                        j->f->lfs ? "sha256" : "git blob sha1", hex, j->f->etag);
    }
    if (fsync(j->fd) != 0)
        return npg_fail(NPG_ERR_IO, "%s: fsync failed: %s", j->part_path, strerror(errno));
    NPG_TRY(hub_mkdirs_parent(j->final_path)); /* -o: a file in a subfolder */
    if (rename(j->part_path, j->final_path) != 0)
        return npg_fail(NPG_ERR_IO, "%s: cannot rename to %s: %s", j->part_path, j->final_path, strerror(errno));
    job_close(j);
    j->state = JOB_DONE;
    p->prog.files_done += j->n_files;
    return NPG_OK;
}

static bool transient(CURLcode rc) {
    return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_HTTP2 ||
           rc == CURLE_HTTP2_STREAM;
}

/* Another attempt from the current size, after a pause that doubles while nothing arrives. */
static npg_status job_retry(job *j, npg_status why) {
    if (j->have > j->have_at_start)
        j->tries = 0;
    if (++j->tries >= MAX_TRIES)
        return why;
    double pause = 250.0 * (double)(1 << (j->tries - 1));
    j->retry_at = npg_now_ms() + (pause < 8000.0 ? pause : 8000.0);
    j->state = JOB_PENDING;
    return NPG_OK;
}

static npg_status job_done(puller *p, job *j, CURLcode rc) {
    long code = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_multi_remove_handle(p->multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    p->running--;
    if (j->st != NPG_OK)
        return j->st;
    if (rc != CURLE_OK) {
        npg_status why = npg_fail(NPG_ERR_IO, "%s: %s", j->url, j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
        return transient(rc) ? job_retry(j, why) : why;
    }
    if (code == 416 && j->have == j->f->size) /* an earlier attempt got every byte */
        return job_finish(p, j);
    if (code == 416) { /* the part file is not a prefix the server knows: start over */
        if (ftruncate(j->fd, 0) != 0 || lseek(j->fd, 0, SEEK_SET) != 0)
            return npg_fail(NPG_ERR_IO, "%s: cannot truncate: %s", j->part_path, strerror(errno));
        EVP_MD_CTX_free(j->md);
        j->md = NULL;
        j->have = 0;
        NPG_TRY(hub_digest_begin(j->f, &j->md));
        return job_retry(j, npg_fail(NPG_ERR_IO, "%s: every Range request was refused (HTTP 416)", j->url));
    }
    if (code != 200 && code != 206) {
        npg_status why = hub_http_fail(code, j->url, p->http.has_token, &j->hd, j->err_body.data, j->err_body.len);
        bool again = code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
        return again ? job_retry(j, why) : why;
    }
    if (j->hd.repo_commit[0] && strcmp(j->hd.repo_commit, p->commit) != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: the Hub answered with commit %s, the listing named %s", j->url,
                        j->hd.repo_commit, p->commit);
    if (j->have < j->f->size)
        return job_retry(j, npg_fail(NPG_ERR_IO, "%s: the transfer ended after %llu of %llu bytes", j->url,
                                     (unsigned long long)j->have, (unsigned long long)j->f->size));
    return job_finish(p, j);
}

/* ---- the loop -------------------------------------------------------------------------------------- */

static void report(puller *p, bool force) {
    if (!p->o->progress)
        return;
    double now = npg_now_ms();
    if (!force && now - p->last_report < 100.0)
        return;
    p->last_report = now;
    uint64_t done = 0, fetched = 0; /* files in place count whole, from before this pull too */
    for (size_t i = 0; i < p->n_jobs; i++) {
        done += p->jobs[i].state == JOB_DONE ? p->jobs[i].f->size : p->jobs[i].have;
        fetched += p->jobs[i].fetched;
    }
    p->prog.bytes_done = done;
    p->prog.bytes_fetched = fetched;
    p->o->progress(p->o->user, &p->prog);
}

static npg_status start_ready(puller *p, size_t parallel) {
    double now = npg_now_ms();
    for (size_t i = 0; i < p->n_jobs && p->running < parallel; i++) {
        job *j = &p->jobs[i];
        if (j->state != JOB_PENDING || j->retry_at > now)
            continue;
        if (j->fd < 0) {
            NPG_TRY(job_open(j));
            if (j->have == j->f->size) { /* a previous pull got every byte but stopped before the rename */
                NPG_TRY(job_finish(p, j));
                continue;
            }
        }
        NPG_TRY(job_request(p, j));
    }
    return NPG_OK;
}

static size_t pending_or_running(const puller *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->n_jobs; i++)
        n += p->jobs[i].state != JOB_DONE;
    return n;
}

static npg_status run_jobs(puller *p) {
    size_t parallel = p->o->parallel > 0 ? (size_t)p->o->parallel : 8;
    p->multi = curl_multi_init();
    if (!p->multi)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "cannot create a libcurl multi handle");
    npg_status st = NPG_OK;
    while (st == NPG_OK && pending_or_running(p) > 0) {
        st = start_ready(p, parallel);
        int still = 0;
        if (st == NPG_OK && curl_multi_perform(p->multi, &still) != CURLM_OK)
            st = npg_fail(NPG_ERR_INTERNAL, "libcurl multi transfer failed");
        CURLMsg *m;
        int left;
        while (st == NPG_OK && (m = curl_multi_info_read(p->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            st = job_done(p, (job *)(void *)priv, m->data.result);
        }
        if (st == NPG_OK) {
            report(p, false);
            if (pending_or_running(p) > 0)
                curl_multi_poll(p->multi, NULL, 0, 100, NULL);
        }
    }
    /* on failure, stop every other transfer; their part files stay for the next pull to resume */
    for (size_t i = 0; i < p->n_jobs; i++) {
        job *j = &p->jobs[i];
        if (j->easy) {
            curl_multi_remove_handle(p->multi, j->easy);
            curl_easy_cleanup(j->easy);
            j->easy = NULL;
        }
        if (j->locked && j->have == 0) /* nothing worth resuming */
            unlink(j->part_path);
        job_close(j);
    }
    curl_multi_cleanup(p->multi);
    p->multi = NULL;
    if (st == NPG_OK)
        report(p, true);
    return st;
}

/* ---- planning ---------------------------------------------------------------------------------------- */

static npg_status fetch_listing(puller *p, const char *repo_id, const char *revision, npg_hub_listing *l) {
    char *rev = hub_quote(revision, false);
    NPG_CHECK_ALLOC(rev);
    npg_strbuf url = {0};
    npg_status st = npg_strbuf_printf(&url, "%s/api/models/%s/revision/%s?blobs=true", p->http.endpoint, repo_id, rev);
    free(rev);
    char *body = NULL;
    size_t len = 0;
    if (st == NPG_OK)
        st = hub_http_get(&p->http, url.data, &body, &len);
    if (st == NPG_OK)
        st = npg_hub_parse_listing(body, len, url.data, l);
    free(body);
    npg_strbuf_free(&url);
    return st;
}

static bool selected(const npg_hub_pull_options *o, const char *name) {
    if (o->n_includes == 0)
        return true;
    for (size_t i = 0; i < o->n_includes; i++)
        if (o->includes[i] && npg_hub_match(o->includes[i], name))
            return true;
    return false;
}

/* One entry per download; a file already in place is an entry in state JOB_DONE. */
static npg_status plan_file(puller *p, const npg_hub_file *f, const char *repo_dir) {
    const npg_hub_pull_options *o = p->o;
    p->prog.files_total++;
    if (!o->out_dir) /* the cache stores equal bytes once */
        for (size_t i = 0; i < p->n_jobs; i++)
            if (strcmp(p->jobs[i].f->etag, f->etag) == 0) {
                p->jobs[i].n_files++;
                if (p->jobs[i].state == JOB_DONE)
                    p->prog.files_done++;
                return NPG_OK;
            }
    job *j = &p->jobs[p->n_jobs++];
    memset(j, 0, sizeof *j);
    j->f = f;
    j->n_files = 1;
    j->fd = -1;
    j->state = JOB_PENDING;
    npg_strbuf fin = {0}, part = {0};
    npg_status st;
    if (o->out_dir) {
        st = npg_strbuf_printf(&fin, "%s/%s", o->out_dir, f->name);
        if (st == NPG_OK) /* flat and unique per name and content, so a resume never mixes two files */
            st = npg_strbuf_printf(&part, "%s/.cache/huggingface/download/%s.%016llx.incomplete", o->out_dir, f->etag,
                                   (unsigned long long)npg_hash64(f->name, strlen(f->name), 0));
    } else {
        st = npg_strbuf_printf(&fin, "%s/blobs/%s", repo_dir, f->etag);
        if (st == NPG_OK)
            st = npg_strbuf_printf(&part, "%s.incomplete", fin.data);
    }
    j->final_path = fin.data;
    j->part_path = part.data;
    char *name = st == NPG_OK ? hub_quote(f->name, true) : NULL;
    npg_strbuf url = {0};
    if (st == NPG_OK && !name)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NPG_OK) /* by commit, not revision: every file comes from the commit the listing named */
        st = npg_strbuf_printf(&url, "%s/%s/resolve/%s/%s", p->http.endpoint, o->repo_id, p->commit, name);
    free(name);
    j->url = url.data;
    NPG_TRY(st);
    p->prog.bytes_total += f->size;
    bool present = false;
    if (o->out_dir) {
        NPG_TRY(hub_file_matches(j->final_path, f, &present));
    } else { /* blobs only ever get their name once verified */
        struct stat sb;
        present = stat(j->final_path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == f->size;
    }
    if (present) {
        j->present = true;
        j->state = JOB_DONE;
        p->prog.files_done++;
    }
    return NPG_OK;
}

/* rmdir of <out>/.cache/huggingface/download and its parents when a pull left them empty. */
static void tidy_out_dir(const char *out_dir) {
    static const char *const sub[] = {"/.cache/huggingface/download", "/.cache/huggingface", "/.cache"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        npg_strbuf d = {0};
        if (npg_strbuf_printf(&d, "%s%s", out_dir, sub[i]) == NPG_OK)
            rmdir(d.data); /* fails, harmlessly, when not empty */
        npg_strbuf_free(&d);
    }
}

static npg_status pull(puller *p, npg_hub_listing *l, const char *repo_dir, const char *revision,
                       npg_hub_pull_result *out) {
    const npg_hub_pull_options *o = p->o;
    NPG_TRY(fetch_listing(p, o->repo_id, revision, l));
    p->commit = l->commit;
    size_t n_sel = 0;
    for (size_t i = 0; i < l->n_files; i++)
        n_sel += selected(o, l->files[i].name);
    if (n_sel == 0)
        return npg_fail(NPG_ERR_NOT_FOUND, "%s@%s: %s", o->repo_id, revision,
                        l->n_files ? "no file matches the --include patterns" : "the repo has no files");
    p->jobs = calloc(n_sel, sizeof *p->jobs);
    NPG_CHECK_ALLOC(p->jobs);
    NPG_TRY(hub_mkdirs(o->out_dir ? o->out_dir : repo_dir));
    for (size_t i = 0; i < l->n_files; i++)
        if (selected(o, l->files[i].name))
            NPG_TRY(plan_file(p, &l->files[i], repo_dir));
    NPG_TRY(run_jobs(p));
    npg_strbuf folder = {0};
    if (o->out_dir) {
        tidy_out_dir(o->out_dir);
        NPG_TRY(npg_strbuf_append_str(&folder, o->out_dir));
    } else {
        for (size_t i = 0; i < l->n_files; i++)
            if (selected(o, l->files[i].name))
                NPG_TRY(hub_link_snapshot(repo_dir, l->commit, &l->files[i]));
        if (strcmp(revision, l->commit) != 0) /* last: the repo id resolves once the pull is whole */
            NPG_TRY(hub_write_ref(repo_dir, revision, l->commit));
        NPG_TRY(npg_strbuf_printf(&folder, "%s/snapshots/%s", repo_dir, l->commit));
    }
    out->folder = folder.data;
    memcpy(out->commit, l->commit, 41);
    out->files = n_sel;
    for (size_t i = 0; i < p->n_jobs; i++) {
        out->files_downloaded += p->jobs[i].present ? 0 : p->jobs[i].n_files;
        out->bytes_fetched += p->jobs[i].fetched;
    }
    return NPG_OK;
}

npg_status npg_hub_pull(const npg_hub_pull_options *o, npg_hub_pull_result *out) {
    if (!o || !out || !o->repo_id)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_hub_pull: %s is NULL", !o ? "options" : !out ? "out" : "repo_id");
    memset(out, 0, sizeof *out);
    const char *revision = o->revision ? o->revision : "main";
    if (!npg_hub_valid_repo_id(o->repo_id))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "'%s' is not a Hugging Face repo id (ORG/NAME)", o->repo_id);
    if (!npg_hub_valid_revision(revision))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "'%s' is not a revision (a branch, tag or commit)", revision);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return npg_fail(NPG_ERR_INTERNAL, "libcurl could not be initialised");
    puller p = {.o = o};
    npg_hub_listing l = {0};
    char *endpoint = NULL, *token = NULL, *cache = NULL, *repo_dir = NULL;
    npg_status st = o->endpoint ? ((endpoint = strdup(o->endpoint)) ? NPG_OK : NPG_ERR_OUT_OF_MEMORY)
                                : npg_hub_endpoint(&endpoint);
    if (st == NPG_OK && o->token)
        st = (token = strdup(o->token)) ? NPG_OK : NPG_ERR_OUT_OF_MEMORY;
    else if (st == NPG_OK)
        st = npg_hub_token(&token);
    if (st == NPG_OK && !o->out_dir) {
        st = o->cache_dir ? ((cache = strdup(o->cache_dir)) ? NPG_OK : NPG_ERR_OUT_OF_MEMORY) : npg_hub_cache_dir(&cache);
        if (st == NPG_OK && !(repo_dir = npg_hub_repo_dir(cache, o->repo_id)))
            st = NPG_ERR_OUT_OF_MEMORY;
    }
    if (st == NPG_ERR_OUT_OF_MEMORY)
        st = npg_fail(st, "out of memory in npg_hub_pull");
    if (st == NPG_OK)
        st = hub_http_open(&p.http, endpoint, token);
    if (st == NPG_OK)
        st = pull(&p, &l, repo_dir, revision, out);
    for (size_t i = 0; i < p.n_jobs; i++) {
        free(p.jobs[i].url);
        free(p.jobs[i].final_path);
        free(p.jobs[i].part_path);
        npg_strbuf_free(&p.jobs[i].err_body);
    }
    free(p.jobs);
    hub_http_close(&p.http);
    npg_hub_listing_free(&l);
    if (token) /* do not leave the secret in freed memory */
        memset(token, 0, strlen(token));
    free(token);
    free(endpoint);
    free(cache);
    free(repo_dir);
    curl_global_cleanup();
    if (st != NPG_OK)
        npg_hub_pull_result_free(out);
    return st;
}

void npg_hub_pull_result_free(npg_hub_pull_result *r) {
    if (!r)
        return;
    free(r->folder);
    memset(r, 0, sizeof *r);
}
