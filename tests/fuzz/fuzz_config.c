/*
 * libFuzzer target for config_load (issue 5, "Fuzzing").  `make fuzz` builds
 * it with -fsanitize=fuzzer,address,undefined; tests/test_fuzz_replay.c
 * replays its seed corpus (tests/fuzz/corpus/config/) in the plain build.
 *
 * Input: the whole configuration file.  config_load() takes a path, so the
 * bytes go to a memfd read back through /proc/self/fd/N: nothing touches the
 * disk.  A config that loads is freed (ASan's leak check sees what is not);
 * one that fails must have said why, each error line starting with FILE.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Invariant broken: abort, so that libFuzzer keeps the input as a crash.
 * tests/test_fuzz_replay.c includes this file with its own CHECK. */
#ifndef CHECK
#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond))                                                        \
            abort();                                                        \
    } while (0)
#endif

static int fd = -1;
static char path[64];

/* Checks what a successful load promises (config.h). */
static void check_config(const config *cfg)
{
    CHECK(cfg->path != NULL && strcmp(cfg->path, path) == 0);
    CHECK(cfg->ntopics >= 1 && cfg->ntopics <= CONFIG_MAX_TOPICS);
    CHECK(cfg->ntiers >= 1 && cfg->ntiers <= CONFIG_MAX_TIERS);
    CHECK(cfg->tiers[0].min_followers == 0);
    for (size_t i = 1; i < cfg->ntiers; i++)
        CHECK(cfg->tiers[i - 1].min_followers < cfg->tiers[i].min_followers);
    CHECK(cfg->nwindows >= 1 && cfg->nwindows <= CONFIG_MAX_WINDOWS);
    for (size_t i = 0; i < cfg->nwindows; i++) {
        CHECK(cfg->windows_ms[i] > 0 && cfg->windows_ms[i] % 60000 == 0);
        CHECK(i == 0 || cfg->windows_ms[i - 1] < cfg->windows_ms[i]);
    }
    CHECK(cfg->http_port >= 0 && cfg->http_port <= 65535);
    for (size_t i = 0; i < cfg->nkafka_props; i++)
        CHECK(cfg->kafka_props[i].key != NULL &&
              cfg->kafka_props[i].value != NULL);
    for (size_t i = 0; i < cfg->ntiers; i++)
        CHECK(config_tier_index(cfg, cfg->tiers[i].name) >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("fuzz.conf", 0);
        CHECK(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);

    char errbuf[4096];
    memset(errbuf, 0xA5, sizeof errbuf);
    /* A small buffer now and then, for the truncation of the error list. */
    size_t errsize = size % 7 == 0 ? 40 : sizeof errbuf;
    config *cfg = config_load(path, errbuf, errsize);
    CHECK(memchr(errbuf, '\0', errsize) != NULL);
    if (cfg == NULL) {
        /* Errors that do not fit are dropped whole, so a small buffer may
         * stay empty; what is there starts with the file's name. */
        CHECK(errbuf[0] != '\0' || errsize < sizeof errbuf);
        CHECK(errbuf[0] == '\0' ||
              strncmp(errbuf, path, strlen(path)) == 0);
    } else {
        CHECK(errbuf[0] == '\0');
        check_config(cfg);
        config_free(cfg);
    }
    return 0;
}
