/*
 * engaged: Kafka engagement events -> rolling per-creator and per-tier
 * metrics in Redis.  main() only reads the command line and the
 * configuration, then hands over to the engine.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "http.h"
#include "kafkaconf.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "secret.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: engaged -c FILE [--check-config]\n"
            "       engaged --version | --help\n"
            "\n"
            "Consumes engagement events from Kafka and keeps rolling\n"
            "per-creator and per-tier metrics in Redis.\n"
            "\n"
            "  -c, --config FILE   configuration file (see engaged.conf(5))\n"
            "  -t, --check-config  validate the configuration and exit:\n"
            "                      0 with \"configuration OK\", or 1 with one\n"
            "                      FILE:LINE: message line per error\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Runs in the foreground until SIGTERM or SIGINT.\n");
}

/* After a reload: the read API answers with the new tiers. */
static void on_reload(void *arg, const config *cfg)
{
    http_reconfigure(arg, cfg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int check = 0, c;
    while ((c = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 't': check = 1; break;
        case 'V': printf("engaged %s\n", ENGAGED_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (path == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    char errstr[8192] = "";
    config *cfg = config_load(path, errstr, sizeof errstr);
    if (cfg != NULL && kafkaconf_check(cfg, errstr, sizeof errstr) < 0) {
        config_free(cfg);
        cfg = NULL;
    }
    if (cfg == NULL) {
        fputs(errstr, stderr);
        return 1;
    }
    char key[128];
    if (secret_config_exposed(cfg, key, sizeof key))
        log_warning("%s is readable by other users and holds a secret "
                    "([kafka] %s): restrict it (chmod o-r) or use "
                    "sasl.password_file or a systemd credential", path, key);
    if (check) {
        printf("configuration OK\n");
        config_free(cfg);
        return 0;
    }
    log_set_level(cfg->log_level);
    log_notice("engaged %s starting config=%s", ENGAGED_VERSION, path);
    engine_install_signals();
    metrics *m = metrics_new(ENGAGED_VERSION, errstr, sizeof errstr);
    if (m == NULL) {
        log_error("%s", errstr);
        config_free(cfg);
        return 1;
    }
    metrics_set_watchdog_interval(m, notify_watchdog_interval_ms());
    http *h = NULL;
    if (cfg->http_listen[0]) {
        h = http_start(cfg->http_listen, m, cfg, errstr, sizeof errstr);
        if (h == NULL) {
            log_error("%s", errstr);
            config_free(cfg);
            metrics_free(m);
            return 1;
        }
        log_notice("serving /metrics, /healthz, /readyz and the read API "
                   "/v1 listen=%s", cfg->http_listen);
    }
    engine *e = engine_new(cfg, m, errstr, sizeof errstr);
    if (e == NULL) {
        log_error("%s", errstr);
        http_stop(h);
        metrics_free(m);
        return 1;
    }
    engine_on_reload(e, on_reload, h);
    int rc = engine_run(e);
    http_stop(h);
    engine_free(e);
    metrics_free(m);
    return rc;
}
