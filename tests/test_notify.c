/*
 * Tests of notify, seen from systemd's side: each test binds its own
 * AF_UNIX datagram socket, points NOTIFY_SOCKET at it, and reads the exact
 * datagrams.  Criterion runs each test in its own process, so setting the
 * environment here does not leak into other tests.
 */
#include "notify.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

TestSuite(notify, .timeout = 30);

static int sock = -1;
static char sock_path[108];

/* Binds a datagram socket at `name` ('@' first: abstract) and exports it. */
static void listen_at(const char *name)
{
    sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(sock >= 0, "socket: %s", strerror(errno));
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(name);
    cr_assert(n < sizeof a.sun_path);
    memcpy(a.sun_path, name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (name[0] == '@')
        a.sun_path[0] = 0; /* abstract namespace */
    else
        snprintf(sock_path, sizeof sock_path, "%s", name);
    cr_assert_eq(bind(sock, (struct sockaddr *)&a, len), 0, "bind %s: %s",
                 name, strerror(errno));
    struct timeval tv = {2, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
}

static void setup(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/engaged-test-notify-%d.sock",
             (int)getpid());
    unlink(path);
    listen_at(path);
    cr_assert_eq(setenv("WATCHDOG_USEC", "2000000", 1), 0);
    unsetenv("WATCHDOG_PID");
}

static void teardown(void)
{
    if (sock >= 0)
        close(sock);
    if (sock_path[0])
        unlink(sock_path);
}

/* The next datagram, NUL-terminated, into a static buffer. */
static const char *next_datagram(void)
{
    static char msg[4096];
    ssize_t n = recv(sock, msg, sizeof msg - 1, 0);
    cr_assert(n >= 0, "no datagram: %s", strerror(errno));
    msg[n] = 0;
    return msg;
}

static void expect_nothing_more(void)
{
    char c;
    ssize_t n = recv(sock, &c, 1, MSG_DONTWAIT);
    cr_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
              "an unexpected datagram");
}

Test(notify, each_state_is_one_exact_datagram, .init = setup,
     .fini = teardown)
{
    cr_assert_eq(notify_ready(), 0);
    cr_assert_str_eq(next_datagram(), "READY=1");
    cr_assert_eq(notify_watchdog(), 0);
    cr_assert_str_eq(next_datagram(), "WATCHDOG=1");
    cr_assert_eq(notify_status("events/s=%d lag=%d creators=%d", 1250, 3, 42), 0);
    cr_assert_str_eq(next_datagram(), "STATUS=events/s=1250 lag=3 creators=42");
    cr_assert_eq(notify_stopping(), 0);
    cr_assert_str_eq(next_datagram(), "STOPPING=1");
    expect_nothing_more();
}

static uint64_t mono_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

Test(notify, reloading_carries_the_monotonic_clock, .init = setup,
     .fini = teardown)
{
    uint64_t before = mono_usec();
    cr_assert_eq(notify_reloading(), 0);
    uint64_t after = mono_usec();
    const char *msg = next_datagram();
    uint64_t usec;
    int end = 0;
    cr_assert_eq(sscanf(msg, "RELOADING=1\nMONOTONIC_USEC=%" SCNu64 "%n", &usec,
                        &end), 1, "%s", msg);
    cr_assert_eq(msg[end], 0, "trailing text: %s", msg);
    cr_assert(usec >= before && usec <= after, "%" PRIu64 " not in [%" PRIu64
              ", %" PRIu64 "]", usec, before, after);
    cr_assert_eq(notify_ready(), 0);
    cr_assert_str_eq(next_datagram(), "READY=1");
}

Test(notify, status_is_kept_on_one_line, .init = setup, .fini = teardown)
{
    cr_assert_eq(notify_status("%s", "line one\nline two\r"), 0);
    cr_assert_str_eq(next_datagram(), "STATUS=line one line two ");
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cr_assert_eq(notify_status("%s", big), 0);
    const char *msg = next_datagram();
    cr_assert_eq(strlen(msg), strlen("STATUS=") + 1024, "length %zu",
                 strlen(msg));
}

Test(notify, abstract_sockets_work)
{
    char name[64];
    snprintf(name, sizeof name, "@engaged-test-notify-%d", (int)getpid());
    listen_at(name);
    cr_assert_eq(notify_ready(), 0);
    cr_assert_str_eq(next_datagram(), "READY=1");
    teardown();
}

Test(notify, without_notify_socket_everything_is_a_noop)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    cr_assert_eq(notify_ready(), 0);
    cr_assert_eq(notify_reloading(), 0);
    cr_assert_eq(notify_status("x=%d", 1), 0);
    cr_assert_eq(notify_watchdog(), 0);
    cr_assert_eq(notify_stopping(), 0);
    cr_assert_eq(notify_watchdog_interval_ms(), 0);
}

Test(notify, a_missing_socket_is_an_error)
{
    setenv("NOTIFY_SOCKET", "/tmp/engaged-test-notify-nonexistent.sock", 1);
    cr_assert_eq(notify_ready(), -1);
    cr_assert_eq(errno, ENOENT);
}

Test(notify, watchdog_interval_is_half_of_watchdog_usec, .init = setup,
     .fini = teardown)
{
    cr_assert_eq(notify_watchdog_interval_ms(), 1000);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    cr_assert_eq(notify_watchdog_interval_ms(), 1000, "WATCHDOG_PID is ours");
    snprintf(pid, sizeof pid, "%d", (int)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    cr_assert_eq(notify_watchdog_interval_ms(), 0, "WATCHDOG_PID is another");
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "30000000", 1);
    cr_assert_eq(notify_watchdog_interval_ms(), 15000);
    setenv("WATCHDOG_USEC", "1", 1);
    cr_assert_eq(notify_watchdog_interval_ms(), 1, "never 0 when enabled");
    setenv("WATCHDOG_USEC", "soon", 1);
    cr_assert_eq(notify_watchdog_interval_ms(), 0);
    unsetenv("WATCHDOG_USEC");
    cr_assert_eq(notify_watchdog_interval_ms(), 0);
    /* The environment is left alone. */
    setenv("WATCHDOG_USEC", "2000000", 1);
    notify_watchdog_interval_ms();
    cr_assert_str_eq(getenv("WATCHDOG_USEC"), "2000000");
    cr_assert_not_null(getenv("NOTIFY_SOCKET"));
}
