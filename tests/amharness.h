/*
 * amharness: a real Prometheus Alertmanager (Debian's
 * /usr/bin/prometheus-alertmanager) for the tests of the Alertmanager sink
 * (issue 18): started on a free 127.0.0.1 port with clustering off, its
 * own storage directory and a minimal configuration (one route to a
 * receiver that sends nothing), and read back through its API v2.
 *
 * Test processes only; one thread.
 */
#ifndef ENGAGED_AMHARNESS_H
#define ENGAGED_AMHARNESS_H

#include <jansson.h>
#include <stdbool.h>

typedef struct amharness amharness;

/* How amharness_start_opts() protects Alertmanager's web endpoint, through
 * its --web.config.file (Prometheus's exporter-toolkit format). */
typedef struct amharness_opts {
    /* https only, with a self-signed certificate for IP 127.0.0.1 made by
     * openssl (amharness_ca_file() is its PEM file, the CA to trust). */
    bool tls;
    /* Basic auth: this user and password (bcrypt-hashed into the web
     * config) on every route; NULL user for none.  Copied. */
    const char *user;
    const char *password;
} amharness_opts;

/*
 * Starts Alertmanager and waits (up to 20 s) until GET /api/v2/status
 * answers 200.  Retries on another port when it exits during start-up (its
 * port taken meanwhile), three times in all.  Returns the handle, or NULL
 * (the reason on stderr).
 */
amharness *amharness_start(void);

/*
 * amharness_start() with TLS and/or basic auth as o says (o NULL: none).
 * The harness's own requests (readiness, amharness_alerts) then use https
 * with the certificate as their only CA and the credentials.  Returns the
 * handle, or NULL (the reason on stderr).
 */
amharness *amharness_start_opts(const amharness_opts *o);

/* The PEM file of the server's self-signed certificate (the CA a client
 * must trust), owned by h; NULL without opts.tls. */
const char *amharness_ca_file(const amharness *h);

/* "http://127.0.0.1:PORT" ("https://" with opts.tls), owned by h. */
const char *amharness_url(const amharness *h);

/* Stops the server (SIGTERM, waited for), keeping its port and directory.
 * Returns 0 or -1. */
int amharness_stop(amharness *h);

/* Starts it again on the same port and directory and waits until ready.
 * Returns 0 or -1. */
int amharness_restart(amharness *h);

/* Stops it and removes its directory.  NULL is fine. */
void amharness_free(amharness *h);

/*
 * GET /api/v2/alerts (the active alerts, as Alertmanager shows them).
 * Returns the JSON array, owned by the caller (json_decref), or NULL when
 * the server does not answer 200 with an array.
 */
json_t *amharness_alerts(amharness *h);

/*
 * The alert whose label alert_id is `alert_id` in the answer of
 * GET /api/v2/alerts, as a new reference (json_decref), or NULL when there
 * is none or the server does not answer.
 */
json_t *amharness_find(amharness *h, const char *alert_id);

/*
 * An RFC 3339 time of Alertmanager's ("2026-11-20T08:30:00.000Z") in Unix
 * ms, or INT64_MIN when it is not one.
 */
long long amharness_time_ms(const char *rfc3339);

#endif
