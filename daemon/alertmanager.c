/*
 * alertmanager: the Alertmanager sink's thread and queue (alertmanager.h).
 * The conversion of one alert is amalert.c's; this file moves bytes.
 */
#include "alertmanager.h"

#include "amalert.h"
#include "buf.h"
#include "log.h"
#include "now.h"
#include "secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 64            /* alerts per POST */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define VALIDITY_INTERVALS 4    /* endsAt of a firing alert, in resends */

typedef struct item {
    char *json;
    size_t len;
} item;

/* A firing alert of a kind that resolves, posted again until resolved. */
typedef struct firing {
    char id[AMALERT_ID_MAX + 1];
    char *json;
    size_t len;
} firing;

/* The outcome of one POST to every URL. */
enum post_result { POST_FAILED = 0, POST_OK = 1, POST_REFUSED = -1 };

struct alertmanager {
    /* Shared, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *q;                    /* ring of qcap, qlen from qhead */
    size_t qcap, qhead, qlen, qmax;
    size_t inflight;            /* alerts in the thread's batch */
    bool stopping;
    int64_t deadline_ms;        /* monotonic: give up flushing then */
    bool started, joined;
    pthread_t thread;
    metrics *m;

    /* Set up by alertmanager_new(), then the thread's alone. */
    char **urls;                /* <base>/api/v2/alerts */
    size_t nurls;
    int64_t resend_ms, timeout_ms;
    char *generator_url;        /* NULL: none */
    struct curl_slist *headers;
    char *user, *password;      /* basic auth, or NULL */
    char *ca_file;              /* CURLOPT_CAINFO, or NULL: system store */
    CURL *curl;
    firing *fire;
    size_t nfire, fire_cap;
    item batch[BATCH_MAX];
    size_t nbatch;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- the queue (under mu) ------------------------------------------------ */

static void set_queue_gauge(alertmanager *am)
{
    if (am->m != NULL)
        metrics_am_set_queue(am->m, (int64_t)(am->qlen + am->inflight));
}

static void dropped(alertmanager *am, uint64_t n)
{
    if (am->m != NULL && n > 0)
        metrics_am_dropped(am->m, n);
}

int alertmanager_push(alertmanager *am, const char *json, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        dropped(am, 1);
        log_limited("alertmanager-oom", LOG_LEVEL_ERROR,
                    "alertmanager: out of memory, alert dropped");
        return -1;
    }
    memcpy(copy, json, len);
    copy[len] = '\0';
    pthread_mutex_lock(&am->mu);
    if (am->qlen == am->qcap && am->qcap < am->qmax) {
        /* Grow the ring up to qmax, unrolling it into the new array. */
        size_t cap = am->qcap ? am->qcap * 2 : 64;
        if (cap > am->qmax)
            cap = am->qmax;
        item *q = malloc(cap * sizeof *q);
        if (q != NULL) {
            for (size_t i = 0; i < am->qlen; i++)
                q[i] = am->q[(am->qhead + i) % am->qcap];
            free(am->q);
            am->q = q;
            am->qcap = cap;
            am->qhead = 0;
        }
    }
    char *old = NULL;
    if (am->qlen == am->qcap) {
        if (am->qcap == 0) {
            pthread_mutex_unlock(&am->mu);
            free(copy);
            dropped(am, 1);
            return -1;
        }
        /* Full: the oldest goes (issue 18: a bounded queue). */
        old = am->q[am->qhead].json;
        am->qhead = (am->qhead + 1) % am->qcap;
        am->qlen--;
    }
    am->q[(am->qhead + am->qlen) % am->qcap] = (item){copy, len};
    am->qlen++;
    set_queue_gauge(am);
    pthread_cond_signal(&am->cv);
    pthread_mutex_unlock(&am->mu);
    if (old != NULL) {
        free(old);
        dropped(am, 1);
        log_limited("alertmanager-full", LOG_LEVEL_WARNING,
                    "alertmanager: queue full, the oldest alert dropped "
                    "queue_max=%zu", am->qmax);
    }
    return 0;
}

size_t alertmanager_pending(alertmanager *am)
{
    pthread_mutex_lock(&am->mu);
    size_t n = am->qlen + am->inflight;
    pthread_mutex_unlock(&am->mu);
    return n;
}

/* --- the firing set (the thread's) --------------------------------------- */

static ssize_t fire_find(const alertmanager *am, const char *id)
{
    /* Linear: firing incidents are few (alerts are rare), and this runs on
     * the sink's thread, never the loop's. */
    for (size_t i = 0; i < am->nfire; i++)
        if (strcmp(am->fire[i].id, id) == 0)
            return (ssize_t)i;
    return -1;
}

/* Records what alert it says about its incident.  Returns -1 when it is
 * not an alert. */
static int fire_update(alertmanager *am, const item *it)
{
    amalert_info info;
    char err[256];
    if (amalert_info_read(it->json, it->len, &info, err, sizeof err) < 0) {
        log_limited("alertmanager-invalid", LOG_LEVEL_ERROR,
                    "alertmanager: alert dropped: %s", err);
        return -1;
    }
    if (!info.resolves)
        return 0;
    ssize_t k = fire_find(am, info.alert_id);
    if (info.resolved) {
        if (k >= 0) {
            free(am->fire[k].json);
            am->fire[k] = am->fire[--am->nfire];
        }
        return 0;
    }
    char *copy = malloc(it->len + 1);
    if (copy == NULL)
        return 0;   /* posted once all the same; not re-sent */
    memcpy(copy, it->json, it->len + 1);
    if (k >= 0) {
        free(am->fire[k].json);
        am->fire[k].json = copy;
        am->fire[k].len = it->len;
        return 0;
    }
    if (am->nfire == am->fire_cap) {
        size_t cap = am->fire_cap ? am->fire_cap * 2 : 16;
        firing *f = realloc(am->fire, cap * sizeof *f);
        if (f == NULL) {
            free(copy);
            return 0;
        }
        am->fire = f;
        am->fire_cap = cap;
    }
    firing *f = &am->fire[am->nfire++];
    snprintf(f->id, sizeof f->id, "%s", info.alert_id);
    f->json = copy;
    f->len = it->len;
    return 0;
}

/* --- posting ------------------------------------------------------------- */

/* Keeps the start of Alertmanager's answer, for the log. */
static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    buf *b = user;
    size_t len = size * n;
    if (b->len < 200)
        buf_append(b, data, len < 200 - b->len ? len : 200 - b->len);
    return len;
}

/* Appends "[postable,...]" of alerts json[0..n) to body, as of now. */
static void build_body(const alertmanager *am, const item *its, size_t n,
                       buf *body)
{
    int64_t now = now_wall_ms();
    int64_t validity = VALIDITY_INTERVALS * am->resend_ms;
    buf_append_byte(body, '[');
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        size_t mark = body->len;
        if (written > 0)
            buf_append_byte(body, ',');
        char err[256];
        if (amalert_postable(its[i].json, its[i].len, now, validity,
                             am->generator_url, body, err, sizeof err) < 0) {
            body->len = mark;   /* checked when taken; out of memory here */
            continue;
        }
        written++;
    }
    buf_append_byte(body, ']');
}

/* POSTs body to every URL; timeout_ms for each. */
static enum post_result post(alertmanager *am, const buf *body,
                             int64_t timeout_ms)
{
    bool ok = false, failed = false;
    for (size_t i = 0; i < am->nurls; i++) {
        buf answer = BUF_INIT;
        CURL *c = am->curl;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, am->urls[i]);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)body->len);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, am->headers);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
        /* Verification stays on (libcurl's default, never turned off
         * here); ca_file replaces the system's store rather than adding
         * to it, as Prometheus's tls_config ca_file does. */
        if (am->ca_file != NULL) {
            curl_easy_setopt(c, CURLOPT_CAINFO, am->ca_file);
            curl_easy_setopt(c, CURLOPT_CAPATH, (char *)NULL);
        }
        if (am->user != NULL) {
            curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(c, CURLOPT_USERNAME, am->user);
            curl_easy_setopt(c, CURLOPT_PASSWORD, am->password);
        }
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK) {
            failed = true;
            log_limited("alertmanager-post", LOG_LEVEL_WARNING,
                        "alertmanager: POST failed, retrying: %s url=%s",
                        curl_easy_strerror(rc), am->urls[i]);
        } else if (status >= 200 && status < 300) {
            ok = true;
        } else {
            /* 4xx but a timeout or a rate limit: Alertmanager refused these
             * alerts as they are, and would again. */
            bool refused = status >= 400 && status < 500 && status != 408 &&
                           status != 429;
            failed = failed || !refused;
            log_limited("alertmanager-status", LOG_LEVEL_WARNING,
                        "alertmanager: POST answered %ld%s: %.*s url=%s",
                        status, refused ? " (alerts dropped)" : ", retrying",
                        (int)answer.len, answer.data ? answer.data : "",
                        am->urls[i]);
        }
        buf_free(&answer);
    }
    return ok ? POST_OK : failed ? POST_FAILED : POST_REFUSED;
}

/* Posts the firing set again, in batches.  Failures wait for the next
 * resend: endsAt is VALIDITY_INTERVALS resends ahead. */
static void resend(alertmanager *am)
{
    item its[BATCH_MAX];
    for (size_t i = 0; i < am->nfire;) {
        size_t n = 0;
        for (; n < BATCH_MAX && i < am->nfire; n++, i++)
            its[n] = (item){am->fire[i].json, am->fire[i].len};
        buf body = BUF_INIT;
        build_body(am, its, n, &body);
        enum post_result r =
            buf_failed(&body) ? POST_FAILED : post(am, &body, am->timeout_ms);
        buf_free(&body);
        if (r == POST_OK && am->m != NULL)
            metrics_am_sent(am->m, n);
        else if (r != POST_OK && am->m != NULL)
            metrics_am_failed(am->m);
    }
}

static void free_batch(alertmanager *am)
{
    for (size_t i = 0; i < am->nbatch; i++)
        free(am->batch[i].json);
    am->nbatch = 0;
}

/* --- the thread ---------------------------------------------------------- */

static void timed_wait(alertmanager *am, int64_t until_mono)
{
    if (until_mono == INT64_MAX) {
        pthread_cond_wait(&am->cv, &am->mu);
        return;
    }
    /* The condition variable uses CLOCK_MONOTONIC (alertmanager_new). */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t wait = until_mono - now_mono_ms();
    if (wait <= 0)
        return;
    ts.tv_sec += wait / 1000;
    ts.tv_nsec += (wait % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&am->cv, &am->mu, &ts);
}

static void *run(void *arg)
{
    alertmanager *am = arg;
    int64_t next_resend = now_mono_ms() + am->resend_ms;
    int64_t retry_at = 0, backoff = 0;
    for (;;) {
        enum { TAKE, RETRY, RESEND, DONE } what;
        bool stopping;
        int64_t deadline;
        pthread_mutex_lock(&am->mu);
        for (;;) {
            int64_t now = now_mono_ms();
            stopping = am->stopping;
            deadline = am->deadline_ms;
            if (stopping && (now >= deadline ||
                             (am->qlen == 0 && am->nbatch == 0))) {
                what = DONE;
                break;
            }
            if (am->nbatch > 0 && now >= retry_at) {
                what = RETRY;
                break;
            }
            if (am->nbatch == 0 && !stopping && am->nfire > 0 &&
                now >= next_resend) {
                what = RESEND;
                break;
            }
            if (am->nbatch == 0 && am->qlen > 0) {
                what = TAKE;
                break;
            }
            int64_t until = INT64_MAX;
            if (am->nbatch > 0)
                until = retry_at;
            else if (am->nfire > 0 && !stopping)
                until = next_resend;
            if (stopping && deadline < until)
                until = deadline;
            timed_wait(am, until);
        }
        if (what == DONE) {
            size_t lost = am->qlen + am->nbatch;
            for (; am->qlen > 0; am->qlen--) {
                free(am->q[am->qhead].json);
                am->qhead = (am->qhead + 1) % am->qcap;
            }
            free_batch(am);
            am->inflight = 0;
            set_queue_gauge(am);
            pthread_mutex_unlock(&am->mu);
            if (lost > 0) {
                dropped(am, lost);
                log_warning("alertmanager: stopping with alerts not posted "
                            "alerts=%zu", lost);
            }
            return NULL;
        }
        if (what == TAKE) {
            while (am->nbatch < BATCH_MAX && am->qlen > 0) {
                am->batch[am->nbatch++] = am->q[am->qhead];
                am->qhead = (am->qhead + 1) % am->qcap;
                am->qlen--;
            }
            am->inflight = am->nbatch;
        }
        pthread_mutex_unlock(&am->mu);

        if (what == RESEND) {
            resend(am);
            next_resend = now_mono_ms() + am->resend_ms;
            continue;
        }
        if (what == TAKE) {
            /* The firing set follows the alerts in the order decided;
             * what is not an alert leaves the batch. */
            size_t kept = 0;
            for (size_t i = 0; i < am->nbatch; i++) {
                if (fire_update(am, &am->batch[i]) == 0) {
                    am->batch[kept++] = am->batch[i];
                } else {
                    free(am->batch[i].json);
                    dropped(am, 1);
                }
            }
            am->nbatch = kept;
            if (kept == 0) {
                pthread_mutex_lock(&am->mu);
                am->inflight = 0;
                set_queue_gauge(am);
                pthread_mutex_unlock(&am->mu);
                continue;
            }
        }
        int64_t timeout = am->timeout_ms;
        if (stopping && deadline - now_mono_ms() < timeout)
            timeout = deadline - now_mono_ms() > 1 ? deadline - now_mono_ms()
                                                   : 1;
        buf body = BUF_INIT;
        build_body(am, am->batch, am->nbatch, &body);
        enum post_result r =
            buf_failed(&body) ? POST_FAILED : post(am, &body, timeout);
        buf_free(&body);
        size_t n = am->nbatch;
        if (r == POST_FAILED) {
            if (am->m != NULL)
                metrics_am_failed(am->m);
            backoff = backoff == 0 ? BACKOFF_MIN_MS
                      : backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                     : backoff * 2;
            retry_at = now_mono_ms() + backoff;
            continue;
        }
        backoff = 0;
        if (r == POST_OK && am->m != NULL)
            metrics_am_sent(am->m, n);
        else if (r == POST_REFUSED)
            dropped(am, n);
        pthread_mutex_lock(&am->mu);
        free_batch(am);
        am->inflight = 0;
        set_queue_gauge(am);
        pthread_mutex_unlock(&am->mu);
    }
}

/* --- construction -------------------------------------------------------- */

/* The base URLs of cfg->am_url, each with /api/v2/alerts. */
static int split_urls(alertmanager *am, const char *spec)
{
    for (const char *p = spec; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == 0)
            break;
        size_t base = len;
        while (base > 0 && p[base - 1] == '/')
            base--;
        char **urls = realloc(am->urls, (am->nurls + 1) * sizeof *urls);
        if (urls == NULL)
            return -1;
        am->urls = urls;
        size_t size = base + sizeof "/api/v2/alerts";
        if ((am->urls[am->nurls] = malloc(size)) == NULL)
            return -1;
        snprintf(am->urls[am->nurls++], size, "%.*s/api/v2/alerts",
                 (int)base, p);
        p += len;
    }
    return 0;
}

/* The generatorURL: [alertmanager] generator_url, else the metrics
 * endpoint when it listens on one host and a fixed port, else none. */
static int set_generator_url(alertmanager *am, const config *cfg)
{
    char url[512];
    if (cfg->am_generator_url[0] != '\0')
        snprintf(url, sizeof url, "%s", cfg->am_generator_url);
    else if (cfg->http_listen[0] != '\0' && cfg->http_host[0] != '\0' &&
             strcmp(cfg->http_host, "0.0.0.0") != 0 &&
             strcmp(cfg->http_host, "::") != 0 && cfg->http_port != 0)
        snprintf(url, sizeof url,
                 strchr(cfg->http_host, ':') ? "http://[%s]:%d/metrics"
                                             : "http://%s:%d/metrics",
                 cfg->http_host, cfg->http_port);
    else
        return 0;
    return (am->generator_url = strdup(url)) == NULL ? -1 : 0;
}

static int read_credentials(alertmanager *am, const config *cfg,
                            char *errstr, size_t errstr_size)
{
    char secret[SECRET_MAX];
    char err[256];
    int rc = 0;
    if (cfg->am_bearer_token_file[0] != '\0') {
        secret_result r = secret_read(cfg->am_bearer_token_file, "", secret,
                                      sizeof secret, err, sizeof err);
        if (r == SECRET_ERROR) {
            snprintf(errstr, errstr_size, "[alertmanager] bearer_token_file: "
                     "%s", err);
            rc = -1;
        } else if (r == SECRET_FOUND) {
            char header[SECRET_MAX + 32];
            snprintf(header, sizeof header, "Authorization: Bearer %s",
                     secret);
            struct curl_slist *h = curl_slist_append(am->headers, header);
            explicit_bzero(header, sizeof header);
            if (h == NULL)
                rc = -1;
            else
                am->headers = h;
        }
    }
    if (rc == 0 && cfg->am_basic_auth_user[0] != '\0') {
        secret_result r = secret_read(cfg->am_basic_auth_password_file, "",
                                      secret, sizeof secret, err, sizeof err);
        if (r == SECRET_ERROR) {
            snprintf(errstr, errstr_size, "[alertmanager] "
                     "basic_auth_password_file: %s", err);
            rc = -1;
        } else {
            am->user = strdup(cfg->am_basic_auth_user);
            am->password = strdup(r == SECRET_FOUND ? secret : "");
            if (am->user == NULL || am->password == NULL)
                rc = -1;
        }
    }
    explicit_bzero(secret, sizeof secret);
    if (rc < 0 && errstr[0] == '\0')
        snprintf(errstr, errstr_size, "out of memory");
    return rc;
}

/* [alertmanager] ca_file: readable, and holding a PEM certificate, so that
 * a wrong path stops the start rather than failing every POST later. */
static int set_ca_file(alertmanager *am, const config *cfg, char *errstr,
                       size_t errstr_size)
{
    const char *path = cfg->am_ca_file;
    if (path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "[alertmanager] ca_file = \"%s\": %s",
                 path, strerror(errno));
        return -1;
    }
    char line[256];
    bool pem = false;
    while (!pem && fgets(line, sizeof line, f) != NULL)
        pem = strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0;
    bool failed = ferror(f) != 0;
    int err = errno;
    fclose(f);
    if (failed || !pem) {
        snprintf(errstr, errstr_size, "[alertmanager] ca_file = \"%s\": %s",
                 path, failed ? strerror(err)
                              : "no PEM certificate (-----BEGIN "
                                "CERTIFICATE-----) in it");
        return -1;
    }
    if ((am->ca_file = strdup(path)) == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

alertmanager *alertmanager_new(const config *cfg, metrics *m, char *errstr,
                               size_t errstr_size)
{
    errstr[0] = '\0';
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(errstr, errstr_size, "alertmanager: libcurl: %s",
                 curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    alertmanager *am = calloc(1, sizeof *am);
    if (am == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&am->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&am->cv, &ca);
    pthread_condattr_destroy(&ca);
    am->joined = true;
    am->m = m;
    am->qmax = (size_t)cfg->am_queue_max;
    am->resend_ms = cfg->am_resend_interval_ms;
    am->timeout_ms = cfg->am_timeout_ms;
    struct curl_slist *h =
        curl_slist_append(NULL, "Content-Type: application/json");
    if (h == NULL || split_urls(am, cfg->am_url) < 0 ||
        set_generator_url(am, cfg) < 0 ||
        (am->curl = curl_easy_init()) == NULL) {
        curl_slist_free_all(h);
        snprintf(errstr, errstr_size, "out of memory");
        alertmanager_free(am);
        return NULL;
    }
    am->headers = h;
    if (am->nurls == 0) {
        snprintf(errstr, errstr_size, "[alertmanager] url is empty");
        alertmanager_free(am);
        return NULL;
    }
    if (set_ca_file(am, cfg, errstr, errstr_size) < 0 ||
        read_credentials(am, cfg, errstr, errstr_size) < 0) {
        alertmanager_free(am);
        return NULL;
    }
    int rc = pthread_create(&am->thread, NULL, run, am);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "alertmanager: cannot start a thread: "
                 "%s", strerror(rc));
        alertmanager_free(am);
        return NULL;
    }
    am->started = true;
    am->joined = false;
    log_info("alertmanager: posting alerts urls=%zu resend_interval_ms=%lld",
             am->nurls, (long long)am->resend_ms);
    return am;
}

void alertmanager_stop(alertmanager *am, int64_t flush_ms)
{
    if (am == NULL || am->joined)
        return;
    pthread_mutex_lock(&am->mu);
    am->stopping = true;
    am->deadline_ms = now_mono_ms() + (flush_ms > 0 ? flush_ms : 0);
    pthread_cond_signal(&am->cv);
    pthread_mutex_unlock(&am->mu);
    pthread_join(am->thread, NULL);
    am->joined = true;
}

void alertmanager_free(alertmanager *am)
{
    if (am == NULL)
        return;
    alertmanager_stop(am, 0);
    for (size_t i = 0; i < am->qlen; i++)
        free(am->q[(am->qhead + i) % am->qcap].json);
    free(am->q);
    free_batch(am);
    for (size_t i = 0; i < am->nfire; i++)
        free(am->fire[i].json);
    free(am->fire);
    for (size_t i = 0; i < am->nurls; i++)
        free(am->urls[i]);
    free(am->urls);
    free(am->generator_url);
    curl_slist_free_all(am->headers);
    if (am->password != NULL)
        explicit_bzero(am->password, strlen(am->password));
    free(am->user);
    free(am->password);
    free(am->ca_file);
    if (am->curl != NULL)
        curl_easy_cleanup(am->curl);
    pthread_cond_destroy(&am->cv);
    pthread_mutex_destroy(&am->mu);
    free(am);
}
