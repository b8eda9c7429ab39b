/*
 * alertmanager: the Alertmanager sink (issue 18).  Every alert engaged
 * sends to Kafka is pushed here too, and a thread of this module posts it
 * to each [alertmanager] url (POST <url>/api/v2/alerts, a JSON array of
 * postable alerts: amalert.h) with libcurl, TLS and credentials included.
 * TLS certificates are always verified (ca_file, else the system's CAs):
 * a failed verification is a failed POST, retried like any other.
 *
 *   - alertmanager_push() only copies the alert into a bounded queue
 *     (queue_max alerts) and never blocks on the network: when the queue is
 *     full the oldest alert is dropped and counted
 *     (engaged_alertmanager_dropped_total).
 *   - Alerts are posted in batches; a batch is sent when at least one URL
 *     accepts it (2xx), as Prometheus does with an Alertmanager cluster.
 *     When none does, it is retried with exponential backoff (0.5 s up to
 *     30 s) while the queue keeps filling; failures are counted
 *     (engaged_alertmanager_failed_total) and logged at most every 10 s.  A
 *     batch Alertmanager refuses as invalid (4xx) is dropped, not retried.
 *   - Firing alerts of kinds that resolve (amalert_info.resolves) are kept
 *     by alert_id and posted again every resend_interval, with endsAt four
 *     intervals ahead, until their resolved message is taken from the
 *     queue, so that Alertmanager never times them out.  One-shot kinds
 *     are posted once and expire at their endsAt.  The firing set lives in
 *     memory only (docs/alerts.md says what a restart loses).
 *
 * Threads: alertmanager_new(), _stop() and _free() from one thread (the
 * main thread); alertmanager_push() from any thread; the module's own
 * thread does the I/O.
 */
#ifndef ENGAGED_ALERTMANAGER_H
#define ENGAGED_ALERTMANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"

typedef struct alertmanager alertmanager;

/*
 * Reads the credentials cfg names, checks that cfg->am_ca_file (when set)
 * is a readable file with a PEM certificate (libcurl reads it again at
 * every POST, CURLOPT_CAINFO, instead of the system's store), and starts
 * the thread posting to cfg->am_url (which must not be "").  cfg is read
 * only here (what is needed is copied).  m: the counters (not owned, must
 * outlive the sink; NULL for none).  Returns the sink, or NULL with errstr
 * (a credential file unreadable, `[alertmanager] ca_file = "PATH": why`,
 * out of memory, no thread).
 */
alertmanager *alertmanager_new(const config *cfg, metrics *m, char *errstr,
                               size_t errstr_size);

/*
 * Queues one alert (`json`, len bytes: schemas/alert.schema.json, copied).
 * Never waits for the network: the lock it takes is held only to copy
 * pointers.  Returns 0, or -1 when out of memory or the alert is not an
 * alert (both counted as dropped and logged).  Any thread.
 */
int alertmanager_push(alertmanager *am, const char *json, size_t len);

/*
 * Alerts queued or in a batch not yet accepted.  Any thread.
 */
size_t alertmanager_pending(alertmanager *am);

/*
 * Stops the thread: it posts what is queued for at most flush_ms more,
 * then gives up (what is left is counted as dropped and logged).  Returns
 * once the thread has ended.  Idempotent; am may be NULL.
 */
void alertmanager_stop(alertmanager *am, int64_t flush_ms);

/* Stops (flushing for nothing more) and frees.  NULL is fine. */
void alertmanager_free(alertmanager *am);

#endif
