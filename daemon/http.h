/*
 * http: the HTTP endpoint, served by libmicrohttpd from threads of its
 * own ([http] listen).
 *
 *   GET /metrics  200, the Prometheus text format 0.0.4 (metrics.h)
 *   GET /healthz  200 "ok" while the main loop's heartbeat is recent
 *                 (metrics_alive()), else 503
 *   GET /readyz   200 "ready" once metrics_set_ready(true), else 503
 *   GET /v1/...   the read API (api.h, reader.h; schemas/api.openapi.yaml),
 *                 JSON, behind the bearer token when one is configured
 *   anything else 404; a method other than GET or HEAD gets 405
 * HEAD is answered like GET without the body.  Query strings are ignored
 * outside /v1.
 *
 * The monitoring routes only read the registry; they never block the main
 * thread (metrics.h: atomics, and a mutex held only while the partition
 * table is rendered).  Each connection has a thread of its own, so a slow
 * API answer (Redis, bounded by [redis] timeout_ms) never holds /metrics
 * up; at most 64 connections, 16 from one address, each closed after 10 s
 * of inactivity, 128 KiB of memory each for the request line and
 * headers.
 * libmicrohttpd's own error messages go to the log at warning level,
 * rate-limited.
 *
 * Threads: http_start(), http_port() and http_stop() from the main thread.
 */
#ifndef ENGAGED_HTTP_H
#define ENGAGED_HTTP_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"

typedef struct http http;

/*
 * Starts serving.
 *   listen: "HOST:PORT": HOST an IPv4 address, an IPv6 address in
 *           brackets ("[::1]:9187"), or a name resolved once now (its first
 *           address); an empty HOST (":9187") or 0.0.0.0 listens on every
 *           IPv4 address, [::] on every IPv6 address (IPv6 only: the
 *           socket is IPV6_V6ONLY).  PORT 0 picks a free port (see
 *           http_port()).
 *   m:      the registry to serve; must outlive the server.
 *   api:    the configuration the read API serves ([redis], tiers,
 *           windows, [http] token_file: copied, and the token read now);
 *           NULL: no /v1 (every /v1 path is 404).
 * The signals engaged handles are blocked in the server threads, so that
 * they always reach the main thread.
 * Returns the server, owned by the caller (http_stop()), or NULL with
 * errstr ("[http] listen = \"...\": ...") when the address is malformed,
 * cannot be resolved or cannot be bound, or the token file cannot be
 * read.
 */
http *http_start(const char *listen, metrics *m, const config *api,
                 char *errstr, size_t errstr_size);

/* The TCP port the server listens on (the chosen one after port 0). */
unsigned http_port(const http *h);

/*
 * A reloaded configuration: the read API answers with cfg's tiers and
 * windows from now on (the token and the limits stay those of the start).
 * h NULL, or a server without /v1, is fine.  Any thread.
 */
void http_reconfigure(http *h, const config *cfg);

/* Stops the server, waits for its thread, frees it.  NULL is fine. */
void http_stop(http *h);

#endif
