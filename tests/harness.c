/*
 * harness: real servers and a real daemon for integration tests.
 * See harness.h for the contracts.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 10
#define STOP_TIMEOUT_MS 10000
#define REDIS_START_TIMEOUT_MS 10000
#define REDIS_START_TRIES 3

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * librdkafka's lines from the test's own clients (the mock cluster's owner,
 * the producer, consumers) go to a file of the test process, not to the
 * test output: fault tests make them by the hundred ("Connection
 * refused").  fail() shows its last lines, with its path.
 */
static pthread_mutex_t client_log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *client_log;
static char client_log_path[64];

static void client_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                          const char *buf)
{
    pthread_mutex_lock(&client_log_lock);
    if (client_log == NULL) {
        snprintf(client_log_path, sizeof client_log_path,
                 "/tmp/engaged-test-clients.%d.log", (int)getpid());
        client_log = fopen(client_log_path, "w");
        if (client_log != NULL)
            setvbuf(client_log, NULL, _IOLBF, 0);
    }
    if (client_log != NULL)
        fprintf(client_log, "%d %s %s: %s\n", level, rd_kafka_name(rk), fac,
                buf);
    pthread_mutex_unlock(&client_log_lock);
}

void harness_kafka_quiet(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_log_cb(conf, client_log_cb);
}

/* The last lines of the clients' log, on stderr. */
static void show_client_log(void)
{
    pthread_mutex_lock(&client_log_lock);
    if (client_log != NULL) {
        fflush(client_log);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "tail -n 20 %s >&2", client_log_path);
        fprintf(stderr, "harness: the test's Kafka clients, last lines of "
                        "%s:\n", client_log_path);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: cannot show %s\n", client_log_path);
    }
    pthread_mutex_unlock(&client_log_lock);
}

static void remove_client_log(void)
{
    if (client_log != NULL && !getenv("HARNESS_KEEP"))
        unlink(client_log_path);
}

/* One line on stderr, so a failing assertion comes with its reason. */
static void fail(const char *fmt, ...)
{
    char *line;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    fprintf(stderr, "harness: %s\n", line);
    free(line);
    show_client_log();
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fail("out of memory");
        abort();
    }
    return d;
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fail("out of memory");
        abort();
    }
    return s;
}

static bool keep_tmp(void)
{
    const char *k = getenv("HARNESS_KEEP");
    return k && *k && strcmp(k, "0") != 0;
}

/* ------------------------------------------------------------------ */
/* What a test left behind: children to kill, directories to remove     */
/* ------------------------------------------------------------------ */

#define REG_MAX 64

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t reg_pids[REG_MAX];
static char *reg_dirs[REG_MAX];
static bool reg_atexit_done;

static void reg_cleanup(void);

static void reg_init_locked(void)
{
    if (!reg_atexit_done) {
        atexit(reg_cleanup);
        reg_atexit_done = true;
    }
}

static void reg_add_pid(pid_t pid)
{
    pthread_mutex_lock(&reg_lock);
    reg_init_locked();
    for (size_t i = 0; i < REG_MAX; i++)
        if (reg_pids[i] == 0) {
            reg_pids[i] = pid;
            break;
        }
    pthread_mutex_unlock(&reg_lock);
}

static void reg_del_pid(pid_t pid)
{
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < REG_MAX; i++)
        if (reg_pids[i] == pid)
            reg_pids[i] = 0;
    pthread_mutex_unlock(&reg_lock);
}

static void reg_add_dir(const char *dir)
{
    pthread_mutex_lock(&reg_lock);
    reg_init_locked();
    for (size_t i = 0; i < REG_MAX; i++)
        if (reg_dirs[i] == NULL) {
            reg_dirs[i] = xstrdup(dir);
            break;
        }
    pthread_mutex_unlock(&reg_lock);
}

static void reg_del_dir(const char *dir)
{
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < REG_MAX; i++)
        if (reg_dirs[i] && strcmp(reg_dirs[i], dir) == 0) {
            free(reg_dirs[i]);
            reg_dirs[i] = NULL;
        }
    pthread_mutex_unlock(&reg_lock);
}

static int rmtree_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc == 0 || errno == ENOENT ? 0 : -1;
}

static int rmtree_quiet(const char *path)
{
    return nftw(path, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Runs at exit of the test process: a test that aborted on an assertion
 * never reached its stop calls.  PDEATHSIG covers crashes; this covers the
 * directories too.
 */
static void reg_cleanup(void)
{
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < REG_MAX; i++)
        if (reg_pids[i] > 0) {
            kill(reg_pids[i], SIGKILL);
            while (waitpid(reg_pids[i], NULL, 0) == -1 && errno == EINTR)
                ;
            reg_pids[i] = 0;
        }
    for (size_t i = 0; i < REG_MAX; i++)
        if (reg_dirs[i]) {
            if (keep_tmp())
                fprintf(stderr, "harness: kept %s\n", reg_dirs[i]);
            else
                rmtree_quiet(reg_dirs[i]);
            free(reg_dirs[i]);
            reg_dirs[i] = NULL;
        }
    pthread_mutex_unlock(&reg_lock);
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

/*
 * Forks and executes argv (PATH searched) with stdin from /dev/null and
 * stdout and stderr to outfd.  A close-on-exec pipe carries errno back when
 * exec fails, so the caller knows at once rather than from an exit status.
 * The child only makes async-signal-safe calls: the test process has
 * librdkafka threads, and fork() copies only the calling one.
 * Returns the pid (registered for the at-exit kill), or -1 with errno set.
 */
pid_t harness_spawn(char *const argv[], int outfd)
{
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) == -1)
        return -1;
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd == -1) {
        int e = errno;
        close(errpipe[0]);
        close(errpipe[1]);
        errno = e;
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The parent may have died before prctl: then nobody kills us. */
        if (getppid() != parent)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Ignored signals stay ignored across exec; restore the defaults. */
        static const int sigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP,
                                   SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            sigaction(sigs[i], &dfl, NULL);
        if (dup2(nullfd, 0) == -1 || dup2(outfd, 1) == -1 ||
            dup2(outfd, 2) == -1)
            goto failed;
        /* Keep no inherited descriptor (mock broker listeners, Criterion's
         * pipes) alive in the child: only 0-2 and the error pipe. */
        int w = errpipe[1];
        if (w > 3)
            close_range(3, (unsigned)w - 1, 0);
        close_range((unsigned)w + 1, ~0U, 0);
        execvp(argv[0], argv);
    failed:;
        int e = errno;
        ssize_t wr = write(errpipe[1], &e, sizeof e);
        (void)wr;
        _exit(127);
    }
    int fork_errno = errno;
    close(nullfd);
    close(errpipe[1]);
    if (pid == -1) {
        close(errpipe[0]);
        errno = fork_errno;
        return -1;
    }
    int child_errno = 0;
    ssize_t n;
    while ((n = read(errpipe[0], &child_errno, sizeof child_errno)) == -1 &&
           errno == EINTR)
        ;
    close(errpipe[0]);
    if (n == (ssize_t)sizeof child_errno) {
        while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
            ;
        errno = child_errno;
        return -1;
    }
    reg_add_pid(pid);
    return pid;
}

const char *harness_gen_path(void)
{
    static char path[4096];
    const char *env = getenv("ENGAGED_GEN");
    const char *root = getenv("ENGAGED_ROOT");
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else
        snprintf(path, sizeof path, "%s/build/engaged-gen",
                 root && *root ? root : ".");
    if (access(path, X_OK) != 0) {
        fail("no engaged-gen at %s: run `make build/engaged-gen`, or set "
             "ENGAGED_GEN or ENGAGED_ROOT", path);
        return NULL;
    }
    return path;
}

/*
 * Polls waitpid(pid, WNOHANG) until the child exits or timeout_ms pass.
 * Returns 0 with *status (when not NULL) once reaped, -1 on timeout.
 */
int harness_reap(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid || (w == -1 && errno == ECHILD)) {
            reg_del_pid(pid);
            if (status)
                *status = w == pid ? st : 0;
            return 0;
        }
        if (w == -1 && errno != EINTR)
            return -1;
        if (now_ms() >= deadline)
            return -1;
        nap(POLL_MS);
    }
}

/* SIGTERM, up to 10 s, then SIGKILL.  Returns 0 when it exited on TERM. */
int harness_terminate(pid_t pid, int *status)
{
    if (kill(pid, SIGTERM) == 0 &&
        harness_reap(pid, STOP_TIMEOUT_MS, status) == 0)
        return 0;
    fail("pid %d ignored SIGTERM for %d ms: SIGKILL", (int)pid,
         STOP_TIMEOUT_MS);
    kill(pid, SIGKILL);
    harness_reap(pid, STOP_TIMEOUT_MS, status);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Generic                                                             */
/* ------------------------------------------------------------------ */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int harness_wait(int (*cond)(void *arg), void *arg, int timeout_ms)
{
    /* Nanoseconds, so the wait is never a millisecond short. */
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        if (cond(arg))
            return 0;
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return cond(arg) ? 0 : -1;
        struct timespec ts = {0, left < POLL_MS * 1000000L
                                     ? (long)left
                                     : POLL_MS * 1000000L};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
    }
}

char *harness_tmpdir(void)
{
    char tmpl[] = "/tmp/engaged-test.XXXXXX";
    if (!mkdtemp(tmpl)) {
        fail("mkdtemp %s: %s", tmpl, strerror(errno));
        return NULL;
    }
    reg_add_dir(tmpl);
    return xstrdup(tmpl);
}

int harness_rmtree(const char *path)
{
    if (!path)
        return 0;
    reg_del_dir(path);
    if (keep_tmp()) {
        fprintf(stderr, "harness: kept %s\n", path);
        return 0;
    }
    if (rmtree_quiet(path) == -1 && errno != ENOENT) {
        fail("cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int harness_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        fail("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            fail("cannot write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) == -1) {
        fail("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads fd to its end into a NUL-terminated buffer. */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    for (;;) {
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

char *harness_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return NULL;
    char *s = read_all(fd, len);
    close(fd);
    return s;
}

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fail("socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) == -1) {
        fail("cannot find a free port: %s", strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

int harness_run(const char *cmd, char **output)
{
    if (output)
        *output = NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) == -1) {
        fail("pipe: %s", strerror(errno));
        return -1;
    }
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)(uintptr_t)cmd,
                    NULL};
    pid_t pid = harness_spawn(argv, p[1]);
    int e = errno;
    close(p[1]);
    if (pid == -1) {
        close(p[0]);
        fail("cannot run /bin/sh: %s", strerror(e));
        return -1;
    }
    char *out = read_all(p[0], NULL);
    close(p[0]);
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
        ;
    reg_del_pid(pid);
    if (output)
        *output = out;
    else
        free(out);
    if (w == -1)
        return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Redis                                                               */
/* ------------------------------------------------------------------ */

struct harness_redis {
    pid_t pid;          /* 0 while down */
    int port;
    char *dir;
    redisContext *ctx;
};

/* Prints the end of the server's output and log after a failed start. */
static void redis_dump_logs(const harness_redis *r)
{
    static const char *const names[] = {"redis.out", "redis.log"};
    for (size_t i = 0; i < 2; i++) {
        char *path = xasprintf("%s/%s", r->dir, names[i]);
        size_t len = 0;
        char *text = harness_read_file(path, &len);
        if (text && len) {
            const char *tail = len > 2000 ? text + len - 2000 : text;
            fprintf(stderr, "harness: --- %s ---\n%s\n", path, tail);
        }
        free(text);
        free(path);
    }
}

static int redis_spawn(harness_redis *r)
{
    char *out = xasprintf("%s/redis.out", r->dir);
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    free(out);
    if (fd == -1) {
        fail("cannot open redis.out in %s: %s", r->dir, strerror(errno));
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", r->port);
    char *logfile = xasprintf("%s/redis.log", r->dir);
    char *argv[] = {
        (char *)"redis-server", (char *)"--port", port,
        (char *)"--bind", (char *)"127.0.0.1", (char *)"--dir", r->dir,
        (char *)"--appendonly", (char *)"yes", (char *)"--appendfsync",
        (char *)"always", (char *)"--save", (char *)"", (char *)"--daemonize",
        (char *)"no", (char *)"--logfile", logfile, NULL};
    pid_t pid = harness_spawn(argv, fd);
    int e = errno;
    close(fd);
    free(logfile);
    if (pid == -1) {
        fail("cannot execute redis-server: %s", strerror(e));
        return -1;
    }
    r->pid = pid;
    return 0;
}

/*
 * Waits until PING answers PONG (not -LOADING while the AOF is replayed).
 * Returns 0, -1 on timeout, -2 when the server exited (r->pid is then 0).
 */
static int redis_wait_ready(harness_redis *r, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int st;
        if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
            reg_del_pid(r->pid);
            r->pid = 0;
            return -2;
        }
        struct timeval tv = {1, 0};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
        if (c && !c->err) {
            redisReply *rep = redisCommand(c, "PING");
            bool pong = rep && rep->type == REDIS_REPLY_STATUS &&
                        strcmp(rep->str, "PONG") == 0;
            if (rep)
                freeReplyObject(rep);
            if (pong) {
                if (r->ctx)
                    redisFree(r->ctx);
                r->ctx = c;
                return 0;
            }
        }
        if (c)
            redisFree(c);
        if (now_ms() >= deadline)
            return -1;
        nap(POLL_MS);
    }
}

harness_redis *harness_redis_start(void)
{
    harness_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->dir = harness_tmpdir();
    if (!r->dir) {
        free(r);
        return NULL;
    }
    for (int attempt = 1; attempt <= REDIS_START_TRIES; attempt++) {
        r->port = harness_free_port();
        if (r->port == -1 || redis_spawn(r) == -1)
            break;
        int rc = redis_wait_ready(r, REDIS_START_TIMEOUT_MS);
        if (rc == 0)
            return r;
        if (rc == -1) {
            fail("redis-server on port %d did not answer PING in %d ms",
                 r->port, REDIS_START_TIMEOUT_MS);
            break;
        }
        fail("redis-server exited during start-up on port %d (attempt %d)",
             r->port, attempt);
    }
    redis_dump_logs(r);
    harness_redis_stop(r);
    return NULL;
}

int harness_redis_port(const harness_redis *r)
{
    return r->port;
}

const char *harness_redis_dir(const harness_redis *r)
{
    return r->dir;
}

redisContext *harness_redis_ctx(harness_redis *r)
{
    if (r->pid <= 0)
        return NULL;
    if (r->ctx && !r->ctx->err)
        return r->ctx;
    if (r->ctx)
        redisFree(r->ctx);
    struct timeval tv = {1, 0};
    r->ctx = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (r->ctx && r->ctx->err) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    return r->ctx;
}

char *harness_redis_hget(harness_redis *r, const char *key, const char *field)
{
    redisContext *c = harness_redis_ctx(r);
    if (!c)
        return NULL;
    redisReply *rep = redisCommand(c, "HGET %s %s", key, field);
    if (!rep)
        return NULL; /* c->err is set: the next call reconnects */
    char *val = NULL;
    if (rep->type == REDIS_REPLY_STRING) {
        val = malloc(rep->len + 1);
        if (val) {
            memcpy(val, rep->str, rep->len);
            val[rep->len] = '\0';
        }
    }
    freeReplyObject(rep);
    return val;
}

struct field_wait {
    harness_redis *r;
    const char *key, *field, *value;
    char *last;
};

static int field_matches(void *arg)
{
    struct field_wait *w = arg;
    free(w->last);
    w->last = harness_redis_hget(w->r, w->key, w->field);
    if (!w->last)
        return 0;
    return !w->value || strcmp(w->last, w->value) == 0;
}

int harness_redis_wait_field(harness_redis *r, const char *key,
                             const char *field, const char *value,
                             int timeout_ms)
{
    struct field_wait w = {r, key, field, value, NULL};
    int rc = harness_wait(field_matches, &w, timeout_ms);
    if (rc == -1)
        fail("HGET %s %s: wanted %s%s%s after %d ms, last saw %s%s%s", key,
             field, value ? "\"" : "", value ? value : "any value",
             value ? "\"" : "", timeout_ms, w.last ? "\"" : "",
             w.last ? w.last : "nothing", w.last ? "\"" : "");
    free(w.last);
    return rc;
}

int harness_redis_kill(harness_redis *r)
{
    if (r->pid <= 0)
        return -1;
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    kill(r->pid, SIGKILL);
    harness_reap(r->pid, STOP_TIMEOUT_MS, NULL);
    r->pid = 0;
    return 0;
}

int harness_redis_restart(harness_redis *r)
{
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    if (r->pid > 0) {
        harness_terminate(r->pid, NULL);
        r->pid = 0;
    }
    if (redis_spawn(r) == -1)
        return -1;
    int rc = redis_wait_ready(r, REDIS_START_TIMEOUT_MS);
    if (rc == 0)
        return 0;
    fail("redis-server did not come back on port %d (%s)", r->port,
         rc == -2 ? "it exited" : "no PONG in time");
    redis_dump_logs(r);
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        harness_reap(r->pid, STOP_TIMEOUT_MS, NULL);
        r->pid = 0;
    }
    return -1;
}

void harness_redis_stop(harness_redis *r)
{
    if (!r)
        return;
    if (r->ctx)
        redisFree(r->ctx);
    if (r->pid > 0)
        harness_terminate(r->pid, NULL);
    harness_rmtree(r->dir);
    free(r->dir);
    free(r);
}

int harness_redis_signal(harness_redis *r, int sig)
{
    if (r->pid <= 0)
        return -1;
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    return kill(r->pid, sig) == 0 ? 0 : -1;
}

int harness_redis_cmd(harness_redis *r, const char *fmt, ...)
{
    redisContext *c = harness_redis_ctx(r);
    if (!c) {
        fail("redis command %s: the server is down", fmt);
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!rep) {
        fail("redis command %s: %s", fmt, c->errstr);
        return -1;
    }
    int rc = 0;
    if (rep->type == REDIS_REPLY_ERROR) {
        fail("redis command %s: %s", fmt, rep->str);
        rc = -1;
    }
    freeReplyObject(rep);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Kafka                                                               */
/* ------------------------------------------------------------------ */

struct harness_kafka {
    rd_kafka_t *owner;           /* hosts the mock cluster */
    rd_kafka_mock_cluster_t *mock;
    char *dir;                   /* the real broker's (tools/kafka.sh DIR) */
    pid_t broker;                /* its JVM, 0 while down */
    char *bootstrap;
    rd_kafka_t *producer;
    /* Delivery results since the last flush; only touched from the
     * callbacks, which run in the thread calling poll/flush. */
    long failed;
    char first_error[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    (void)rk;
    harness_kafka *k = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    if (k->failed++ == 0)
        snprintf(k->first_error, sizeof k->first_error, "%s [%d]: %s",
                 rd_kafka_topic_name(m->rkt), (int)m->partition,
                 rd_kafka_err2str(m->err));
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *val)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, name, val, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        fail("librdkafka %s=%s: %s", name, val, errstr);
        return -1;
    }
    return 0;
}

int harness_kafka_real(void)
{
    const char *b = getenv("ENGAGED_TEST_BROKER");
    return b != NULL && strcmp(b, "kafka") == 0;
}

/*
 * Topics of the real broker take messages up to 17 MiB: the hostile suite
 * produces events of 2 and 4 MiB (through a producer allowing 16 MiB) and
 * its daemon's DLQ producer allows 8 MiB, where Kafka's default
 * (message.max.bytes) is 1 MiB.  The mock has no such limit.
 */
#define REAL_TOPIC_MAX_BYTES "17825792"
#define REAL_TOPICS_TIMEOUT_MS 30000

/*
 * Runs `tools/kafka.sh CMD DIR` (under $ENGAGED_ROOT, else the current
 * directory) for the handle's broker, with the test process as the
 * broker's owner, and then reads the JVM's pid back (when the broker is
 * meant to run) so that the at-exit cleanup kills it at once.  Returns 0,
 * or -1 with the script's output printed.
 */
static int kafka_sh(harness_kafka *k, const char *cmd)
{
    const char *root = getenv("ENGAGED_ROOT");
    char *line = xasprintf("ENGAGED_KAFKA_OWNER=%d '%s/tools/kafka.sh' %s "
                           "'%s'", (int)getpid(), root ? root : ".", cmd,
                           k->dir);
    if (k->broker > 0) {
        reg_del_pid(k->broker);
        k->broker = 0;
    }
    char *out = NULL;
    int st = harness_run(line, &out);
    if (st != 0)
        fail("%s: exit status %d: %s", line, st, out ? out : "");
    free(line);
    free(out);
    if (st != 0)
        return -1;
    if (strcmp(cmd, "start") == 0 || strcmp(cmd, "restart") == 0) {
        char *path = xasprintf("%s/pid", k->dir);
        char *pid = harness_read_file(path, NULL);
        free(path);
        k->broker = pid ? (pid_t)atoi(pid) : 0;
        free(pid);
        /* Not a child: reg_cleanup's SIGKILL reaches it, its waitpid
         * answers ECHILD at once. */
        if (k->broker > 0)
            reg_add_pid(k->broker);
    }
    return 0;
}

/* Nonzero when every topic has `partitions` partitions, each with a leader. */
static int topics_led(harness_kafka *k, int partitions,
                      const char *const *topics, size_t ntopics,
                      const char **why)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(k->producer, 1, NULL, &md,
                                                1000);
    if (err) {
        *why = rd_kafka_err2str(err);
        return 0;
    }
    size_t ready = 0;
    for (size_t i = 0; i < ntopics; i++)
        for (int t = 0; t < md->topic_cnt; t++) {
            const struct rd_kafka_metadata_topic *mt = &md->topics[t];
            if (strcmp(mt->topic, topics[i]) != 0)
                continue;
            int led = 0;
            for (int p = 0; p < mt->partition_cnt; p++)
                led += mt->partitions[p].leader >= 0 &&
                       mt->partitions[p].err == RD_KAFKA_RESP_ERR_NO_ERROR;
            if (mt->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                mt->partition_cnt == partitions && led == partitions)
                ready++;
            else
                *why = "a partition without leader";
        }
    rd_kafka_metadata_destroy(md);
    if (ready < ntopics && **why == '\0')
        *why = "a topic missing from the metadata";
    return ready == ntopics;
}

/*
 * Creates the topics on the real broker with the Admin API (60 ms where
 * tools/kafka.sh create-topic costs a JVM per topic), then waits until the
 * metadata shows every partition with its leader: the answer may come
 * before the metadata has it (docs/kafka.md).  Returns 0 or -1.
 */
static int real_create_topics(harness_kafka *k, int partitions,
                              const char *const *topics, size_t ntopics)
{
    char errstr[512];
    int rc = -1;
    if (ntopics == 0)
        return 0;
    rd_kafka_NewTopic_t **nt = calloc(ntopics, sizeof *nt);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->producer);
    rd_kafka_AdminOptions_t *opt =
        rd_kafka_AdminOptions_new(k->producer, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_event_t *ev = NULL;
    if (!nt) {
        fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < ntopics; i++) {
        nt[i] = rd_kafka_NewTopic_new(topics[i], partitions, 1, errstr,
                                      sizeof errstr);
        if (!nt[i] || rd_kafka_NewTopic_set_config(nt[i], "max.message.bytes",
                                                   REAL_TOPIC_MAX_BYTES)) {
            fail("topic %s: %s", topics[i], nt[i] ? "bad config" : errstr);
            goto out;
        }
    }
    if (rd_kafka_AdminOptions_set_request_timeout(
            opt, REAL_TOPICS_TIMEOUT_MS, errstr, sizeof errstr) ||
        rd_kafka_AdminOptions_set_operation_timeout(
            opt, REAL_TOPICS_TIMEOUT_MS, errstr, sizeof errstr)) {
        fail("admin options: %s", errstr);
        goto out;
    }
    rd_kafka_CreateTopics(k->producer, nt, ntopics, opt, q);
    ev = rd_kafka_queue_poll(q, REAL_TOPICS_TIMEOUT_MS + 5000);
    if (!ev || rd_kafka_event_error(ev)) {
        fail("CreateTopics: %s", ev ? rd_kafka_event_error_string(ev)
                                    : "no answer");
        goto out;
    }
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(
        rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (rd_kafka_topic_result_error(res[i])) {
            fail("CreateTopics %s: %s", rd_kafka_topic_result_name(res[i]),
                 rd_kafka_topic_result_error_string(res[i]));
            goto out;
        }
    int64_t deadline = now_ms() + REAL_TOPICS_TIMEOUT_MS;
    const char *why = "";
    while (!topics_led(k, partitions, topics, ntopics, &why)) {
        if (now_ms() >= deadline) {
            fail("topics not ready %d ms after their creation: %s",
                 REAL_TOPICS_TIMEOUT_MS, why);
            goto out;
        }
        why = "";
        nap(50);
    }
    rc = 0;
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    if (nt) {
        rd_kafka_NewTopic_destroy_array(nt, ntopics);
        free(nt);
    }
    return rc;
}

/* The real broker's side of harness_kafka_start: a broker in a fresh
 * directory, its bootstrap address.  Returns 0 or -1. */
static int real_start(harness_kafka *k)
{
    k->dir = harness_tmpdir();
    if (!k->dir || kafka_sh(k, "start"))
        return -1;
    char *path = xasprintf("%s/bootstrap", k->dir);
    char *addr = harness_read_file(path, NULL);
    free(path);
    if (!addr || !*addr) {
        fail("no bootstrap address in %s/bootstrap", k->dir);
        free(addr);
        return -1;
    }
    addr[strcspn(addr, " \t\r\n")] = '\0';
    k->bootstrap = addr;
    return 0;
}

/* The mock's side of harness_kafka_start: the cluster and its topics. */
static int mock_start(harness_kafka *k, int brokers, int partitions,
                      const char *const *topics, size_t ntopics)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    harness_kafka_quiet(conf);
    /* The owner never connects anywhere: silence its "no bootstrap.servers"
     * notice. */
    if (conf_set(conf, "log_level", "4")) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    k->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!k->owner) {
        fail("rd_kafka_new: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    k->mock = rd_kafka_mock_cluster_new(k->owner, brokers);
    if (!k->mock) {
        fail("cannot start a mock cluster of %d brokers", brokers);
        return -1;
    }
    k->bootstrap = xstrdup(rd_kafka_mock_cluster_bootstraps(k->mock));
    int rf = brokers < 3 ? brokers : 3;
    for (size_t i = 0; i < ntopics; i++) {
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(k->mock, topics[i], partitions, rf);
        if (e) {
            fail("cannot create topic %s: %s", topics[i], rd_kafka_err2str(e));
            return -1;
        }
    }
    return 0;
}

harness_kafka *harness_kafka_start(int brokers, int partitions,
                                   const char *const *topics, size_t ntopics)
{
    char errstr[512];
    harness_kafka *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    atexit(remove_client_log);
    if (harness_kafka_real() ? real_start(k)
                             : mock_start(k, brokers, partitions, topics,
                                          ntopics))
        goto err;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    harness_kafka_quiet(conf);
    if (conf_set(conf, "bootstrap.servers", k->bootstrap) ||
        conf_set(conf, "enable.idempotence", "true") ||
        conf_set(conf, "linger.ms", "1") ||
        conf_set(conf, "message.timeout.ms", "30000")) {
        rd_kafka_conf_destroy(conf);
        goto err;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, k);
    k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!k->producer) {
        fail("rd_kafka_new: %s", errstr);
        rd_kafka_conf_destroy(conf);
        goto err;
    }
    if (k->dir && real_create_topics(k, partitions, topics, ntopics))
        goto err;
    return k;
err:
    harness_kafka_stop(k);
    return NULL;
}

const char *harness_kafka_bootstrap(const harness_kafka *k)
{
    return k->bootstrap;
}

rd_kafka_mock_cluster_t *harness_kafka_mock(harness_kafka *k)
{
    return k->mock;
}

int harness_kafka_kill(harness_kafka *k)
{
    if (k->dir)
        return kafka_sh(k, "kill");
    rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_down(k->mock, -1);
    if (err)
        fail("mock brokers down: %s", rd_kafka_err2str(err));
    return err ? -1 : 0;
}

int harness_kafka_restart(harness_kafka *k)
{
    if (k->dir)
        return kafka_sh(k, "restart"); /* waits for every leader */
    rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_up(k->mock, -1);
    if (err)
        fail("mock brokers up: %s", rd_kafka_err2str(err));
    return err ? -1 : 0;
}

int harness_kafka_produce(harness_kafka *k, const char *topic,
                          int32_t partition, const void *key, size_t keylen,
                          const void *value, size_t len)
{
    return harness_kafka_produce_headers(k, topic, partition, key, keylen,
                                         value, len, NULL, 0);
}

int harness_kafka_produce_headers(harness_kafka *k, const char *topic,
                                  int32_t partition, const void *key,
                                  size_t keylen, const void *value, size_t len,
                                  const char *const *headers, size_t nheaders)
{
    /* RD_KAFKA_V_VALUE wants a non-const pointer; with F_COPY the bytes are
     * only read. */
    void *payload = (void *)(uintptr_t)value;
    int64_t deadline = now_ms() + 30000;
    for (;;) {
        rd_kafka_resp_err_t err;
        rd_kafka_headers_t *hdrs = NULL;
        if (nheaders > 0) {
            hdrs = rd_kafka_headers_new(nheaders);
            for (size_t i = 0; i < nheaders; i++) {
                const char *v = headers[2 * i + 1];
                rd_kafka_header_add(hdrs, headers[2 * i], -1, v, v ? -1 : 0);
            }
            err = rd_kafka_producev(
                k->producer, RD_KAFKA_V_TOPIC(topic),
                RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, keylen),
                RD_KAFKA_V_VALUE(payload, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
            if (err)
                rd_kafka_headers_destroy(hdrs); /* not taken over */
        } else {
            err = rd_kafka_producev(
                k->producer, RD_KAFKA_V_TOPIC(topic),
                RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, keylen),
                RD_KAFKA_V_VALUE(payload, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        }
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_poll(k->producer, 0);
            return 0;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || now_ms() >= deadline) {
            fail("cannot produce to %s: %s", topic, rd_kafka_err2str(err));
            return -1;
        }
        /* Serving delivery reports is what frees queue space. */
        rd_kafka_poll(k->producer, POLL_MS);
    }
}

int harness_kafka_flush(harness_kafka *k, int timeout_ms)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(k->producer, timeout_ms);
    if (err) {
        fail("flush: %d messages still undelivered after %d ms",
             rd_kafka_outq_len(k->producer), timeout_ms);
        return -1;
    }
    if (k->failed > 0) {
        fail("flush: %ld deliveries failed, the first %s", k->failed,
             k->first_error);
        k->failed = 0;
        return -1;
    }
    return 0;
}

static char *copy_bytes(const void *p, size_t n)
{
    if (!p)
        return NULL;
    char *s = malloc(n + 1);
    if (!s) {
        fail("out of memory");
        abort();
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int msg_cmp(const void *a, const void *b)
{
    const harness_msg *x = a, *y = b;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Fills *out from a consumed message; everything is copied. */
static void msg_copy(harness_msg *out, const rd_kafka_message_t *m)
{
    memset(out, 0, sizeof *out);
    out->key = copy_bytes(m->key, m->key_len);
    out->keylen = m->key ? m->key_len : 0;
    out->value = copy_bytes(m->payload, m->len);
    out->len = m->payload ? m->len : 0;
    out->partition = m->partition;
    out->offset = m->offset;
    rd_kafka_timestamp_type_t tstype;
    out->timestamp = rd_kafka_message_timestamp(m, &tstype);
    rd_kafka_headers_t *hdrs = NULL;
    /* rd_kafka_message_headers() wants a non-const message: it parses the
     * headers lazily and caches them in it. */
    if (rd_kafka_message_headers((rd_kafka_message_t *)(uintptr_t)m, &hdrs) ||
        !hdrs)
        return;
    size_t cnt = rd_kafka_header_cnt(hdrs);
    out->hname = calloc(cnt ? cnt : 1, sizeof *out->hname);
    out->hvalue = calloc(cnt ? cnt : 1, sizeof *out->hvalue);
    if (!out->hname || !out->hvalue) {
        fail("out of memory");
        abort();
    }
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; i < cnt &&
                       rd_kafka_header_get_all(hdrs, i, &name, &val, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        out->hname[i] = xstrdup(name);
        out->hvalue[i] = copy_bytes(val, size);
        out->nheaders = i + 1;
    }
}

/* Waits until the topic exists with partitions; returns the count or -1. */
static int topic_partitions(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
                            int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    const char *why = "no answer";
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int64_t left = deadline - now_ms();
        int wait_ms = left < 10 ? 10 : left > 1000 ? 1000 : (int)left;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, wait_ms);
        int cnt = -1;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
            if (md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topics[0].partition_cnt > 0)
                cnt = md->topics[0].partition_cnt;
            else
                why = rd_kafka_err2str(md->topics[0].err);
        } else if (err) {
            why = rd_kafka_err2str(err);
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (cnt > 0)
            return cnt;
        if (now_ms() >= deadline) {
            fail("topic %s not available after %d ms: %s",
                 rd_kafka_topic_name(rkt), timeout_ms, why);
            return -1;
        }
        nap(POLL_MS);
    }
}

harness_msg *harness_kafka_consume(harness_kafka *k, const char *topic,
                                   size_t expect, int timeout_ms, size_t *n)
{
    static unsigned group_seq;
    char errstr[512], group[64];
    *n = 0;
    int64_t deadline = now_ms() + timeout_ms;

    /* consumer_poll needs a group.id; with assign() (no subscribe) the
     * consumer never joins the group and commits nothing. */
    snprintf(group, sizeof group, "harness-%d-%u", (int)getpid(), group_seq++);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    harness_kafka_quiet(conf);
    if (conf_set(conf, "bootstrap.servers", k->bootstrap) ||
        conf_set(conf, "group.id", group) ||
        conf_set(conf, "enable.auto.commit", "false") ||
        conf_set(conf, "enable.auto.offset.store", "false") ||
        conf_set(conf, "enable.partition.eof", "true") ||
        conf_set(conf, "auto.offset.reset", "earliest")) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr,
                                  sizeof errstr);
    if (!rk) {
        fail("rd_kafka_new: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int pcnt = topic_partitions(rk, rkt, timeout_ms);
    size_t cap = expect ? expect : 64, cnt = 0;
    harness_msg *msgs = calloc(cap, sizeof *msgs);
    bool *at_eof = calloc(pcnt > 0 ? (size_t)pcnt : 1, sizeof *at_eof);
    if (!msgs || !at_eof) {
        fail("out of memory");
        abort();
    }
    if (pcnt > 0) {
        rd_kafka_topic_partition_list_t *parts =
            rd_kafka_topic_partition_list_new(pcnt);
        for (int p = 0; p < pcnt; p++)
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (err) {
            fail("assign %s: %s", topic, rd_kafka_err2str(err));
            pcnt = -1;
        }
    }
    int neof = 0;
    char last_err[256] = "";
    while (pcnt > 0 && (expect == 0 || cnt < expect) &&
           !(expect == 0 && neof == pcnt)) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            fail("consume %s: %zu of %zu%s messages after %d ms%s%s", topic,
                 cnt, expect, expect ? "" : " (until the end)", timeout_ms,
                 *last_err ? ", last error: " : "", last_err);
            break;
        }
        rd_kafka_message_t *m =
            rd_kafka_consumer_poll(rk, left < 100 ? (int)left : 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < pcnt &&
                !at_eof[m->partition]) {
                at_eof[m->partition] = true;
                neof++;
            }
        } else if (m->err) {
            snprintf(last_err, sizeof last_err, "%s",
                     rd_kafka_message_errstr(m));
        } else {
            if (m->partition >= 0 && m->partition < pcnt &&
                at_eof[m->partition]) {
                at_eof[m->partition] = false;
                neof--;
            }
            if (cnt == cap) {
                harness_msg *nm = realloc(msgs, 2 * cap * sizeof *msgs);
                if (!nm) {
                    fail("out of memory");
                    abort();
                }
                msgs = nm;
                cap *= 2;
            }
            msg_copy(&msgs[cnt++], m);
        }
        rd_kafka_message_destroy(m);
    }
    free(at_eof);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (pcnt <= 0) {
        harness_msgs_free(msgs, cnt);
        return NULL;
    }
    qsort(msgs, cnt, sizeof *msgs, msg_cmp);
    *n = cnt;
    return msgs;
}

const char *harness_msg_header(const harness_msg *m, const char *name)
{
    for (size_t i = 0; i < m->nheaders; i++)
        if (strcmp(m->hname[i], name) == 0)
            return m->hvalue[i];
    return NULL;
}

void harness_msgs_free(harness_msg *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++) {
        free(m[i].key);
        free(m[i].value);
        for (size_t h = 0; h < m[i].nheaders; h++) {
            free(m[i].hname[h]);
            free(m[i].hvalue[h]);
        }
        free(m[i].hname);
        free(m[i].hvalue);
    }
    free(m);
}

void harness_kafka_stop(harness_kafka *k)
{
    if (!k)
        return;
    if (k->producer) {
        /* Undelivered messages would make rd_kafka_destroy() retry them
         * until message.timeout.ms when a test left brokers down. */
        rd_kafka_purge(k->producer,
                       RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(k->producer, 1000);
        rd_kafka_destroy(k->producer);
    }
    if (k->mock)
        rd_kafka_mock_cluster_destroy(k->mock);
    if (k->owner)
        rd_kafka_destroy(k->owner);
    if (k->dir) {
        /* A broker that will not stop is SIGKILLed by the script, and
         * fails the command: only worth a line. */
        kafka_sh(k, "stop");
        harness_rmtree(k->dir);
        free(k->dir);
    }
    free(k->bootstrap);
    free(k);
}

/* ------------------------------------------------------------------ */
/* The daemon                                                           */
/* ------------------------------------------------------------------ */

struct harness_daemon {
    pid_t pid;
    bool exited;
    int status;
    char *dir;
    char *config;   /* NULL without one */
    char *log;
};

static void daemon_free(harness_daemon *d)
{
    harness_rmtree(d->dir);
    free(d->dir);
    free(d->config);
    free(d->log);
    free(d);
}

harness_daemon *harness_daemon_start(const char *config_text)
{
    return harness_daemon_start_args(config_text, NULL);
}

harness_daemon *harness_daemon_start_args(const char *config_text,
                                          const char *const *extra_args)
{
    const char *bin = getenv("ENGAGED_BIN");
    if (!bin || !*bin)
        bin = "build/engaged";
    harness_daemon *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->dir = harness_tmpdir();
    if (!d->dir) {
        free(d);
        return NULL;
    }
    d->log = xasprintf("%s/daemon.log", d->dir);
    if (config_text) {
        d->config = xasprintf("%s/engaged.conf", d->dir);
        if (harness_write_file(d->config, config_text, strlen(config_text))) {
            daemon_free(d);
            return NULL;
        }
    }
    size_t nextra = 0;
    while (extra_args && extra_args[nextra])
        nextra++;
    char **argv = calloc(nextra + 4, sizeof *argv);
    if (!argv) {
        daemon_free(d);
        return NULL;
    }
    size_t a = 0;
    argv[a++] = (char *)(uintptr_t)bin;
    if (d->config) {
        argv[a++] = (char *)"-c";
        argv[a++] = d->config;
    }
    for (size_t i = 0; i < nextra; i++)
        argv[a++] = (char *)(uintptr_t)extra_args[i];
    argv[a] = NULL;

    int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd == -1) {
        fail("cannot create %s: %s", d->log, strerror(errno));
        free(argv);
        daemon_free(d);
        return NULL;
    }
    d->pid = harness_spawn(argv, fd);
    int e = errno;
    close(fd);
    free(argv);
    if (d->pid == -1) {
        fail("cannot execute %s: %s (set ENGAGED_BIN, or run from the "
             "repository root after make)", bin, strerror(e));
        daemon_free(d);
        return NULL;
    }
    return d;
}

pid_t harness_daemon_pid(const harness_daemon *d)
{
    return d->pid;
}

const char *harness_daemon_config_path(const harness_daemon *d)
{
    return d->config;
}

const char *harness_daemon_dir(const harness_daemon *d)
{
    return d->dir;
}

int harness_daemon_signal(harness_daemon *d, int sig)
{
    /* Once reaped, the pid may belong to someone else. */
    if (d->exited)
        return -1;
    return kill(d->pid, sig) == 0 ? 0 : -1;
}

int harness_daemon_wait(harness_daemon *d, int timeout_ms, int *status)
{
    if (!d->exited && harness_reap(d->pid, timeout_ms, &d->status) == 0)
        d->exited = true;
    if (d->exited && status)
        *status = d->status;
    return d->exited ? 0 : -1;
}

char *harness_daemon_log(const harness_daemon *d)
{
    char *s = harness_read_file(d->log, NULL);
    return s ? s : xstrdup("");
}

int harness_daemon_wait_log(harness_daemon *d, const char *needle,
                            int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        /* Check exit before reading, so the last read sees all output. */
        bool gone = harness_daemon_wait(d, 0, NULL) == 0;
        char *log = harness_daemon_log(d);
        bool found = strstr(log, needle) != NULL;
        if (found) {
            free(log);
            return 0;
        }
        bool late = now_ms() >= deadline;
        if (gone || late) {
            size_t len = strlen(log);
            fail("daemon log has no \"%s\" %s; the log%s:\n%s", needle,
                 gone ? "and the daemon exited" : "in time",
                 len > 4000 ? "'s end" : "",
                 len > 4000 ? log + len - 4000 : log);
            free(log);
            return -1;
        }
        free(log);
        nap(POLL_MS);
    }
}

static int count_in(const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = strstr(hay, needle); p && len;
         p = strstr(p + len, needle))
        n++;
    return n;
}

int harness_daemon_log_count(const harness_daemon *d, const char *needle)
{
    char *log = harness_daemon_log(d);
    int n = count_in(log, needle);
    free(log);
    return n;
}

int harness_daemon_wait_log_count(harness_daemon *d, const char *needle,
                                  int count, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        bool gone = harness_daemon_wait(d, 0, NULL) == 0;
        char *log = harness_daemon_log(d);
        int n = count_in(log, needle);
        if (n >= count) {
            free(log);
            return 0;
        }
        if (gone || now_ms() >= deadline) {
            size_t len = strlen(log);
            fail("daemon log has \"%s\" %d times, not %d, %s; the log%s:\n%s",
                 needle, n, count,
                 gone ? "and the daemon exited" : "in time",
                 len > 4000 ? "'s end" : "",
                 len > 4000 ? log + len - 4000 : log);
            free(log);
            return -1;
        }
        free(log);
        nap(POLL_MS);
    }
}

int harness_http_get(int port, const char *path, char **body)
{
    if (body)
        *body = NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A daemon that never answers must not hang the test. */
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == -1) {
        close(fd);
        return -1;
    }
    char *req = xasprintf("GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n",
                          path);
    size_t len = strlen(req);
    ssize_t w = write(fd, req, len);
    free(req);
    if (w != (ssize_t)len) {
        close(fd);
        return -1;
    }
    char *resp = read_all(fd, NULL);
    close(fd);
    if (!resp)
        return -1;
    int status = -1;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    if (body) {
        char *b = strstr(resp, "\r\n\r\n");
        *body = xstrdup(b ? b + 4 : "");
    }
    free(resp);
    return status;
}

void harness_daemon_stop(harness_daemon *d)
{
    if (!d)
        return;
    if (!d->exited) {
        harness_terminate(d->pid, &d->status);
        d->exited = true;
    }
    daemon_free(d);
}
