/*
 * amalert: an engaged alert as an Alertmanager postable alert (amalert.h).
 * Alerts are rare, so this goes through jansson for correctness, as
 * alert.c does.
 */
#include "amalert.h"

#include "timefmt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kinds that never send a resolved message (schemas/alert.schema.json:
 * their status is always "firing"; follower_jump: issue 18). */
static const char *const one_shot[] = {"brand_conflict", "tier_change",
                                       "follower_jump"};

/* The alert's object and its string members, borrowed from root. */
struct parsed {
    json_t *root;
    const char *alert_id, *kind, *status, *starts_at, *ends_at, *summary;
    json_t *labels, *details;
};

static const char *member_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int parse(const char *json, size_t len, struct parsed *p, char *errstr,
                 size_t errstr_size)
{
    json_error_t jerr;
    memset(p, 0, sizeof *p);
    p->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (p->root == NULL || !json_is_object(p->root)) {
        snprintf(errstr, errstr_size, "the alert is not a JSON object: %s",
                 p->root == NULL ? jerr.text : "another type");
        json_decref(p->root);
        p->root = NULL;
        return -1;
    }
    p->alert_id = member_str(p->root, "alert_id");
    p->kind = member_str(p->root, "kind");
    p->status = member_str(p->root, "status");
    p->starts_at = member_str(p->root, "starts_at");
    p->ends_at = member_str(p->root, "ends_at");
    p->summary = member_str(p->root, "summary");
    p->labels = json_object_get(p->root, "labels");
    p->details = json_object_get(p->root, "details");
    const char *missing = p->alert_id == NULL    ? "alert_id"
                          : p->kind == NULL      ? "kind"
                          : p->status == NULL    ? "status"
                          : p->starts_at == NULL ? "starts_at"
                          : !json_is_object(p->labels) ? "labels"
                                                       : NULL;
    if (missing == NULL && strcmp(p->status, "resolved") == 0 &&
        p->ends_at == NULL)
        missing = "ends_at";
    if (missing != NULL) {
        snprintf(errstr, errstr_size, "the alert has no %s", missing);
    } else if (strlen(p->alert_id) == 0 ||
               strlen(p->alert_id) > AMALERT_ID_MAX) {
        snprintf(errstr, errstr_size, "the alert's alert_id is empty or "
                 "longer than %d bytes", AMALERT_ID_MAX);
    } else if (strcmp(p->status, "firing") != 0 &&
               strcmp(p->status, "resolved") != 0) {
        snprintf(errstr, errstr_size, "the alert's status \"%s\" is neither "
                 "firing nor resolved", p->status);
    } else {
        return 0;
    }
    json_decref(p->root);
    p->root = NULL;
    return -1;
}

static void fill_info(const struct parsed *p, amalert_info *info)
{
    snprintf(info->alert_id, sizeof info->alert_id, "%s", p->alert_id);
    info->resolved = strcmp(p->status, "resolved") == 0;
    info->resolves = true;
    for (size_t i = 0; i < sizeof one_shot / sizeof one_shot[0]; i++)
        if (strcmp(p->kind, one_shot[i]) == 0)
            info->resolves = false;
}

int amalert_info_read(const char *json, size_t len, amalert_info *info,
                      char *errstr, size_t errstr_size)
{
    struct parsed p;
    if (parse(json, len, &p, errstr, errstr_size) < 0)
        return -1;
    fill_info(&p, info);
    json_decref(p.root);
    return 0;
}

/* json_object_set_new() that remembers a failure in *ok. */
static void set(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(o, key, v) < 0)
        *ok = false;
}

int amalert_postable(const char *json, size_t len, int64_t now_ms,
                     int64_t validity_ms, const char *generator_url,
                     buf *out, char *errstr, size_t errstr_size)
{
    struct parsed p;
    if (parse(json, len, &p, errstr, errstr_size) < 0)
        return -1;
    amalert_info info;
    fill_info(&p, &info);

    bool ok = true;
    json_t *am = json_object();
    json_t *labels = json_object();
    json_t *ann = json_object();
    ok = am != NULL && labels != NULL && ann != NULL;
    /* The alert's labels as they are (schema: alertname, creator_id, tier,
     * severity, sector for brand_conflict), and alert_id. */
    const char *key;
    json_t *v;
    json_object_foreach(p.labels, key, v) {
        if (json_is_string(v) && json_string_length(v) > 0)
            set(labels, key, json_string(json_string_value(v)), &ok);
    }
    set(labels, "alert_id", json_string(p.alert_id), &ok);
    if (p.summary != NULL)
        set(ann, "summary", json_string(p.summary), &ok);
    if (p.details != NULL) {
        /* 15 digits: the numbers as alert.c wrote them (0.18, not
         * 0.17999999999999999). */
        char *d = json_dumps(p.details, JSON_COMPACT | JSON_ENCODE_ANY |
                                            JSON_REAL_PRECISION(15));
        set(ann, "details", d ? json_string(d) : NULL, &ok);
        free(d);
    }

    char ends[40];
    if (info.resolved) {
        snprintf(ends, sizeof ends, "%s", p.ends_at);
    } else {
        /* Later than startsAt even for an event time ahead of the wall
         * clock (within [metrics] max_future): Alertmanager refuses an
         * alert that ends before it starts. */
        int64_t starts = now_ms;
        if (timefmt_parse_rfc3339(p.starts_at, strlen(p.starts_at),
                                  &starts) < 0 || starts < now_ms)
            starts = now_ms;
        timefmt_format_rfc3339(starts + validity_ms, ends, sizeof ends);
    }
    if (labels != NULL)
        json_incref(labels);
    if (ann != NULL)
        json_incref(ann);
    set(am, "labels", labels, &ok);
    set(am, "annotations", ann, &ok);
    set(am, "startsAt", json_string(p.starts_at), &ok);
    set(am, "endsAt", json_string(ends), &ok);
    if (generator_url != NULL && generator_url[0] != '\0')
        set(am, "generatorURL", json_string(generator_url), &ok);
    json_decref(labels);
    json_decref(ann);

    char *text = ok ? json_dumps(am, JSON_COMPACT) : NULL;
    json_decref(am);
    json_decref(p.root);
    if (text == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    buf_append_str(out, text);
    free(text);
    if (buf_failed(out)) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}
