#!/bin/sh
# mk/logcheck.sh LOG: fail if a kernel log shows a warning, a BUG, a lockdep,
# KASAN or RCU report (a stall too), a kmemleak leak or a hung task.  Prints what it found.
# POSIX sh: the test machine's busybox runs it too (mk/guest/soak.sh).
set -u
pat='WARNING:|BUG:|BUG |Oops|general protection fault|Kernel panic|kernel BUG|'
pat=$pat'possible recursive locking|possible circular locking|inconsistent lock state|'
pat=$pat'lockdep|suspicious RCU usage|sleeping function called from invalid context|'
pat=$pat'KASAN|unreferenced object|kmemleak: .*new suspected memory leaks|'
pat=$pat'blocked for more than|soft lockup|hard LOCKUP|UBSAN|list_add corruption|list_del corruption|'
pat=$pat'detected stalls on CPUs|self-detected stall|kthread starved'
[ -f "$1" ] || { echo "logcheck: no kernel log at $1"; exit 1; }
found=$(grep -aE "$pat" "$1" | grep -av 'kmemleak: Kernel memory leak detector initialized\|KASAN.*initialized\|kasan_multi_shot\|Command line' | head -n 20)
if [ -n "$found" ]; then
	echo "kernel log $1 is not clean:"
	echo "$found" | sed 's/^/  /'
	exit 1
fi
exit 0
