/*
 * Tests of page: page_find() for every path, the embedded bytes against the
 * files of daemon/page/ (under $ENGAGED_ROOT, else the current directory),
 * and what the page's files must hold to work under the server's
 * Content-Security-Policy and without anything from outside: no inline
 * script or style, no URL but its own files, and data only through
 * textContent.
 */
#include "page.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(page, .timeout = 30);

/* daemon/page/<name> under the source tree, malloc'd. */
static char *source_path(const char *name)
{
    const char *root = getenv("ENGAGED_ROOT");
    if (root == NULL || *root == 0)
        root = ".";
    size_t n = strlen(root) + strlen(name) + 16;
    char *p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%s/daemon/page/%s", root, name);
    return p;
}

/* The file on disk, malloc'd; asserts it exists. */
static char *source_file(const char *name, size_t *len)
{
    char *path = source_path(name);
    char *text = harness_read_file(path, len);
    cr_assert_not_null(text, "%s cannot be read (ENGAGED_ROOT?)", path);
    free(path);
    return text;
}

/* The asset's bytes as a NUL-terminated string (they hold no NUL). */
static const char *text_of(const char *path)
{
    const page_asset *a = page_find(path);
    cr_assert_not_null(a, "%s is not embedded", path);
    cr_assert_eq(memchr(a->data, 0, a->len), NULL, "%s holds a NUL", path);
    cr_assert_eq(a->data[a->len], 0, "%s is not followed by a NUL", path);
    return (const char *)a->data;
}

Test(page, every_path_finds_its_file_with_its_content_type)
{
    static const struct {
        const char *path, *file, *type;
    } cases[] = {
        {"/", "index.html", "text/html; charset=utf-8"},
        {"/index.html", "index.html", "text/html; charset=utf-8"},
        {"/app.js", "app.js", "text/javascript; charset=utf-8"},
        {"/app.css", "app.css", "text/css; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const page_asset *a = page_find(cases[i].path);
        cr_assert_not_null(a, "%s", cases[i].path);
        cr_expect_str_eq(a->content_type, cases[i].type, "%s", cases[i].path);
        size_t len = 0;
        char *disk = source_file(cases[i].file, &len);
        cr_expect_eq(a->len, len, "%s: %zu bytes embedded, %zu on disk",
                     cases[i].path, a->len, len);
        cr_expect(a->len == len && memcmp(a->data, disk, len) == 0,
                  "%s: the embedded bytes differ from daemon/page/%s",
                  cases[i].path, cases[i].file);
        free(disk);
    }
    cr_expect_eq(page_find("/"), page_find("/index.html"));
    cr_expect_str_eq(page_find("/index.html")->path, "/");
}

Test(page, every_file_of_the_directory_is_embedded_and_nothing_else)
{
    char *dirpath = source_path("");
    DIR *dir = opendir(dirpath);
    cr_assert_not_null(dir, "%s", dirpath);
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/%s", e->d_name);
        const page_asset *a = page_find(path);
        cr_expect_not_null(a, "daemon/page/%s is not embedded", e->d_name);
        size_t len = 0;
        char *disk = source_file(e->d_name, &len);
        cr_expect(a && a->len == len && memcmp(a->data, disk, len) == 0,
                  "daemon/page/%s: the embedded bytes differ", e->d_name);
        free(disk);
        files++;
    }
    closedir(dir);
    free(dirpath);
    cr_expect_eq(page_nassets, files, "%zu assets for %zu files",
                 page_nassets, files);
}

Test(page, unknown_paths_are_null)
{
    static const char *const paths[] = {
        "", "/index", "/INDEX.HTML", "/App.js", "/app.js/", "//", "/./",
        "/../app.js", "/page/app.js", "/daemon/page/app.js", "app.js",
        "/app.js?x=1", "/app%2ejs", "/favicon.ico", "/metrics", "/v1/tiers",
        "/index.html/", "/app.css\n",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        cr_expect_null(page_find(paths[i]), "\"%s\" found", paths[i]);
    cr_expect_null(page_find(NULL));
}

/* The attribute values of `attr="..."` in html, in order, into out[]. */
static size_t attrs(const char *html, const char *attr, char out[][128],
                    size_t max)
{
    size_t n = 0, alen = strlen(attr);
    for (const char *p = html; (p = strstr(p, attr)) != NULL; p += alen) {
        if (p > html && p[-1] != ' ')
            continue;
        if (p[alen] != '=' || p[alen + 1] != '"')
            continue;
        const char *v = p + alen + 2, *end = strchr(v, '"');
        cr_assert_not_null(end);
        cr_assert_lt(n, max);
        snprintf(out[n++], 128, "%.*s", (int)(end - v), v);
    }
    return n;
}

Test(page, the_html_loads_only_its_own_files_and_holds_no_inline_code)
{
    const char *html = text_of("/");
    char urls[16][128];
    size_t n = attrs(html, "src", urls, 16);
    n += attrs(html, "href", urls + n, 16 - n);
    cr_assert_geq(n, 3, "a stylesheet, a script and an icon");
    for (size_t i = 0; i < n; i++) {
        bool own = page_find(urls[i]) != NULL;
        bool data = strncmp(urls[i], "data:", 5) == 0;
        cr_expect(own || data, "index.html loads %s, neither one of its "
                  "files nor data:", urls[i]);
    }
    cr_expect_not_null(strstr(html, "<script src=\"/app.js\""));
    cr_expect_not_null(strstr(html, "href=\"/app.css\""));
    /* Every <script> is empty: CSP script-src 'self' would block the rest. */
    for (const char *p = html; (p = strstr(p, "<script")) != NULL; p++) {
        const char *close = strchr(p, '>');
        cr_assert_not_null(close);
        cr_expect_eq(strncmp(close, "></script>", 10), 0,
                     "an inline script: %.60s", p);
    }
    cr_expect_null(strstr(html, "<style"), "an inline stylesheet");
    cr_expect_null(strstr(html, " style="), "an inline style attribute");
    cr_expect_null(strstr(html, " onclick="), "an inline handler");
    cr_expect_null(strstr(html, " onload="), "an inline handler");
    cr_expect_null(strstr(html, "javascript:"));
}

Test(page, the_script_and_style_fetch_nothing_from_outside)
{
    const char *js = text_of("/app.js"), *css = text_of("/app.css");
    /* The one absolute URL is SVG's namespace, which is a name, not a fetch. */
    const char *p = js;
    while ((p = strstr(p, "http")) != NULL) {
        cr_expect(strncmp(p, "http://www.w3.org/2000/svg'", 27) == 0,
                  "app.js names a URL: %.50s", p);
        p++;
    }
    cr_expect_null(strstr(css, "http"), "app.css names a URL");
    cr_expect_null(strstr(css, "@import"));
    cr_expect_null(strstr(css, "url("), "app.css loads something");
    cr_expect_null(strstr(css, "@font-face"), "an external font");
    /* Ids and brands reach the document as text only. */
    cr_expect_null(strstr(js, "innerHTML"));
    cr_expect_null(strstr(js, "outerHTML"));
    cr_expect_null(strstr(js, "insertAdjacentHTML"));
    cr_expect_null(strstr(js, "document.write"));
    cr_expect_null(strstr(js, "eval("));
    cr_expect_null(strstr(js, "new Function"));
    /* It reads the API of schemas/api.openapi.yaml and /readyz. */
    static const char *const calls[] = {
        "'/v1/campaigns?limit='", "'/v1/campaigns/' + encodeURIComponent(id)",
        "'/v1/tiers'", "'/v1/alerts?limit='", "'/readyz'",
        "'Bearer ' + token", "sessionStorage",
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        cr_expect_not_null(strstr(js, calls[i]), "app.js lacks %s", calls[i]);
}
