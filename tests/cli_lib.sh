# Sourced by the tests/cli_*.sh scripts (not a test itself):
#   . "$(dirname "$0")/cli_lib.sh"
# pass/fail counters, ok/bad, expect_rc, and cli_finish for the closing
# "N passed, N failed" line and the exit status ctest reads.

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_rc WANT DESCRIPTION -- command...: run the command (stdout, stderr in
# "$TMP"/out, "$TMP"/err: the script sets TMP), require exit status WANT.
expect_rc() {
    local want=$1 what=$2
    shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, expected $want"; sed 's/^/  | /' "$TMP/err" | head -5; fi
}

# the closing line; the script's last command, so its status is the script's
cli_finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
