/*
 * prom: checks a Prometheus text exposition with a real parser of the
 * format, tests/promparse.py (python3-prometheus-client), for the metrics,
 * http and integration tests.
 *
 * The interpreter is $ENGAGED_PYTHON when set, else /usr/bin/python3 (where
 * Debian's python3-prometheus-client is importable even when a python3
 * earlier on PATH, such as pyenv's, cannot import it).  The script is found
 * under $ENGAGED_ROOT (default: the current directory).
 *
 * Test main thread only.
 */
#ifndef ENGAGED_TEST_PROM_H
#define ENGAGED_TEST_PROM_H

#include <stddef.h>

/*
 * Parses `text` (len bytes).  Returns the normalized listing promparse.py
 * prints (malloc'd, owned by the caller), or NULL when the parser refused
 * the text or could not run; the reason is then printed on stderr.
 */
char *prom_parse(const char *text, size_t len);

/*
 * Whether `listing` (from prom_parse()) holds `line` as a whole line.
 */
int prom_has_line(const char *listing, const char *line);

#endif
