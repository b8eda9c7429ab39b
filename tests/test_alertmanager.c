/*
 * Integration tests of the Alertmanager sink (alertmanager.h, issue 18)
 * against a real Alertmanager (tests/amharness.h): alerts pushed are read
 * back from its API v2 with their labels and times, queued alerts arrive
 * after an outage, firing alerts are re-sent, a full queue drops the
 * oldest; over https with a private CA and basic auth (Alertmanager's
 * --web.config.file), a wrong password or an untrusted certificate
 * delivers nothing; a bearer token is sent (to a listener of the test's).
 */
#include "alert.h"
#include "alertmanager.h"
#include "amharness.h"
#include "buf.h"
#include "config.h"
#include "harness.h"
#include "metrics.h"
#include "now.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIN INT64_C(60000)

static amharness *amh;
static metrics *m;
static alertmanager *sink;

static void setup(void)
{
    char err[256];
    m = metrics_new("test", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
}

static void teardown(void)
{
    alertmanager_free(sink);
    sink = NULL;
    amharness_free(amh);
    amh = NULL;
    metrics_free(m);
}

TestSuite(alertmanager, .init = setup, .fini = teardown, .timeout = 120);

/* TLS and credentials of a sink; NULL members are left unset. */
typedef struct sink_auth {
    const char *ca_file;
    const char *user, *password_file;
    const char *bearer_token_file;
} sink_auth;

static void set_str(char **field, const char *v)
{
    if (v != NULL) {
        free(*field);
        *field = strdup(v);
        cr_assert_not_null(*field);
    }
}

/* alertmanager_new() on url with these settings: the sink, or NULL with
 * its error in err. */
static alertmanager *new_sink(const char *url, int64_t resend_ms,
                              int64_t queue_max, const sink_auth *auth,
                              char *err, size_t err_size)
{
    config *cfg = config_default(NULL);
    cr_assert_not_null(cfg);
    set_str(&cfg->am_url, url);
    cfg->am_resend_interval_ms = resend_ms;
    cfg->am_queue_max = queue_max;
    cfg->am_timeout_ms = 2000;
    if (auth != NULL) {
        set_str(&cfg->am_ca_file, auth->ca_file);
        set_str(&cfg->am_basic_auth_user, auth->user);
        set_str(&cfg->am_basic_auth_password_file, auth->password_file);
        set_str(&cfg->am_bearer_token_file, auth->bearer_token_file);
    }
    alertmanager *am = alertmanager_new(cfg, m, err, err_size);
    config_free(cfg);
    return am;
}

/* The sink, posting to url with these settings. */
static alertmanager *start_sink(const char *url, int64_t resend_ms,
                                int64_t queue_max)
{
    char err[256];
    alertmanager *am = new_sink(url, resend_ms, queue_max, NULL, err,
                                sizeof err);
    cr_assert_not_null(am, "%s", err);
    return am;
}

/* A file of the test's holding text; the path is malloc'd. */
static char *test_file(const char *name, const char *text)
{
    char *dir = harness_tmpdir();
    cr_assert_not_null(dir);
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = malloc(size);
    cr_assert_not_null(path);
    snprintf(path, size, "%s/%s", dir, name);
    free(dir);
    cr_assert_eq(harness_write_file(path, text, strlen(text)), 0);
    return path;
}

/* An engagement_decay alert of creator `creator`, as engaged writes it. */
static char *decay_json(const char *creator, uint64_t fp, alert_status st,
                        int64_t starts, int64_t ends)
{
    alert a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_ENGAGEMENT_DECAY;
    a.status = st;
    a.severity = ALERT_CRITICAL;
    a.fingerprint = fp;
    a.creator_id = creator;
    a.tier = "mega";
    a.starts_at = starts;
    a.ends_at = ends;
    a.decay.current_ms = 24 * 60 * MIN;
    a.decay.baseline_ms = 28 * 24 * 60 * MIN;
    a.decay.current = 180;
    a.decay.expected = 1000;
    a.decay.ratio = 0.18;
    buf b = BUF_INIT;
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    return b.data;
}

static char *tier_change_json(const char *creator, int64_t ts)
{
    alert a;
    alert_tier_change(&a, creator, "macro", "mega", 1020000, ts);
    a.tier = "mega";
    buf b = BUF_INIT;
    cr_assert_eq(alert_json(&a, &b), 0);
    buf_append_byte(&b, 0);
    return b.data;
}

static void push(char *json)
{
    cr_assert_eq(alertmanager_push(sink, json, strlen(json)), 0);
    free(json);
}

static char *id_of(uint64_t fp)
{
    static char id[ALERT_ID_LEN + 1];
    return alert_id_format(fp, id);
}

/* A counter or gauge of /metrics. */
static unsigned long long metric(const char *name)
{
    buf b = BUF_INIT;
    cr_assert_eq(metrics_render(m, &b), 0);
    buf_append_byte(&b, 0);
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(b.data, key);
    cr_assert_not_null(p, "%s not in /metrics", name);
    unsigned long long v = strtoull(p + strlen(key), NULL, 10);
    buf_free(&b);
    return v;
}

/* --- conditions polled ---------------------------------------------------- */

struct seen {
    const char *id;
    long long ends_at;   /* wait for this endsAt; 0: any; -1: gone */
    long long after;     /* or an endsAt later than this (when > 0) */
};

static int alert_seen(void *arg)
{
    struct seen *s = arg;
    json_t *a = amharness_find(amh, s->id);
    int ok;
    if (s->ends_at < 0) {
        ok = a == NULL;
    } else if (a == NULL) {
        ok = 0;
    } else {
        long long ends = amharness_time_ms(
            json_string_value(json_object_get(a, "endsAt")));
        ok = s->after > 0   ? ends > s->after
             : s->ends_at  ? ends == s->ends_at
                           : 1;
    }
    json_decref(a);
    return ok;
}

static void wait_alert(const char *id, long long ends_at, long long after,
                       int timeout_ms)
{
    struct seen s = {id, ends_at, after};
    cr_assert_eq(harness_wait(alert_seen, &s, timeout_ms), 0,
                 "alert %s (endsAt %lld, after %lld) not in Alertmanager",
                 id, ends_at, after);
}

/* Nothing queued or in flight: the last batch's answer was counted. */
static int drained(void *arg)
{
    (void)arg;
    return alertmanager_pending(sink) == 0;
}

static int sent_twice(void *arg)
{
    (void)arg;
    return metric("engaged_alertmanager_sent_total") >= 2;
}

static int failed_once(void *arg)
{
    (void)arg;
    return metric("engaged_alertmanager_failed_total") >= 1;
}

static int failed_twice(void *arg)
{
    (void)arg;
    return metric("engaged_alertmanager_failed_total") >= 2;
}

static int dropped_once(void *arg)
{
    (void)arg;
    return metric("engaged_alertmanager_dropped_total") >= 1;
}

/* --- tests ---------------------------------------------------------------- */

Test(alertmanager, firing_then_resolved_show_with_labels_and_times)
{
    amh = amharness_start();
    cr_assert_not_null(amh);
    sink = start_sink(amharness_url(amh), 60000, 100);
    int64_t now = now_wall_ms() / 1000 * 1000;
    int64_t starts = now - 10 * MIN;
    uint64_t fp = 0x1111222233334444u;
    push(decay_json("c42", fp, ALERT_FIRING, starts, 0));
    wait_alert(id_of(fp), 0, 0, 10000);

    json_t *a = amharness_find(amh, id_of(fp));
    json_t *l = json_object_get(a, "labels");
    cr_assert_str_eq(json_string_value(json_object_get(l, "alertname")),
                     "engagement_decay");
    cr_assert_str_eq(json_string_value(json_object_get(l, "creator_id")),
                     "c42");
    cr_assert_str_eq(json_string_value(json_object_get(l, "tier")), "mega");
    cr_assert_str_eq(json_string_value(json_object_get(l, "severity")),
                     "critical");
    cr_assert_eq(json_object_size(l), 5);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(a, "annotations"), "summary")),
                     "c42 (mega): engagement over 24h is 18% of its 28d "
                     "baseline");
    cr_assert_eq(amharness_time_ms(
                     json_string_value(json_object_get(a, "startsAt"))),
                 starts);
    /* Firing: four resend intervals after it was posted. */
    long long ends = amharness_time_ms(
        json_string_value(json_object_get(a, "endsAt")));
    cr_assert(ends >= now + 4 * MIN && ends <= now_wall_ms() + 4 * MIN,
              "endsAt %lld, now %lld", ends, (long long)now);
    json_decref(a);

    /* Resolved, with an ends_at still ahead so that Alertmanager keeps
     * showing it: endsAt becomes exactly the alert's ends_at. */
    int64_t resolved_at = now + 30 * MIN;
    push(decay_json("c42", fp, ALERT_RESOLVED, starts, resolved_at));
    wait_alert(id_of(fp), resolved_at, 0, 10000);
    /* Resolved in the past: Alertmanager no longer lists it as active. */
    push(decay_json("c42", fp, ALERT_RESOLVED, starts, now - MIN));
    wait_alert(id_of(fp), -1, 0, 10000);
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), 3);
    cr_assert_eq(metric("engaged_alertmanager_failed_total"), 0);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 0);
    cr_assert_eq(metric("engaged_alertmanager_queue_length"), 0);
}

Test(alertmanager, queued_alerts_arrive_when_alertmanager_returns)
{
    amh = amharness_start();
    cr_assert_not_null(amh);
    sink = start_sink(amharness_url(amh), 60000, 100);
    cr_assert_eq(amharness_stop(amh), 0);
    int64_t now = now_wall_ms();
    push(tier_change_json("c1", now - MIN));
    cr_assert_eq(harness_wait(failed_once, NULL, 10000), 0);
    push(tier_change_json("c2", now - MIN));
    push(decay_json("c3", 0x3333u, ALERT_FIRING, now - MIN, 0));
    cr_assert_eq(alertmanager_pending(sink), 3);
    cr_assert_eq(amharness_restart(amh), 0);

    char id1[ALERT_ID_LEN + 1], id2[ALERT_ID_LEN + 1];
    alert_id_format(alert_tier_change_fingerprint("c1", 2, "macro", "mega",
                                                  now - MIN), id1);
    alert_id_format(alert_tier_change_fingerprint("c2", 2, "macro", "mega",
                                                  now - MIN), id2);
    wait_alert(id1, 0, 0, 40000);
    wait_alert(id2, 0, 0, 40000);
    wait_alert(id_of(0x3333u), 0, 0, 40000);
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), 3);
    cr_assert_geq(metric("engaged_alertmanager_failed_total"), 1);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 0);
    cr_assert_eq(alertmanager_pending(sink), 0);
}

Test(alertmanager, firing_alerts_are_resent_with_a_later_end)
{
    amh = amharness_start();
    cr_assert_not_null(amh);
    sink = start_sink(amharness_url(amh), 1000, 100);
    uint64_t fp = 0x5555u;
    push(decay_json("c5", fp, ALERT_FIRING, now_wall_ms() - MIN, 0));
    wait_alert(id_of(fp), 0, 0, 10000);
    json_t *a = amharness_find(amh, id_of(fp));
    long long first = amharness_time_ms(
        json_string_value(json_object_get(a, "endsAt")));
    json_decref(a);
    /* Re-sent every second: endsAt moves forward. */
    wait_alert(id_of(fp), 0, first, 10000);
    cr_assert_eq(harness_wait(sent_twice, NULL, 10000), 0,
                 "the re-send counted as sent");
    /* Once resolved, it is no longer re-sent: its endsAt stays. */
    int64_t resolved_at = now_wall_ms() + 30 * MIN;
    push(decay_json("c5", fp, ALERT_RESOLVED, now_wall_ms() - MIN,
                    resolved_at));
    wait_alert(id_of(fp), resolved_at, 0, 10000);
    /* Alertmanager may show the batch before its answer reached the sink
     * and was counted. */
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    unsigned long long sent = metric("engaged_alertmanager_sent_total");
    /* Two resend intervals without a resend (a condition cannot show an
     * absence: this one waits). */
    usleep(2500 * 1000);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), sent);
    wait_alert(id_of(fp), resolved_at, 0, 1000);
}

Test(alertmanager, a_full_queue_drops_the_oldest)
{
    /* Nothing listens there: every POST fails. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", harness_free_port());
    sink = start_sink(url, 60000, 2);
    int64_t now = now_wall_ms();
    push(tier_change_json("c0", now));
    /* c0 is in the batch being retried; the queue takes two more. */
    cr_assert_eq(harness_wait(failed_once, NULL, 10000), 0);
    for (int i = 1; i <= 4; i++) {
        char c[8];
        snprintf(c, sizeof c, "c%d", i);
        push(tier_change_json(c, now));
    }
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 2);
    cr_assert_eq(metric("engaged_alertmanager_queue_length"), 3);
    cr_assert_eq(alertmanager_pending(sink), 3);
    /* Stopping with nothing reachable: the three are dropped too. */
    alertmanager_stop(sink, 100);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 5);
    cr_assert_eq(metric("engaged_alertmanager_queue_length"), 0);
}

/* --- TLS and credentials (Alertmanager's --web.config.file) --------------- */

static const amharness_opts tls_auth = {true, "eng", "s3cret pass"};

Test(alertmanager, https_with_its_ca_and_basic_auth_delivers)
{
    amh = amharness_start_opts(&tls_auth);
    cr_assert_not_null(amh);
    cr_assert_eq(strncmp(amharness_url(amh), "https://127.0.0.1:", 18), 0);
    char *pw = test_file("am-password", "s3cret pass\n");
    sink_auth auth = {amharness_ca_file(amh), "eng", pw, NULL};
    char err[256];
    sink = new_sink(amharness_url(amh), 60000, 100, &auth, err, sizeof err);
    cr_assert_not_null(sink, "%s", err);
    int64_t starts = now_wall_ms() / 1000 * 1000 - 10 * MIN;
    uint64_t fp = 0x7777u;
    push(decay_json("c7", fp, ALERT_FIRING, starts, 0));
    wait_alert(id_of(fp), 0, 0, 10000);
    json_t *a = amharness_find(amh, id_of(fp));
    json_t *l = json_object_get(a, "labels");
    cr_assert_str_eq(json_string_value(json_object_get(l, "alertname")),
                     "engagement_decay");
    cr_assert_str_eq(json_string_value(json_object_get(l, "creator_id")),
                     "c7");
    cr_assert_eq(amharness_time_ms(
                     json_string_value(json_object_get(a, "startsAt"))),
                 starts);
    json_decref(a);
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), 1);
    cr_assert_eq(metric("engaged_alertmanager_failed_total"), 0);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 0);
    free(pw);
}

Test(alertmanager, a_wrong_password_is_refused_and_dropped)
{
    amh = amharness_start_opts(&tls_auth);
    cr_assert_not_null(amh);
    char *pw = test_file("am-password", "not the password\n");
    sink_auth auth = {amharness_ca_file(amh), "eng", pw, NULL};
    char err[256];
    sink = new_sink(amharness_url(amh), 60000, 100, &auth, err, sizeof err);
    cr_assert_not_null(sink, "%s", err);
    push(tier_change_json("c8", now_wall_ms() - MIN));
    /* 401 is a 4xx: Alertmanager would refuse the batch again, so the
     * sink drops it (counted) rather than retrying it for ever. */
    cr_assert_eq(harness_wait(dropped_once, NULL, 10000), 0);
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 1);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), 0);
    cr_assert_eq(metric("engaged_alertmanager_failed_total"), 0);
    json_t *all = amharness_alerts(amh);
    cr_assert_not_null(all, "the harness reads with the right password");
    cr_assert_eq(json_array_size(all), 0);
    json_decref(all);
    free(pw);
}

Test(alertmanager, an_untrusted_certificate_fails_and_is_retried)
{
    amh = amharness_start_opts(&tls_auth);
    cr_assert_not_null(amh);
    char *pw = test_file("am-password", "s3cret pass\n");
    /* No ca_file: the system's store, which does not hold the harness's
     * self-signed certificate. */
    sink_auth auth = {NULL, "eng", pw, NULL};
    char err[256];
    sink = new_sink(amharness_url(amh), 60000, 100, &auth, err, sizeof err);
    cr_assert_not_null(sink, "%s", err);
    push(tier_change_json("c9", now_wall_ms() - MIN));
    /* A failed verification is a failed POST: retried with backoff, the
     * alert kept. */
    cr_assert_eq(harness_wait(failed_twice, NULL, 10000), 0);
    cr_assert_eq(alertmanager_pending(sink), 1);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), 0);
    cr_assert_eq(metric("engaged_alertmanager_dropped_total"), 0);
    json_t *all = amharness_alerts(amh);
    cr_assert_not_null(all);
    cr_assert_eq(json_array_size(all), 0);
    json_decref(all);
    free(pw);
}

Test(alertmanager, a_ca_file_that_cannot_be_used_stops_the_start)
{
    char err[256];
    sink_auth missing = {"/nonexistent/ca.pem", NULL, NULL, NULL};
    cr_assert_null(new_sink("https://127.0.0.1:1", 60000, 100, &missing, err,
                            sizeof err));
    cr_assert_str_eq(err, "[alertmanager] ca_file = \"/nonexistent/ca.pem\": "
                          "No such file or directory");
    char *notpem = test_file("ca.pem", "not a certificate\n");
    sink_auth bad = {notpem, NULL, NULL, NULL};
    cr_assert_null(new_sink("https://127.0.0.1:1", 60000, 100, &bad, err,
                            sizeof err));
    char want[512];
    snprintf(want, sizeof want, "[alertmanager] ca_file = \"%s\": no PEM "
             "certificate (-----BEGIN CERTIFICATE-----) in it", notpem);
    cr_assert_str_eq(err, want);
    free(notpem);
}

/* A listening socket of the test's on 127.0.0.1; its port in *port. */
static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 4), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Accepts one request on lfd, answers it 200 and returns its head (the
 * request line and headers), malloc'd. */
static char *answer_one(int lfd, int timeout_ms)
{
    struct pollfd p = {lfd, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, timeout_ms), 1, "no request came");
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    char *head = calloc(1, 8192);
    cr_assert_not_null(head);
    size_t n = 0;
    while (n < 8191 && strstr(head, "\r\n\r\n") == NULL) {
        p = (struct pollfd){fd, POLLIN, 0};
        cr_assert_eq(poll(&p, 1, timeout_ms), 1, "request cut short");
        ssize_t r = read(fd, head + n, 8191 - n);
        cr_assert_gt(r, 0);
        n += (size_t)r;
    }
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n";
    cr_assert_eq(write(fd, ok, sizeof ok - 1), (ssize_t)(sizeof ok - 1));
    close(fd);
    return head;
}

Test(alertmanager, a_bearer_token_is_sent_in_the_authorization_header)
{
    /* Alertmanager has no bearer tokens of its own (a proxy in front of it
     * checks them): a listener of the test's reads the header. */
    int port;
    int lfd = listen_local(&port);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    char *tok = test_file("am-token", "tok-123.abc\n");
    sink_auth auth = {NULL, NULL, NULL, tok};
    char err[256];
    sink = new_sink(url, 60000, 100, &auth, err, sizeof err);
    cr_assert_not_null(sink, "%s", err);
    push(tier_change_json("c10", now_wall_ms() - MIN));
    char *head = answer_one(lfd, 10000);
    cr_assert_eq(strncmp(head, "POST /api/v2/alerts HTTP/1.1\r\n", 30), 0,
                 "%s", head);
    cr_assert_not_null(strstr(head, "\r\nAuthorization: Bearer tok-123.abc"
                                    "\r\n"), "%s", head);
    cr_assert_not_null(strstr(head, "\r\nContent-Type: application/json"
                                    "\r\n"), "%s", head);
    free(head);
    cr_assert_eq(harness_wait(drained, NULL, 10000), 0);
    cr_assert_eq(metric("engaged_alertmanager_sent_total"), 1);
    close(lfd);
    free(tok);
}
