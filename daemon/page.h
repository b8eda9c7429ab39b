/*
 * page: the live campaign page (daemon/page/: index.html, app.js, app.css),
 * compiled into the binary.  tools/embed.sh turns the files of daemon/page/
 * into $(BUILD)/gen/page_assets.c, a table of byte arrays the build links
 * with this module; http.c serves them at "/" and "/<name>".  The page
 * talks only to engaged's own read API (schemas/api.openapi.yaml) and
 * needs no inline script or style, so that it works under
 *   Content-Security-Policy: default-src 'none'; script-src 'self';
 *   style-src 'self'; connect-src 'self'; img-src 'self' data:
 * docs/page.md describes what it shows.  Everything here is static data:
 * any thread.
 */
#ifndef ENGAGED_PAGE_H
#define ENGAGED_PAGE_H

#include <stddef.h>

/* One file of the page. */
typedef struct page_asset {
    const char *path;          /* "/", "/app.js", "/app.css" */
    const char *content_type;  /* "text/html; charset=utf-8", ... */
    const unsigned char *data; /* len bytes, then a NUL not counted in len */
    size_t len;
} page_asset;

/*
 * The asset served at `path` (the query string already removed), or NULL.
 * "/" and "/index.html" are index.html; any other path is "/" followed by
 * a file name of daemon/page/, matched exactly (case included): no
 * directory, no percent-decoding, no trailing slash.  path may be NULL
 * (then NULL).  The asset is static data, never freed.  Any thread.
 */
const page_asset *page_find(const char *path);

/*
 * The table itself, as tools/embed.sh generates it: page_nassets entries,
 * in the order of the file names.  For page.c and the tests; the server
 * calls page_find().
 */
extern const page_asset page_assets[];
extern const size_t page_nassets;

#endif
