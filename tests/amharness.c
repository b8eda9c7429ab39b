/*
 * amharness: a real Alertmanager for the tests (amharness.h).
 */
#include "amharness.h"

#include "buf.h"
#include "harness.h"
#include "timefmt.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AM_BIN "/usr/bin/prometheus-alertmanager"

struct amharness {
    char *dir;
    int port;
    pid_t pid;
    char url[64];
    bool tls;
    char *ca_file;              /* <dir>/cert.pem with tls, else NULL */
    char *user, *password;      /* basic auth, or NULL */
};

static const char am_config[] = "route:\n"
                                "  receiver: \"null\"\n"
                                "receivers:\n"
                                "  - name: \"null\"\n";

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    buf_append(user, data, size * n);
    return size * n;
}

/* GET url+path; returns the HTTP status (0: no answer) and the body in
 * *body (malloc'd, NUL-terminated) when body is not NULL. */
static long get(const amharness *h, const char *path, char **body)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", h->url, path);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return 0;
    buf b = BUF_INIT;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (h->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
        curl_easy_setopt(c, CURLOPT_CAPATH, (char *)NULL);
    }
    if (h->user != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, h->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, h->password);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    buf_append_byte(&b, 0);
    if (body != NULL && !buf_failed(&b))
        *body = b.data;
    else
        buf_free(&b);
    return status;
}

static int ready(void *arg)
{
    amharness *h = arg;
    if (harness_reap(h->pid, 0, NULL) == 0) {
        h->pid = -1;
        return 1;   /* exited: stop waiting */
    }
    return get(h, "/api/v2/status", NULL) == 200;
}

static int spawn(amharness *h)
{
    snprintf(h->url, sizeof h->url, "%s://127.0.0.1:%d",
             h->tls ? "https" : "http", h->port);
    char listen[64], storage[512], cfgfile[512], logfile[512], web[512];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d",
             h->port);
    snprintf(storage, sizeof storage, "--storage.path=%s", h->dir);
    snprintf(cfgfile, sizeof cfgfile, "--config.file=%s/am.yml", h->dir);
    snprintf(logfile, sizeof logfile, "%s/alertmanager.log", h->dir);
    /* Without TLS or auth, no web config: as before the options came. */
    bool webcfg = h->tls || h->user != NULL;
    snprintf(web, sizeof web, "--web.config.file=%s/web.yml", h->dir);
    int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char *argv[] = {(char *)AM_BIN, listen, (char *)"--cluster.listen-address=",
                    storage, cfgfile, webcfg ? web : NULL, NULL};
    pid_t pid = harness_spawn(argv, fd);
    close(fd);
    if (pid < 0)
        return -1;
    h->pid = pid;
    if (harness_wait(ready, h, 20000) < 0 || h->pid < 0) {
        if (h->pid > 0) {
            kill(h->pid, SIGKILL);
            harness_reap(h->pid, 10000, NULL);
            h->pid = -1;
        }
        fprintf(stderr, "amharness: Alertmanager did not start on port %d "
                "(log: %s)\n", h->port, logfile);
        return -1;
    }
    return 0;
}

/* Runs cmd; 0, or -1 with its output on stderr. */
static int run_quiet(const char *what, const char *cmd, char **out)
{
    char *o = NULL;
    int rc = harness_run(cmd, &o);
    if (rc != 0) {
        fprintf(stderr, "amharness: %s failed (%d): %s\n", what, rc,
                o ? o : "");
        free(o);
        return -1;
    }
    if (out != NULL)
        *out = o;
    else
        free(o);
    return 0;
}

/* The certificate, the password's hash and web.yml in h->dir. */
static int write_web_config(amharness *h)
{
    char cmd[2048], path[512], yml[2048] = "";
    size_t n = 0;
    if (h->tls) {
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes "
                 "-days 2 -subj /CN=127.0.0.1 "
                 "-addext subjectAltName=IP:127.0.0.1 "
                 "-keyout key.pem -out cert.pem 2>&1", h->dir);
        if (run_quiet("openssl", cmd, NULL) < 0)
            return -1;
        snprintf(path, sizeof path, "%s/cert.pem", h->dir);
        if ((h->ca_file = strdup(path)) == NULL)
            return -1;
        n += (size_t)snprintf(yml + n, sizeof yml - n,
                              "tls_server_config:\n"
                              "  cert_file: %s/cert.pem\n"
                              "  key_file: %s/key.pem\n", h->dir, h->dir);
    }
    if (h->user != NULL) {
        /* bcrypt at its lowest cost (4): Alertmanager checks it on every
         * request the tests make, and the tests poll. */
        snprintf(path, sizeof path, "%s/password", h->dir);
        if (harness_write_file(path, h->password, strlen(h->password)) < 0)
            return -1;
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -W ignore -c \"import crypt, sys; "
                 "print(crypt.crypt(open(sys.argv[1]).read(), "
                 "crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))\" '%s'",
                 path);
        char *hash = NULL;
        if (run_quiet("bcrypt", cmd, &hash) < 0)
            return -1;
        hash[strcspn(hash, "\n")] = '\0';
        bool ok = strncmp(hash, "$2b$", 4) == 0;
        if (!ok)
            fprintf(stderr, "amharness: no bcrypt hash: %s\n", hash);
        else if (n < sizeof yml)
            n += (size_t)snprintf(yml + n, sizeof yml - n,
                                  "basic_auth_users:\n  %s: \"%s\"\n",
                                  h->user, hash);
        free(hash);
        if (!ok)
            return -1;
    }
    snprintf(path, sizeof path, "%s/web.yml", h->dir);
    if (n >= sizeof yml)
        return -1;
    return harness_write_file(path, yml, n);
}

amharness *amharness_start(void)
{
    return amharness_start_opts(NULL);
}

amharness *amharness_start_opts(const amharness_opts *o)
{
    if (access(AM_BIN, X_OK) != 0) {
        fprintf(stderr, "amharness: %s is missing: run make deps\n", AM_BIN);
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    amharness *h = calloc(1, sizeof *h);
    if (h == NULL || (h->dir = harness_tmpdir()) == NULL) {
        free(h);
        return NULL;
    }
    h->pid = -1;
    if (o != NULL) {
        h->tls = o->tls;
        if (o->user != NULL &&
            ((h->user = strdup(o->user)) == NULL ||
             (h->password = strdup(o->password ? o->password : "")) ==
                 NULL)) {
            amharness_free(h);
            return NULL;
        }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/am.yml", h->dir);
    if (harness_write_file(path, am_config, strlen(am_config)) < 0 ||
        ((h->tls || h->user != NULL) && write_web_config(h) < 0)) {
        amharness_free(h);
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        h->port = harness_free_port();
        if (h->port > 0 && spawn(h) == 0)
            return h;
    }
    amharness_free(h);
    return NULL;
}

const char *amharness_url(const amharness *h)
{
    return h->url;
}

const char *amharness_ca_file(const amharness *h)
{
    return h->ca_file;
}

int amharness_stop(amharness *h)
{
    if (h->pid <= 0)
        return 0;
    harness_terminate(h->pid, NULL);
    h->pid = -1;
    return 0;
}

int amharness_restart(amharness *h)
{
    if (amharness_stop(h) < 0)
        return -1;
    return spawn(h);
}

void amharness_free(amharness *h)
{
    if (h == NULL)
        return;
    amharness_stop(h);
    if (h->dir != NULL) {
        harness_rmtree(h->dir);
        free(h->dir);
    }
    free(h->ca_file);
    free(h->user);
    free(h->password);
    free(h);
}

json_t *amharness_alerts(amharness *h)
{
    char *body = NULL;
    long status = get(h, "/api/v2/alerts", &body);
    json_t *j = status == 200 && body != NULL
                    ? json_loads(body, 0, NULL)
                    : NULL;
    free(body);
    if (j != NULL && !json_is_array(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

json_t *amharness_find(amharness *h, const char *alert_id)
{
    json_t *all = amharness_alerts(h);
    json_t *found = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(all, i, a) {
        const char *id = json_string_value(
            json_object_get(json_object_get(a, "labels"), "alert_id"));
        if (id != NULL && strcmp(id, alert_id) == 0) {
            found = json_incref(a);
            break;
        }
    }
    json_decref(all);
    return found;
}

long long amharness_time_ms(const char *rfc3339)
{
    int64_t ms;
    if (rfc3339 == NULL ||
        timefmt_parse_rfc3339(rfc3339, strlen(rfc3339), &ms) < 0)
        return INT64_MIN;
    return ms;
}
