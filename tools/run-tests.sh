#!/usr/bin/env bash
# tools/run-tests.sh LOG COMMAND...: runs a test binary (make test), its
# output shown as it comes and kept in LOG.  When it fails, the failures
# are printed again at the end, where a CI excerpt (the output's tail)
# shows them: each failed assertion with its message, then the failed
# tests' names.  Exits with the command's status.
set -uo pipefail
log=$1
shift
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
    echo
    echo "tests failed (exit $rc); the whole output is in $log.  Failures:"
    # Criterion's lines for a failed assertion ("[----] file:line: ...",
    # its message) and for a crash, without its banner.
    grep -a -E '^\[----\]' "$log" | grep -a -v -E '^\[----\] Criterion v' |
        grep -a -v -E '^\[----\] +$' | tail -n 40
    grep -a -E '^\[(FAIL|CRASH|ERR )\]|^\[====\] Synthesis' "$log" | tail -n 20
fi
exit "$rc"
