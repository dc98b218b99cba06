#!/bin/bash
# The kernel-log check of `make check` must catch what it claims to: feed it
# a clean log and logs with each kind of report planted.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
clean='[    0.000000] Linux version 6.1.192
[    1.000000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15000)
[    2.000000] kvm_amd: Nested Virtualization enabled'
plants=(
 '[    3.1] WARNING: CPU: 1 PID: 77 at virt/kvm/ioregion.c:42 ioregion_wait+0x1/0x2'
 '[    3.1] BUG: KASAN: use-after-free in ioregion_rx+0x10/0x20'
 '[    3.1] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580'
 '[    3.1] WARNING: possible circular locking dependency detected'
 '[    3.1] unreferenced object 0xffff888003a1c000 (size 512):'
 '[    3.1] INFO: task ioregionfd_io_t:91 blocked for more than 30 seconds.'
 '[    3.1] =============================
[    3.1] WARNING: suspicious RCU usage'
 '[  153.3] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:'
 '[  201.7] ODEBUG: free active (active state 0) object: ffffc90000a1fd28 object type: hrtimer hint: hrtimer_wakeup+0x0/0x70'
)
n=0; fail=0
echo "TAP version 13"; echo "1..$(( ${#plants[@]} + 2 ))"
printf '%s\n' "$clean" >"$tmp/log"
n=$((n+1)); if "$top/mk/logcheck.sh" "$tmp/log" >/dev/null; then echo "ok $n clean log passes"; else echo "not ok $n clean log passes"; fail=1; fi
# The test machine runs it with busybox's sh (mk/guest/soak.sh).
printf '%s\n%s\n' "$clean" "${plants[0]}" >"$tmp/log"
n=$((n+1))
if busybox sh "$top/mk/logcheck.sh" "$tmp/log" >"$tmp/out" 2>&1 && ! [ -s "$tmp/out" ]; then
	echo "not ok $n busybox sh: planted report caught"; fail=1
elif grep -q 'not found\|syntax error' "$tmp/out"; then
	echo "not ok $n busybox sh: planted report caught"; sed 's/^/# /' "$tmp/out"; fail=1
else
	echo "ok $n busybox sh: planted report caught"
fi
for p in "${plants[@]}"; do
	printf '%s\n%s\n' "$clean" "$p" >"$tmp/log"
	n=$((n+1))
	if "$top/mk/logcheck.sh" "$tmp/log" >/dev/null; then
		echo "not ok $n planted report caught: ${p##*] }"; fail=1
	else
		echo "ok $n planted report caught: ${p##*] }"
	fi
done
exit $fail
