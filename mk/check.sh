#!/bin/bash
# mk/check.sh: everything a change must pass.  Host-side unit tests, then
# one boot of the `test` kernel running our selftests and the stock
# regression set, then the kernel-log check.  All TAP goes to
# build/results/check.tap; the last line is "N passed, N failed[, N skipped]".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
results=$top/build/results
tap=$results/check.tap
mkdir -p "$results"
start=$(date +%s)

"$top/mk/kernel.sh" test || exit 1
"$top/mk/selftests.sh" test || exit 1

: >"$tap"
pass=0 fail=0 skip=0
# Count one TAP stream's top-level results into the totals, keep it in $tap.
count() { # name file
	echo "# ---- $1" >>"$tap"
	cat "$2" >>"$tap"
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$2" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# SKIP' "$2" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$2" | head -1)
	pass=$((pass + p - s)); skip=$((skip + s)); fail=$((fail + f))
	[ "$f" = 0 ] || grep -E '^not ok' "$2" | sed "s/^/  $1: /"
}

echo ">> host-side unit tests"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gcc -Wall -Werror -I"$top/build/obj-test/usr/include" -o "$tmp/uapi_layout" \
	"$top/userspace/test/uapi_layout.c" && "$tmp/uapi_layout" >"$tmp/uapi.tap"
[ -s "$tmp/uapi.tap" ] || echo "not ok 1 uapi_layout builds and runs" >"$tmp/uapi.tap"
count uapi_layout "$tmp/uapi.tap"
"$top/userspace/test/logcheck_test.sh" >"$tmp/logcheck.tap"
count logcheck_test "$tmp/logcheck.tap"

echo ">> test machine: selftests under lockdep, KASAN and kmemleak (about 10 min under TCG)"
"$top/mk/vm.sh" test check "sh /tests/run-tests.sh"
vmrc=$?
cp "$results/check.out" "$tmp/vm.tap"
if [ $vmrc != 0 ] && ! grep -q '^1\.\.' "$tmp/vm.tap"; then
	echo "not ok 1 test machine booted and ran the selftests" >>"$tmp/vm.tap"
fi
count selftests "$tmp/vm.tap"

if "$top/mk/logcheck.sh" "$results/dmesg-check.txt" >"$tmp/log.txt"; then
	echo "ok 1 kernel log clean (build/results/dmesg-check.txt)" >"$tmp/log.tap"
else
	cat "$tmp/log.txt"
	{ echo "not ok 1 kernel log clean (build/results/dmesg-check.txt)"
	  sed 's/^/# /' "$tmp/log.txt"; } >"$tmp/log.tap"
fi
count kernel_log "$tmp/log.tap"

echo ">> check took $(( $(date +%s) - start )) s; TAP in build/results/check.tap"
summary="$pass passed, $fail failed"
[ $skip = 0 ] || summary+=", $skip skipped"
echo "$summary" | tee -a "$tap"
[ $fail = 0 ]
