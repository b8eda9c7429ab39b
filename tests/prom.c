#include "prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *prom_parse(const char *text, size_t len)
{
    char path[] = "/tmp/engaged-test-prom-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("prom: mkstemp");
        return NULL;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w <= 0) {
            perror("prom: write");
            close(fd);
            unlink(path);
            return NULL;
        }
        off += (size_t)w;
    }
    close(fd);
    const char *root = getenv("ENGAGED_ROOT");
    const char *python = getenv("ENGAGED_PYTHON");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/promparse.py' '%s'",
             python && *python ? python : "/usr/bin/python3",
             root && *root ? root : ".", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        perror("prom: popen");
        unlink(path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *out = malloc(cap);
    size_t r;
    while (out != NULL && (r = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *bigger = realloc(out, cap * 2);
            if (bigger == NULL)
                free(out);
            out = bigger;
            cap *= 2;
        }
    }
    int status = pclose(p);
    unlink(path);
    if (out == NULL)
        return NULL;
    out[n] = 0;
    if (status != 0) {
        fprintf(stderr, "prom: %s exited with status %d\n", cmd,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        free(out);
        return NULL;
    }
    return out;
}

int prom_has_line(const char *listing, const char *line)
{
    size_t len = strlen(line);
    for (const char *p = listing; (p = strstr(p, line)) != NULL; p++)
        if ((p == listing || p[-1] == '\n') && (p[len] == '\n' || p[len] == 0))
            return 1;
    return 0;
}
