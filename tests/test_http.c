/*
 * Tests of http: the server on a free loopback port, fetched with a plain
 * socket client: status codes, content types and bodies of /metrics
 * (parsed by the real Prometheus parser), /healthz and /readyz; 404, 405,
 * HEAD; the errors of malformed or unusable listen addresses.
 */
#include "http.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "event.h"
#include "metrics.h"
#include "prom.h"

TestSuite(http, .timeout = 30);

typedef struct reply {
    int status;
    char headers[4096];
    char *body;              /* malloc'd, NUL-terminated */
    size_t body_len;
} reply;

static int connect_to(int family, unsigned port)
{
    int fd = socket(family, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rc;
    if (family == AF_INET6) {
        struct sockaddr_in6 a = {0};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons((uint16_t)port);
        a.sin6_addr = in6addr_loopback;
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    cr_assert_eq(rc, 0, "connect to port %u: %s", port, strerror(errno));
    return fd;
}

/* Sends `request` verbatim and reads the reply until the server closes. */
static reply raw_fetch(int family, unsigned port, const char *request)
{
    int fd = connect_to(family, port);
    size_t len = strlen(request), off = 0;
    while (off < len) {
        ssize_t w = write(fd, request + off, len - off);
        cr_assert(w > 0, "write: %s", strerror(errno));
        off += (size_t)w;
    }
    buf in = BUF_INIT;
    char chunk[4096];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof chunk)) > 0)
        buf_append(&in, chunk, (size_t)r);
    cr_assert(r == 0, "read: %s", strerror(errno));
    close(fd);
    buf_append_byte(&in, 0);
    cr_assert_not(buf_failed(&in));
    reply rep;
    memset(&rep, 0, sizeof rep);
    cr_assert_eq(sscanf(in.data, "HTTP/1.%*d %d", &rep.status), 1,
                 "not an HTTP reply: %s", in.data);
    char *end = strstr(in.data, "\r\n\r\n");
    cr_assert_not_null(end, "no end of headers: %s", in.data);
    size_t hl = (size_t)(end - in.data);
    cr_assert(hl < sizeof rep.headers);
    memcpy(rep.headers, in.data, hl);
    rep.headers[hl] = 0;
    rep.body_len = in.len - 1 - hl - 4;
    rep.body = malloc(rep.body_len + 1);
    memcpy(rep.body, end + 4, rep.body_len + 1);
    buf_free(&in);
    return rep;
}

static reply fetch(unsigned port, const char *method, const char *path)
{
    char req[512];
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: localhost\r\n"
             "Connection: close\r\n\r\n", method, path);
    return raw_fetch(AF_INET, port, req);
}

/* The value of header `name` (case-insensitive), or "" when absent. */
static const char *header(const reply *r, const char *name, char *out,
                          size_t size)
{
    out[0] = 0;
    for (const char *p = r->headers; (p = strstr(p, "\r\n")) != NULL;) {
        p += 2;
        size_t n = strlen(name);
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t l = strcspn(v, "\r");
            snprintf(out, size, "%.*s", (int)l, v);
            break;
        }
    }
    return out;
}

static metrics *m;
static http *srv;

static void start_server(void)
{
    char err[256];
    m = metrics_new("9.9.9", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    srv = http_start("127.0.0.1:0", m, NULL, err, sizeof err);
    cr_assert_not_null(srv, "%s", err);
    cr_assert_neq(http_port(srv), 0);
}

static void stop_server(void)
{
    http_stop(srv);
    metrics_free(m);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(http, metrics_are_served_in_the_prometheus_format, .init = start_server,
     .fini = stop_server)
{
    metrics_event(m, EVENT_ENGAGEMENT, false);
    metrics_event(m, EVENT_ENGAGEMENT, false);
    metrics_event(m, METRICS_EVENT_UNKNOWN, true);
    metrics_dlq(m, EVENT_ERR_INVALID_JSON);
    metrics_partition_set(m, "engagement.events", 3, 42, 1700000000000);
    reply r = fetch(http_port(srv), "GET", "/metrics");
    cr_assert_eq(r.status, 200);
    char v[256];
    cr_assert_str_eq(header(&r, "Content-Type", v, sizeof v),
                     "text/plain; version=0.0.4; charset=utf-8");
    char *l = prom_parse(r.body, r.body_len);
    cr_assert_not_null(l, "the parser refused:\n%s", r.body);
    cr_assert(prom_has_line(l, "engaged_events_total{result=\"ok\",type=\"engagement\"} 2"), "%s", l);
    cr_assert(prom_has_line(l, "engaged_events_total{result=\"refused\",type=\"unknown\"} 1"), "%s", l);
    cr_assert(prom_has_line(l, "engaged_dlq_messages_total{reason=\"invalid_json\"} 1"), "%s", l);
    cr_assert(prom_has_line(l, "engaged_consumer_lag{partition=\"3\",topic=\"engagement.events\"} 42"), "%s", l);
    cr_assert(prom_has_line(l, "engaged_build_info{version=\"9.9.9\"} 1"), "%s", l);
    free(l);
    free(r.body);

    /* A query string changes nothing. */
    r = fetch(http_port(srv), "GET", "/metrics?name[]=engaged_up");
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "\nengaged_up 1\n"));
    free(r.body);
}

Test(http, head_gets_the_headers_without_the_body, .init = start_server,
     .fini = stop_server)
{
    reply r = fetch(http_port(srv), "HEAD", "/metrics");
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0);
    char v[256];
    cr_assert_str_eq(header(&r, "Content-Type", v, sizeof v),
                     "text/plain; version=0.0.4; charset=utf-8");
    free(r.body);
}

Test(http, healthz_follows_the_main_loop_heartbeat, .init = start_server,
     .fini = stop_server)
{
    metrics_heartbeat(m, mono_ms());
    reply r = fetch(http_port(srv), "GET", "/healthz");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ok\n");
    free(r.body);

    metrics_heartbeat(m, mono_ms() - 60000);
    r = fetch(http_port(srv), "GET", "/healthz");
    cr_assert_eq(r.status, 503);
    cr_assert(strncmp(r.body, "main loop stalled: last heartbeat 600", 37) == 0,
              "%s", r.body);
    free(r.body);

    metrics_heartbeat(m, mono_ms());
    r = fetch(http_port(srv), "GET", "/healthz");
    cr_assert_eq(r.status, 200);
    free(r.body);
}

Test(http, readyz_turns_200_once_ready, .init = start_server,
     .fini = stop_server)
{
    reply r = fetch(http_port(srv), "GET", "/readyz");
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(r.body, "not ready\n");
    free(r.body);
    metrics_set_ready(m, true);
    r = fetch(http_port(srv), "GET", "/readyz");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ready\n");
    free(r.body);
    metrics_set_ready(m, false);
    r = fetch(http_port(srv), "GET", "/readyz");
    cr_assert_eq(r.status, 503);
    free(r.body);
}

Test(http, unknown_paths_are_404_and_other_methods_405,
     .init = start_server, .fini = stop_server)
{
    reply r = fetch(http_port(srv), "GET", "/nope");
    cr_assert_eq(r.status, 404);
    cr_assert_str_eq(r.body, "not found\n");
    free(r.body);
    /* The campaign page is there, under its Content-Security-Policy. */
    r = fetch(http_port(srv), "GET", "/");
    cr_assert_eq(r.status, 200);
    char ct[64], csp[256];
    cr_assert_str_eq(header(&r, "Content-Type", ct, sizeof ct),
                     "text/html; charset=utf-8");
    cr_assert(strstr(header(&r, "Content-Security-Policy", csp, sizeof csp),
                     "default-src 'none'") != NULL, "%s", csp);
    free(r.body);
    /* Without a reader, /v1 is a JSON 404. */
    r = fetch(http_port(srv), "GET", "/v1/tiers");
    cr_assert_eq(r.status, 404);
    cr_assert(strstr(r.body, "\"errorType\":\"not_found\"") != NULL, "%s",
              r.body);
    free(r.body);
    r = fetch(http_port(srv), "GET", "/metrics/");
    cr_assert_eq(r.status, 404);
    free(r.body);

    r = fetch(http_port(srv), "DELETE", "/metrics");
    cr_assert_eq(r.status, 405);
    char v[64];
    cr_assert_str_eq(header(&r, "Allow", v, sizeof v), "GET, HEAD");
    free(r.body);

    /* A body is not read, and does not confuse the server. */
    r = raw_fetch(AF_INET, http_port(srv),
                  "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  "Content-Length: 5\r\n\r\nhello");
    cr_assert_eq(r.status, 405);
    free(r.body);
    r = fetch(http_port(srv), "GET", "/readyz");
    cr_assert_eq(r.status, 503);
    free(r.body);
}

Test(http, ipv6_addresses_go_in_brackets)
{
    /* Skip where the host has no IPv6 loopback (some containers). */
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (probe < 0 || bind(probe, (struct sockaddr *)&a, sizeof a) < 0) {
        if (probe >= 0)
            close(probe);
        cr_skip_test("no IPv6 loopback here");
    }
    close(probe);
    char err[256];
    metrics *mm = metrics_new("x", err, sizeof err);
    http *h = http_start("[::1]:0", mm, NULL, err, sizeof err);
    cr_assert_not_null(h, "%s", err);
    reply r = raw_fetch(AF_INET6, http_port(h),
                        "GET /healthz HTTP/1.0\r\n\r\n");
    cr_assert_eq(r.status, 200);
    free(r.body);
    http_stop(h);
    metrics_free(mm);
}

static void expect_error(const char *listen, const char *want)
{
    char err[256] = "";
    metrics *mm = metrics_new("x", err, sizeof err);
    http *h = http_start(listen, mm, NULL, err, sizeof err);
    cr_assert_null(h, "%s started", listen);
    cr_assert_str_eq(err, want);
    metrics_free(mm);
}

Test(http, malformed_listen_addresses_are_refused)
{
    expect_error("9187", "[http] listen = \"9187\": expected \"HOST:PORT\" "
                 "(an IPv6 address goes in brackets: \"[::1]:9187\")");
    expect_error("::1:9187", "[http] listen = \"::1:9187\": expected "
                 "\"HOST:PORT\" (an IPv6 address goes in brackets: "
                 "\"[::1]:9187\")");
    expect_error("[::1]9187", "[http] listen = \"[::1]9187\": expected "
                 "\"[IPV6]:PORT\"");
    expect_error("[]:9187", "[http] listen = \"[]:9187\": bad IPv6 address");
    expect_error("127.0.0.1:", "[http] listen = \"127.0.0.1:\": the port "
                 "must be a number from 0 to 65535");
    expect_error("127.0.0.1:65536", "[http] listen = \"127.0.0.1:65536\": "
                 "the port must be a number from 0 to 65535");
    expect_error("127.0.0.1:-1", "[http] listen = \"127.0.0.1:-1\": the "
                 "port must be a number from 0 to 65535");
    expect_error("[127.0.0.1]:80", "[http] listen = \"[127.0.0.1]:80\": "
                 "Address family for hostname not supported");
}

Test(http, a_port_in_use_is_reported, .init = start_server,
     .fini = stop_server)
{
    char listen[64], err[256] = "";
    snprintf(listen, sizeof listen, "127.0.0.1:%u", http_port(srv));
    http *h = http_start(listen, m, NULL, err, sizeof err);
    cr_assert_null(h);
    char want[128];
    snprintf(want, sizeof want, "[http] listen = \"%s\": ", listen);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
    cr_assert_not_null(strstr(err, "in use"), "%s", err);
}
