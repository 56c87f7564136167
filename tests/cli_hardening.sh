#!/usr/bin/env bash
# The hardened build: the flint binary and libflintrt.so are position independent,
# have full RELRO (GNU_RELRO + BIND_NOW), call the stack protector and, in an
# optimised non-sanitizer build, the _FORTIFY_SOURCE checked functions.
# Env: FLINT_BIN (the built flint; libflintrt.so sits beside it).
set -u

FLINT=${FLINT_BIN:-flint}
LIB=$(dirname "$FLINT")/libflintrt.so
. "$(dirname "$0")/cli_lib.sh"

if ! command -v readelf >/dev/null 2>&1; then
    echo "SKIP: readelf not installed (binutils)"
    echo "0 passed, 0 failed"
    exit 0
fi

for f in "$FLINT" "$LIB"; do
    [ -f "$f" ] || { bad "$f not built"; continue; }
    name=$(basename "$f")
    readelf -h "$f" | grep -q "Type: *DYN" && ok || bad "$name is not position independent (ELF type not DYN)"
    readelf -lW "$f" | grep -q "GNU_RELRO" && ok || bad "$name has no GNU_RELRO segment"
    readelf -dW "$f" | grep -Eq "BIND_NOW|FLAGS.*NOW" && ok || bad "$name is not BIND_NOW (partial RELRO only)"
    readelf -sW --dyn-syms "$f" | grep -q "__stack_chk_fail" && ok || bad "$name does not use the stack protector"
    if readelf -sW "$f" | grep -q "__asan_init\|__ubsan_handle"; then
        echo "note: $name is a sanitizer build: _FORTIFY_SOURCE is off there by design"
    else
        readelf -sW --dyn-syms "$f" | grep -Eq "__[a-z]+_chk@" && ok || bad "$name calls no _FORTIFY_SOURCE __*_chk function"
    fi
done
# the executable itself is PIE, not a plain shared object
readelf -dW "$FLINT" | grep -q "PIE" && ok || bad "flint lacks the PIE flag"

cli_finish
