#include "http.h"
#include "now.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "buf.h"
#include "log.h"

#define CONNECTION_LIMIT 64
#define CONNECTION_TIMEOUT_S 10

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_TEXT "text/plain; charset=utf-8"

struct http {
    struct MHD_Daemon *daemon;
    metrics *m;
    unsigned port;
    /* While MHD_start_daemon() runs, libmicrohttpd's messages go into
     * start_error for http_start()'s errstr instead of the log. */
    atomic_bool starting;
    char start_error[512];
};


/*
 * Splits "HOST:PORT" / "[V6]:PORT" and resolves it into *ss.
 * Returns 0, or -1 with errstr.
 */
static int parse_listen(const char *listen, struct sockaddr_storage *ss,
                        socklen_t *sslen, char *errstr, size_t errstr_size)
{
    char host[256];
    const char *port;
    bool bracketed = listen[0] == '[';
    if (bracketed) {
        const char *end = strchr(listen, ']');
        if (end == NULL || end[1] != ':') {
            snprintf(errstr, errstr_size,
                     "[http] listen = \"%s\": expected \"[IPV6]:PORT\"",
                     listen);
            return -1;
        }
        size_t n = (size_t)(end - listen - 1);
        if (n == 0 || n >= sizeof host) {
            snprintf(errstr, errstr_size,
                     "[http] listen = \"%s\": bad IPv6 address", listen);
            return -1;
        }
        memcpy(host, listen + 1, n);
        host[n] = 0;
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (colon == NULL || memchr(listen, ':', (size_t)(colon - listen))) {
            snprintf(errstr, errstr_size,
                     "[http] listen = \"%s\": expected \"HOST:PORT\" "
                     "(an IPv6 address goes in brackets: \"[::1]:9187\")",
                     listen);
            return -1;
        }
        size_t n = (size_t)(colon - listen);
        if (n >= sizeof host) {
            snprintf(errstr, errstr_size,
                     "[http] listen = \"%s\": host name too long", listen);
            return -1;
        }
        memcpy(host, listen, n);
        host[n] = 0;
        port = colon + 1;
    }
    unsigned long pn = 0;
    bool port_ok = port[0] != 0 && strlen(port) <= 5;
    for (const char *p = port; port_ok && *p; p++)
        port_ok = isdigit((unsigned char)*p);
    if (port_ok)
        pn = strtoul(port, NULL, 10);
    if (!port_ok || pn > 65535) {
        snprintf(errstr, errstr_size,
                 "[http] listen = \"%s\": the port must be a number from 0 "
                 "to 65535",
                 listen);
        return -1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
    if (bracketed)
        hints.ai_flags |= AI_NUMERICHOST;
    if (host[0] == 0)
        hints.ai_family = AF_INET;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(errstr, errstr_size, "[http] listen = \"%s\": %s", listen,
                 rc == EAI_SYSTEM ? "cannot resolve the host"
                                  : gai_strerror(rc));
        if (res != NULL)
            freeaddrinfo(res);
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* libmicrohttpd's error messages: into the log, at most one per 10 s. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http *h = cls;
    char msg[512];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        return;
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        msg[--len] = 0;
    if (atomic_load(&h->starting)) {
        /* The first message names the cause ("Failed to bind ..."). */
        if (h->start_error[0] == 0)
            snprintf(h->start_error, sizeof h->start_error, "%s", msg);
        return;
    }
    log_limited("http-server", LOG_LEVEL_WARNING, "http server: %s", msg);
}

/* Queues `body` (taken over: freed by libmicrohttpd) with `status`. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             buf *body, const char *content_type,
                             bool allow_header)
{
    if (buf_failed(body) || body->len == 0) {
        buf_free(body);
        return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        body->len, body->data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        buf_free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow_header)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
                                  const char *text, bool allow_header)
{
    buf body = BUF_INIT;
    buf_append_str(&body, text);
    return reply(c, status, &body, CONTENT_TYPE_TEXT, allow_header);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    http *h = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    /* Answered on the first call, before any request body is read: no
     * endpoint takes one, and libmicrohttpd then discards it and closes. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                          "method not allowed\n", true);
    if (strcmp(url, "/metrics") == 0) {
        buf body = BUF_INIT;
        if (metrics_render(h->m, &body) < 0) {
            buf_free(&body);
            return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "out of memory\n", false);
        }
        return reply(c, MHD_HTTP_OK, &body, CONTENT_TYPE_METRICS, false);
    }
    if (strcmp(url, "/healthz") == 0) {
        int64_t age;
        if (metrics_alive(h->m, now_mono_ms(), &age))
            return reply_text(c, MHD_HTTP_OK, "ok\n", false);
        char msg[128];
        snprintf(msg, sizeof msg,
                 "main loop stalled: last heartbeat %lld ms ago\n",
                 (long long)age);
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg, false);
    }
    if (strcmp(url, "/readyz") == 0) {
        if (metrics_ready(h->m))
            return reply_text(c, MHD_HTTP_OK, "ready\n", false);
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n",
                          false);
    }
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", false);
}

http *http_start(const char *listen, metrics *m, char *errstr,
                 size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    memset(&ss, 0, sizeof ss);
    if (parse_listen(listen, &ss, &sslen, errstr, errstr_size) < 0)
        return NULL;
    http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(errstr, errstr_size, "out of memory starting the http server");
        return NULL;
    }
    h->m = m;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = ss.ss_family == AF_INET6
                        ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    /* The server thread inherits this mask: SIGTERM, SIGINT and SIGHUP
     * must reach the main thread, whose loop acts on them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    atomic_store(&h->starting, true);
    h->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, handle, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_END);
    atomic_store(&h->starting, false);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (h->daemon == NULL) {
        snprintf(errstr, errstr_size, "[http] listen = \"%s\": %s", listen,
                 h->start_error[0] ? h->start_error
                                   : "cannot start the http server");
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : port;
    return h;
}

unsigned http_port(const http *h)
{
    return h->port;
}

void http_stop(http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
