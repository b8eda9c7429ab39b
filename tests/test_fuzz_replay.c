/*
 * fuzz_replay: the libFuzzer targets' inputs replayed in the plain build
 * (issue 5, "the test suite replays the corpus").  The targets themselves
 * (tests/fuzz/fuzz_event.c, tests/fuzz/fuzz_config.c) are included here
 * with CHECK turned into a Criterion assertion that names the file, so the
 * replay checks exactly what the fuzzer checks: event_parse returns a
 * reason code with a terminated detail and accepts only events that keep
 * event.h's promises; config_load returns a config that keeps config.h's
 * promises, or NULL and errors that start with the file's name.
 *
 * Replayed: both seed corpora (tests/fuzz/corpus/), the event corpora of
 * the unit and hostile tests (tests/corpus/), the reference configuration,
 * and any reproducers left by `make fuzz` (build/fuzz/crash-<target>/) or
 * kept under tests/fuzz/crash-<target>/.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

/* The input being replayed, for the assertion messages. */
static const char *replaying = "";

#define CHECK(cond) cr_assert(cond, "%s: %s fails", replaying, #cond)

#define LLVMFuzzerTestOneInput fuzz_event_one
#include "fuzz/fuzz_event.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput fuzz_config_one
#include "fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput

typedef struct file_list {
    char **paths;
    size_t n, cap;
} file_list;

static char *under_root(const char *rel)
{
    const char *root = getenv("ENGAGED_ROOT");
    if (root == NULL || *root == '\0')
        root = ".";
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", root, rel);
    return p;
}

static void list_add(file_list *l, const char *p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->paths = realloc(l->paths, l->cap * sizeof *l->paths);
        cr_assert_not_null(l->paths);
    }
    l->paths[l->n] = strdup(p);
    cr_assert_not_null(l->paths[l->n]);
    l->n++;
}

static int visible(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Adds every regular file under `p` (or `p` itself), sorted; nothing when
 * it does not exist.  Returns the number added. */
static size_t list_tree(file_list *l, const char *p)
{
    struct stat st;
    if (stat(p, &st) != 0)
        return 0;
    if (S_ISREG(st.st_mode)) {
        list_add(l, p);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return 0;
    struct dirent **ents;
    int n = scandir(p, &ents, visible, alphasort);
    cr_assert_geq(n, 0, "cannot read %s", p);
    size_t added = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(p) + strlen(ents[i]->d_name) + 2;
        char *child = malloc(len);
        cr_assert_not_null(child);
        snprintf(child, len, "%s/%s", p, ents[i]->d_name);
        added += list_tree(l, child);
        free(child);
        free(ents[i]);
    }
    free(ents);
    return added;
}

static size_t list_rel(file_list *l, const char *rel)
{
    char *p = under_root(rel);
    size_t n = list_tree(l, p);
    free(p);
    return n;
}

static void list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
}

static void replay(const file_list *l, int (*one)(const uint8_t *, size_t))
{
    for (size_t i = 0; i < l->n; i++) {
        size_t len;
        char *data = harness_read_file(l->paths[i], &len);
        cr_assert_not_null(data, "cannot read %s", l->paths[i]);
        replaying = l->paths[i];
        one((const uint8_t *)data, len);
        free(data);
    }
    replaying = "";
}

Test(fuzz_replay, event_corpora_give_a_reason_and_keep_the_promises)
{
    file_list l = {0};
    cr_assert_gt(list_rel(&l, "tests/fuzz/corpus/event"), 10,
                 "the event seed corpus is missing");
    list_rel(&l, "tests/corpus/events");
    list_rel(&l, "tests/corpus/hostile");
    replay(&l, fuzz_event_one);
    list_free(&l);
}

Test(fuzz_replay, config_corpus_loads_or_says_why)
{
    file_list l = {0};
    cr_assert_gt(list_rel(&l, "tests/fuzz/corpus/config"), 3,
                 "the config seed corpus is missing");
    cr_assert_eq(list_rel(&l, "config/engaged.conf"), 1);
    replay(&l, fuzz_config_one);
    list_free(&l);
}

/* The seeds that are meant to load do, and errors.conf does not. */
Test(fuzz_replay, config_seeds_are_what_their_names_say)
{
    static const char *const good[] = {"reference.conf", "small.conf",
                                       "decay_conflict.conf", "empty.conf"};
    char errbuf[4096];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/fuzz/corpus/config/%s", good[i]);
        char *p = under_root(rel);
        config *cfg = config_load(p, errbuf, sizeof errbuf);
        cr_expect_not_null(cfg, "%s does not load:\n%s", p, errbuf);
        config_free(cfg);
        free(p);
    }
    char *p = under_root("tests/fuzz/corpus/config/errors.conf");
    cr_assert_null(config_load(p, errbuf, sizeof errbuf));
    cr_assert_gt(strlen(errbuf), 0);
    free(p);
}

Test(fuzz_replay, crash_reproducers_no_longer_fail)
{
    file_list ev = {0}, cf = {0};
    list_rel(&ev, "tests/fuzz/crash-event");
    list_rel(&ev, "build/fuzz/crash-event");
    list_rel(&cf, "tests/fuzz/crash-config");
    list_rel(&cf, "build/fuzz/crash-config");
    replay(&ev, fuzz_event_one);
    replay(&cf, fuzz_config_one);
    list_free(&ev);
    list_free(&cf);
}
