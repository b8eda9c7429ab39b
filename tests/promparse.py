#!/usr/bin/python3
"""Parses a Prometheus text exposition (format 0.0.4) with the Prometheus
project's own Python parser (Debian's python3-prometheus-client) and prints
it back normalized, one line per family and per sample:

    TYPE <family> <type>
    <sample>{<label>=<JSON string>,...} <value>

Labels are sorted by name; values are JSON strings, so that escapes read the
same in any language.  A value that is a whole number prints without a
fraction.  Reads the file named as the only argument, or stdin.
Exits 1 with the parser's complaint on stderr when the text does not parse.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def number(v):
    if v == v and abs(v) != float("inf") and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    out = []
    try:
        for fam in text_string_to_metric_families(text):
            out.append("TYPE %s %s" % (fam.name, fam.type))
            for s in fam.samples:
                labels = ",".join("%s=%s" % (k, json.dumps(v))
                                  for k, v in sorted(s.labels.items()))
                out.append("%s{%s} %s" % (s.name, labels, number(s.value)))
    except Exception as e:  # the parser raises ValueError and others
        print("promparse: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
