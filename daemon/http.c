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

#include "api.h"
#include "buf.h"
#include "log.h"
#include "page.h"
#include "reader.h"
#include "secret.h"

#define CONNECTION_LIMIT 64
#define PER_IP_CONNECTION_LIMIT 16
#define CONNECTION_TIMEOUT_S 10
/* A connection's memory (libmicrohttpd's pool: request line, headers and
 * the parsed query): room for a request the API refuses with its own
 * JSON error (a 4 KiB target of a thousand parameters) rather than
 * libmicrohttpd's. */
#define CONNECTION_MEMORY (128 * 1024)
#define THREAD_STACK (256 * 1024)

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_TEXT "text/plain; charset=utf-8"
#define CONTENT_TYPE_JSON "application/json"

struct http {
    struct MHD_Daemon *daemon;
    metrics *m;
    reader *api;              /* NULL: no /v1 */
    char token[SECRET_MAX];   /* "" : /v1 asks for none */
    size_t token_len;
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

/* Queues `body` (taken over: freed by libmicrohttpd) with `status`;
 * allow_header adds Allow (405), bearer WWW-Authenticate (401). */
static enum MHD_Result reply_full(struct MHD_Connection *c, unsigned status,
                                  buf *body, const char *content_type,
                                  bool allow_header, bool bearer)
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
    if (bearer)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"engaged\"");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             buf *body, const char *content_type,
                             bool allow_header)
{
    return reply_full(c, status, body, content_type, allow_header, false);
}

/* A JSON error of the API (api_error_body()). */
static enum MHD_Result reply_api_error(struct MHD_Connection *c,
                                       unsigned status, const char *msg)
{
    buf body = BUF_INIT;
    if (api_error_body(&body, status, msg) < 0) {
        buf_free(&body);
        return MHD_NO;
    }
    return reply_full(c, status, &body, CONTENT_TYPE_JSON, status == 405,
                      status == 401);
}

/* The query parameters, as they came (the unescape callback is a no-op). */
typedef struct arg_list {
    api_arg args[API_ARGS_MAX + 1];
    size_t n;       /* all of them, counted beyond the array */
    size_t bytes;   /* their keys' and values' lengths */
} arg_list;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    arg_list *l = cls;
    (void)kind;
    if (l->n < sizeof l->args / sizeof l->args[0])
        l->args[l->n] = (api_arg){key, value ? value : ""};
    l->n++;
    l->bytes += strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
    return MHD_YES;
}

/* Whether the request carries "Authorization: Bearer <h's token>",
 * compared in constant time (as long as the token). */
static bool authorized(const http *h, struct MHD_Connection *c)
{
    if (h->token_len == 0)
        return true;
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
        return false;
    v += 7;
    while (*v == ' ')
        v++;
    size_t n = strlen(v);
    unsigned char diff = n != h->token_len;
    for (size_t i = 0; i < h->token_len; i++)
        diff |= (unsigned char)(h->token[i] ^ (i < n ? v[i] : 0));
    return diff == 0;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A refusal before routing, counted under the route "none". */
static enum MHD_Result refuse_api(http *h, struct MHD_Connection *c,
                                  unsigned status, const char *msg,
                                  int64_t t0)
{
    metrics_api_request(h->m, METRICS_API_NONE, status, mono_us() - t0);
    return reply_api_error(c, status, msg);
}

static enum MHD_Result serve_api(http *h, struct MHD_Connection *c,
                                 const char *url)
{
    int64_t t0 = mono_us();
    if (h->api == NULL)
        return refuse_api(h, c, 404, "the read API is off", t0);
    if (!authorized(h, c))
        return refuse_api(h, c, 401,
                          "this API needs \"Authorization: Bearer <token>\" "
                          "with the token of [http] token_file",
                          t0);
    arg_list l;
    memset(&l, 0, sizeof l);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &l);
    if (strlen(url) + l.bytes > API_TARGET_MAX)
        return refuse_api(h, c, 414,
                          "the request target is longer than 4096 bytes", t0);
    api_request req;
    char msg[256];
    int rc = api_parse(url, l.args, l.n, &req, msg, sizeof msg);
    if (rc != 0)
        return refuse_api(h, c, (unsigned)rc, msg, t0);
    buf body = BUF_INIT;
    unsigned status = reader_answer(h->api, &req, &body);
    metrics_api_request(h->m, (int)req.route, status, mono_us() - t0);
    return reply(c, status, &body, CONTENT_TYPE_JSON, false);
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
                                  const char *text, bool allow_header)
{
    buf body = BUF_INIT;
    buf_append_str(&body, text);
    return reply(c, status, &body, CONTENT_TYPE_TEXT, allow_header);
}

/*
 * The campaign page's file `a` (daemon/page.h), served from the binary's
 * static data, under a Content-Security-Policy that lets it run its own
 * script and style and fetch from this server only.  No token: the files
 * hold no data, and the page asks for the token when /v1 answers 401.
 */
static enum MHD_Result reply_page(struct MHD_Connection *c,
                                  const page_asset *a)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        a->len, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; "
                            "style-src 'self'; connect-src 'self'; "
                            "img-src 'self' data:; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
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
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        if (api_is_api_path(url))
            return refuse_api(h, c, 405, "only GET and HEAD are served",
                              mono_us());
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                          "method not allowed\n", true);
    }
    if (api_is_api_path(url))
        return serve_api(h, c, url);
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
    const page_asset *a = page_find(url);
    if (a != NULL)
        return reply_page(c, a);
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", false);
}

/* Leaves URLs and query parameters as they came: the API decodes its
 * ids itself, refusing bad escapes, and keeps "%2F" inside one segment. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

http *http_start(const char *listen, metrics *m, const config *api,
                 char *errstr, size_t errstr_size)
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
    if (api != NULL) {
        secret_result has = secret_read(api->http_token_file, "http-token",
                                        h->token, sizeof h->token, errstr,
                                        errstr_size);
        if (has == SECRET_ERROR) {
            free(h);
            return NULL;
        }
        h->token_len = has == SECRET_FOUND ? strlen(h->token) : 0;
        h->api = reader_new(api, errstr, errstr_size);
        if (h->api == NULL) {
            memset(h->token, 0, sizeof h->token);
            free(h);
            return NULL;
        }
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
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
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        MHD_OPTION_END);
    atomic_store(&h->starting, false);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (h->daemon == NULL) {
        snprintf(errstr, errstr_size, "[http] listen = \"%s\": %s", listen,
                 h->start_error[0] ? h->start_error
                                   : "cannot start the http server");
        reader_free(h->api);
        memset(h->token, 0, sizeof h->token);
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

void http_reconfigure(http *h, const config *cfg)
{
    if (h != NULL && h->api != NULL)
        reader_reconfigure(h->api, cfg);
}

void http_stop(http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    reader_free(h->api);
    memset(h->token, 0, sizeof h->token);
    free(h);
}
