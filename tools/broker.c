/*
 * engaged-broker: librdkafka's mock Kafka cluster in a process of its own.
 *
 * The benchmark (tools/bench.sh) needs a broker that is neither kcat nor
 * engaged, so that both read the same topic from the same server and
 * neither pays for serving it.  The daemon's `bootstrap.servers = embedded`
 * runs the same mock inside engaged itself (daemon/embedded.c); this is the
 * out-of-process twin.
 *
 * It creates the topics given on the command line, prints the cluster's
 * bootstrap address on stdout (and, with --bootstrap-file, into a file
 * written then renamed, so that a reader never sees half an address), and
 * serves until SIGTERM or SIGINT.  The mock keeps only about 5 MiB or
 * 100,000 batches per partition: spread big topics over many partitions.
 *
 * Standalone: only librdkafka, none of the daemon's modules (the Makefile
 * links every tool with them, which is harmless).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS 64
#define MAX_BROKERS 16
#define MAX_PARTITIONS 10000

typedef struct topic_spec {
    char name[250];         /* Kafka allows 249 characters */
    int partitions;
} topic_spec;

typedef struct broker_options {
    int brokers;
    topic_spec topics[MAX_TOPICS];
    int ntopics;
    const char *bootstrap_file;
} broker_options;

static void usage(FILE *out)
{
    fprintf(out,
"Usage: engaged-broker [OPTION]...\n"
"Run librdkafka's mock Kafka cluster until SIGTERM or SIGINT, and print its\n"
"bootstrap address (HOST:PORT[,HOST:PORT...]) on stdout.\n"
"\n"
"  -n, --brokers N              brokers in the cluster (default 1, at most %d)\n"
"  -t, --topic NAME:PARTITIONS  create a topic (repeatable, at most %d);\n"
"                               a producer may also auto-create topics\n"
"  -f, --bootstrap-file FILE    also write the address to FILE (removed on\n"
"                               exit)\n"
"  -h, --help                   this help\n"
"\n"
"The mock keeps only about 5 MiB or 100,000 batches per partition.\n"
"Exit status: 0 after a signal, 1 when the cluster cannot start, 2 on a\n"
"usage error.\n", MAX_BROKERS, MAX_TOPICS);
}

/* "NAME:PARTITIONS" into spec.  Returns 0 or -1 with a message on stderr. */
static int parse_topic(const char *arg, topic_spec *spec)
{
    const char *colon = strrchr(arg, ':');
    size_t len = colon ? (size_t)(colon - arg) : 0;
    if (colon == NULL || len == 0 || len >= sizeof spec->name) {
        fprintf(stderr, "engaged-broker: --topic %s: expected NAME:PARTITIONS "
                "with a name of 1 to %zu characters\n", arg,
                sizeof spec->name - 1);
        return -1;
    }
    char *end;
    errno = 0;
    long n = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || n < 1 || n > MAX_PARTITIONS) {
        fprintf(stderr, "engaged-broker: --topic %s: partitions must be an "
                "integer from 1 to %d\n", arg, MAX_PARTITIONS);
        return -1;
    }
    memcpy(spec->name, arg, len);
    spec->name[len] = '\0';
    spec->partitions = (int)n;
    return 0;
}

static int parse_args(int argc, char **argv, broker_options *o)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'n'},
        {"topic", required_argument, NULL, 't'},
        {"bootstrap-file", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "n:t:f:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n': {
            char *end;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || n < 1 || n > MAX_BROKERS) {
                fprintf(stderr, "engaged-broker: --brokers %s: expected an "
                        "integer from 1 to %d\n", optarg, MAX_BROKERS);
                return -1;
            }
            o->brokers = (int)n;
            break;
        }
        case 't':
            if (o->ntopics == MAX_TOPICS) {
                fprintf(stderr, "engaged-broker: at most %d topics\n",
                        MAX_TOPICS);
                return -1;
            }
            if (parse_topic(optarg, &o->topics[o->ntopics]) < 0)
                return -1;
            o->ntopics++;
            break;
        case 'f': o->bootstrap_file = optarg; break;
        case 'h': usage(stdout); exit(0);
        default:
            fprintf(stderr, "Try 'engaged-broker --help'.\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "engaged-broker: unexpected argument \"%s\"; try "
                "--help\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Writes addr to path through path.tmp and a rename.  Returns 0 or -1. */
static int write_bootstrap_file(const char *path, const char *addr)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        fprintf(stderr, "engaged-broker: %s: path too long\n", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%s\n", addr) < 0 || fclose(f) != 0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "engaged-broker: cannot write %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    broker_options o = {.brokers = 1};
    if (parse_args(argc, argv, &o) < 0)
        return 2;

    /* Block the signals before librdkafka starts its threads, so that they
     * inherit the mask and only sigwait() below receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* A quiet handle: it only anchors the cluster. */
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
                                  sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "engaged-broker: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mock = rd_kafka_mock_cluster_new(rk, o.brokers);
    if (mock == NULL) {
        fprintf(stderr, "engaged-broker: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    int status = 0;
    for (int i = 0; i < o.ntopics && status == 0; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
            mock, o.topics[i].name, o.topics[i].partitions, 1);
        if (err) {
            fprintf(stderr, "engaged-broker: cannot create %s: %s\n",
                    o.topics[i].name, rd_kafka_err2str(err));
            status = 1;
        }
    }
    const char *addr = rd_kafka_mock_cluster_bootstraps(mock);
    bool wrote = false;
    if (status == 0 && o.bootstrap_file) {
        if (write_bootstrap_file(o.bootstrap_file, addr) < 0)
            status = 1;
        else
            wrote = true;
    }
    if (status == 0) {
        printf("%s\n", addr);
        fflush(stdout);
        int sig;
        while (sigwait(&stop, &sig) != 0)
            ;
    }
    if (wrote)
        unlink(o.bootstrap_file);
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(rk);
    return status;
}
