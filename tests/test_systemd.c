/*
 * Tests of the systemd unit, the man pages and `make install`:
 *   - `systemd-analyze security --offline=true` rates the unit 2.0 or less;
 *   - `systemd-analyze verify` has nothing to say about it.  verify checks
 *     that ExecStart's program exists and that the Documentation= man pages
 *     can be found, so it runs on a copy whose ExecStart points at the
 *     built binary ($ENGAGED_BIN, else build/engaged, else /bin/true: only
 *     its being executable matters) and with MANPATH at a copy of man/;
 *   - the man pages render without a groff or man warning, and
 *     engaged.conf(5) documents every key of config/engaged.conf;
 *   - `make install DESTDIR=...` puts every file in place and never
 *     overwrites an existing engaged.conf.
 * Paths are relative to $ENGAGED_ROOT (default: the current directory).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(systemd, .timeout = 300);

static const char *root(void)
{
    const char *r = getenv("ENGAGED_ROOT");
    return r && *r ? r : ".";
}

/* Runs `cmd` with sh; *out gets stdout (malloc'd).  Returns the exit code. */
static int run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "popen %s: %s", cmd, strerror(errno));
    size_t cap = 8192, n = 0, r;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    while ((r = fread(text + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (n + 1 == cap) {
            text = realloc(text, cap *= 2);
            cr_assert_not_null(text);
        }
    }
    text[n] = 0;
    int status = pclose(p);
    *out = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot read %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = 0;
    fclose(f);
    return text;
}

static char *make_tmpdir(void)
{
    char *dir = strdup("/tmp/engaged-test-systemd-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    return dir;
}

static void remove_tree(char *dir)
{
    char cmd[512], *out;
    if (getenv("HARNESS_KEEP") == NULL) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        run(cmd, &out);
        free(out);
    } else {
        fprintf(stderr, "kept %s\n", dir);
    }
    free(dir);
}

Test(systemd, exposure_is_at_most_2)
{
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd,
             "systemd-analyze security --offline=true --no-pager "
             "'%s/systemd/engaged.service' 2>&1",
             root());
    int rc = run(cmd, &out);
    const char *key = "Overall exposure level for engaged.service: ";
    const char *p = strstr(out, key);
    cr_assert_not_null(p, "exit %d, no exposure line:\n%s", rc, out);
    double level = strtod(p + strlen(key), NULL);
    cr_assert(level <= 2.0, "exposure %.1f > 2.0:\n%s", level, out);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
}

static const char *engaged_bin(void)
{
    static char path[4096];
    const char *bin = getenv("ENGAGED_BIN");
    if (bin && *bin && access(bin, X_OK) == 0)
        return bin;
    snprintf(path, sizeof path, "%s/build/engaged", root());
    if (access(path, X_OK) == 0)
        return path;
    return "/bin/true";
}

Test(systemd, verify_is_clean)
{
    char *dir = make_tmpdir();
    char *cmd, *out;
    cr_assert(asprintf(&cmd,
             "set -e; mkdir -p '%1$s/man/man8' '%1$s/man/man5'; "
             "cp '%2$s/man/engaged.8' '%1$s/man/man8/'; "
             "cp '%2$s/man/engaged.conf.5' '%1$s/man/man5/'; "
             "sed 's|^ExecStart=/usr/local/bin/engaged |ExecStart=%3$s |' "
             "'%2$s/systemd/engaged.service' > '%1$s/engaged.service'; "
             "grep -q '^ExecStart=%3$s -c /etc/engaged/engaged.conf$' "
             "'%1$s/engaged.service'",
             dir, root(), engaged_bin()) > 0);
    cr_assert_eq(run(cmd, &out), 0, "preparing the copy: %s", out);
    free(out);
    free(cmd);
    cr_assert(asprintf(&cmd,
             "MANPATH='%1$s/man' systemd-analyze verify '%1$s/engaged.service' "
             "2>&1",
             dir) > 0);
    int rc = run(cmd, &out);
    free(cmd);
    cr_assert_str_eq(out, "", "systemd-analyze verify said:\n%s", out);
    cr_assert_eq(rc, 0);
    free(out);
    remove_tree(dir);
}

Test(systemd, unit_declares_what_engaged_relies_on)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/systemd/engaged.service", root());
    char *unit = read_file(path);
    static const char *const lines[] = {
        "Type=notify",
        "NotifyAccess=main",
        "ExecStart=/usr/local/bin/engaged -c /etc/engaged/engaged.conf",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "WatchdogSec=30s",
        "DynamicUser=yes",
        "ConfigurationDirectory=engaged",
        "LoadCredential=redis-password:/etc/engaged/redis-password",
        "LoadCredential=kafka-sasl-password:/etc/engaged/kafka-sasl-password",
        "LoadCredential=http-token:/etc/engaged/http-token",
        /* systemd 252 fails the start when a LoadCredential= file is
         * missing, unless SetCredential= gives the same id a default. */
        "SetCredential=redis-password:\\n",
        "SetCredential=kafka-sasl-password:\\n",
        "SetCredential=http-token:\\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char want[256];
        snprintf(want, sizeof want, "\n%s\n", lines[i]);
        cr_assert_not_null(strstr(unit, want), "the unit lacks %s", lines[i]);
    }
    free(unit);
}

static void expect_clean_man(const char *page)
{
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd,
             "MANWIDTH=80 man --warnings -l '%s/man/%s' 2>&1 >/dev/null",
             root(), page);
    int rc = run(cmd, &out);
    cr_assert_str_eq(out, "", "man %s warned:\n%s", page, out);
    cr_assert_eq(rc, 0);
    free(out);
}

Test(systemd, man_pages_render_without_warnings)
{
    expect_clean_man("engaged.8");
    expect_clean_man("engaged.conf.5");
}

Test(systemd, engaged_8_covers_signals_exit_status_and_environment)
{
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd,
             "MANWIDTH=200 man -l '%s/man/engaged.8' 2>/dev/null | col -b",
             root());
    cr_assert_eq(run(cmd, &out), 0);
    static const char *const words[] = {
        "SYNOPSIS", "SIGNALS", "EXIT STATUS", "ENVIRONMENT", "FILES",
        "SEE ALSO", "--check-config", "--version", "--help", "SIGTERM",
        "SIGINT", "SIGHUP", "NOTIFY_SOCKET", "WATCHDOG_USEC",
        "CREDENTIALS_DIRECTORY", "/etc/engaged/engaged.conf",
        "engaged.conf(5)", "/metrics", "/healthz", "/readyz",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cr_assert_not_null(strstr(out, words[i]), "engaged(8) lacks %s",
                           words[i]);
    free(out);
}

/* Every "key = value" line of config/engaged.conf (sections [tiers] aside,
 * whose keys are tier names) must appear in engaged.conf(5) as \fBkey\fR. */
Test(systemd, engaged_conf_5_documents_every_key)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config/engaged.conf", root());
    char *conf = read_file(path);
    snprintf(path, sizeof path, "%s/man/engaged.conf.5", root());
    char *man = read_file(path);
    char section[64] = "";
    int checked = 0;
    for (char *line = strtok(conf, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '[') {
            snprintf(section, sizeof section, "%.*s",
                     (int)strcspn(line, "]") + 1, line);
            char want[80];
            snprintf(want, sizeof want, ".SS \"%s\"", section);
            cr_assert_not_null(strstr(man, want), "no %s in engaged.conf(5)",
                               want);
            continue;
        }
        if (*line == ';' || *line == '#' || strchr(line, '=') == NULL)
            continue;
        size_t n = strcspn(line, " \t=");
        if (strcmp(section, "[tiers]") == 0 &&
            strncmp(line, "hysteresis", n) != 0)
            continue;
        /* sector.NAME, brand.NAME and limit.TIER are documented as
         * patterns. */
        if ((strcmp(section, "[conflict]") == 0 &&
             (strncmp(line, "sector.", 7) == 0 ||
              strncmp(line, "brand.", 6) == 0)) ||
            (strcmp(section, "[saturation]") == 0 &&
             strncmp(line, "limit.", 6) == 0))
            n = strcspn(line, ".") + 1;
        char want[160];
        snprintf(want, sizeof want, "\\fB%.*s\\fR", (int)n, line);
        cr_assert_not_null(strstr(man, want),
                           "engaged.conf(5) does not document %s %.*s",
                           section, (int)n, line);
        checked++;
    }
    cr_assert(checked >= 20, "only %d keys found", checked);
    /* The sections being added with alerts and the HTTP endpoint. */
    static const char *const more[] = {
        ".SS \"[decay]\"", ".SS \"[conflict]\"", ".SS \"[alerts]\"",
        ".SS \"[http]\"", "\\fBlisten\\fR", "\\fBstream_maxlen\\fR",
        "\\fBresolve_ratio\\fR", "\\fBmin_baseline\\fR",
        "\\fBsasl.password_file\\fR",
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        cr_assert_not_null(strstr(man, more[i]), "engaged.conf(5) lacks %s",
                           more[i]);
    free(conf);
    free(man);
}

static int file_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    return (int)(st.st_mode & 07777);
}

/* Runs make install into dir; extra: more make arguments. */
static void make_install(const char *dir, const char *extra)
{
    char cmd[8192], build[4096] = "", *out;
    const char *bin = getenv("ENGAGED_BIN");
    if (bin && *bin) {
        /* Install what the tests were built with, without rebuilding. */
        const char *slash = strrchr(bin, '/');
        if (slash != NULL)
            snprintf(build, sizeof build, "BUILD='%.*s'", (int)(slash - bin),
                     bin);
    }
    /* A make running these tests passes its jobserver in MAKEFLAGS; the
     * inner make must not try to use it. */
    snprintf(cmd, sizeof cmd,
             "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "
             "-C '%s' install DESTDIR='%s' %s %s 2>&1",
             root(), dir, build, extra);
    int rc = run(cmd, &out);
    cr_assert_eq(rc, 0, "make install failed:\n%s", out);
    free(out);
}

static void install_with_prefix_usr(void);

Test(systemd, make_install_places_every_file_keeps_the_config_and_follows_prefix)
{
    char *dir = make_tmpdir();
    char p[4096];
    make_install(dir, "");
    snprintf(p, sizeof p, "%s/usr/local/bin/engaged", dir);
    cr_assert_eq(file_mode(p), 0755, "%s", p);
    snprintf(p, sizeof p, "%s/usr/local/lib/systemd/system/engaged.service",
             dir);
    cr_assert_eq(file_mode(p), 0644, "%s", p);
    char *unit = read_file(p);
    cr_assert_not_null(strstr(unit, "\nExecStart=/usr/local/bin/engaged -c "
                                    "/etc/engaged/engaged.conf\n"));
    free(unit);
    snprintf(p, sizeof p, "%s/usr/local/share/man/man8/engaged.8", dir);
    cr_assert_eq(file_mode(p), 0644, "%s", p);
    snprintf(p, sizeof p, "%s/usr/local/share/man/man5/engaged.conf.5", dir);
    cr_assert_eq(file_mode(p), 0644, "%s", p);
    snprintf(p, sizeof p, "%s/etc/engaged/engaged.conf", dir);
    cr_assert_eq(file_mode(p), 0644, "%s", p);
    char ref[4096];
    snprintf(ref, sizeof ref, "%s/config/engaged.conf", root());
    char *a = read_file(p), *b = read_file(ref);
    cr_assert_str_eq(a, b, "the installed config differs from the reference");
    free(a);
    free(b);

    /* An edited config survives a second install. */
    FILE *f = fopen(p, "a");
    cr_assert_not_null(f);
    fputs("; edited by the operator\n", f);
    fclose(f);
    make_install(dir, "");
    a = read_file(p);
    cr_assert_not_null(strstr(a, "; edited by the operator\n"),
                       "make install overwrote an existing engaged.conf");
    free(a);
    remove_tree(dir);
    install_with_prefix_usr();
}

/* Part of the test above: two makes at once could race on build/. */
static void install_with_prefix_usr(void)
{
    char *dir = make_tmpdir();
    char p[4096];
    make_install(dir, "PREFIX=/usr");
    snprintf(p, sizeof p, "%s/usr/bin/engaged", dir);
    cr_assert_eq(file_mode(p), 0755, "%s", p);
    snprintf(p, sizeof p, "%s/usr/lib/systemd/system/engaged.service", dir);
    char *unit = read_file(p);
    cr_assert_not_null(strstr(unit, "\nExecStart=/usr/bin/engaged -c "
                                    "/etc/engaged/engaged.conf\n"),
                       "%s", unit);
    free(unit);
    snprintf(p, sizeof p, "%s/usr/share/man/man8/engaged.8", dir);
    cr_assert_eq(file_mode(p), 0644, "%s", p);
    snprintf(p, sizeof p, "%s/etc/engaged/engaged.conf", dir);
    cr_assert_eq(file_mode(p), 0644, "%s", p);
    remove_tree(dir);
}
