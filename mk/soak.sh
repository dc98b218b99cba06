#!/bin/bash
# mk/soak.sh: make soak.  One boot of the `test` kernel (lockdep, KASAN,
# kmemleak, debug objects for timers, work and RCU heads, vmap'ed stacks)
# runs mk/guest/soak.sh for SOAK_SECONDS (default 1800): the feature's
# selftests and failure scenarios in four parallel lanes, tests killed
# mid-run, the kernel log checked every 10 s.  Then the whole kernel log is
# checked on the host.  TAP in build/results/soak.tap, ending with
# "N passed, N failed".  SOAK_MODE=stock: the same with ioregionfd unused
# (build/results/soak-stock.*), to tell our defects from KVM's or the
# emulator's.
# Under TCG the tests run on the test machine's CPU 0 only (mk/guest/soak.sh
# says why); SOAK_CPUS=all runs them on both CPUs.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
results=$top/build/results
secs=${SOAK_SECONDS:-1800}
mode=${SOAK_MODE:-}
name=${SOAK_NAME:-soak${mode:+-$mode}}
mkdir -p "$results"
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT

"$top/mk/kernel.sh" test || exit 1
"$top/mk/selftests.sh" test || exit 1

echo ">> soak${mode:+ ($mode)}: $secs s in one boot of the test kernel"
# Lanes finish the test they are in when the time is up: 45 min more at
# most (a test's timeout with every test on one CPU).
VM_TIMEOUT=$((secs + 3000)) "$top/mk/vm.sh" test "$name" \
	"SOAK_CPUS=${SOAK_CPUS:-} sh /tests/soak.sh $secs $mode"
vmrc=$?
tap=$results/$name.tap
# The soak's own TAP, then the host's checks, renumbered under one plan.
grep -E '^(ok|not ok|#)' "$results/$name.out" >"$tmp"
if [ $vmrc != 0 ] && ! grep -q '^1\.\.' "$results/$name.out"; then
	echo "not ok the test machine ran the soak to its end (kernel log: build/results/dmesg-$name.txt)" >>"$tmp"
fi
if "$top/mk/logcheck.sh" "$results/dmesg-$name.txt" >"$results/$name-log.txt"; then
	echo "ok kernel log clean (build/results/dmesg-$name.txt)" >>"$tmp"
else
	sed 's/^/# /' "$results/$name-log.txt" | tee -a "$tmp"
	echo "not ok kernel log clean (build/results/dmesg-$name.txt)" >>"$tmp"
fi
awk 'BEGIN { print "TAP version 13" }
     /^(ok|not ok)/ { n++; sub(/^ok( [0-9]+)?/, "ok " n); sub(/^not ok( [0-9]+)?/, "not ok " n) }
     { print } END { print "1.." n }' "$tmp" >"$tap"
pass=$(grep -c '^ok' "$tap") fail=$(grep -c '^not ok' "$tap")
echo "$pass passed, $fail failed" | tee -a "$tap"
[ "$fail" = 0 ]
