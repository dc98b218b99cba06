#!/bin/bash
# mk/patch-test.sh N [TEST...]: run the ioregionfd selftests of the first N
# patches of the series on the kernel of those N patches, in the test
# machine: the series is bisectable not only in that every prefix builds
# (make patches) but in that a prefix passes its own tests.
#
# Uses the series as make patches last applied it (build/am-check), in a
# worktree of its own (build/patch-test-tree).  Builds the 'test' flavour's
# configuration (KASAN, lockdep, kmemleak) into build/obj-patchtest and the
# prefix's ioregionfd selftests (static, -Werror, against the prefix's uAPI
# headers), then boots them (TESTS: a subset, e.g. x86/ioregionfd_reg_test)
# and checks the kernel log.  A first build takes about 15 min on 2 cores.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/mk/prefix.sh"
build=$top/build
am=$build/am-check
n=${1:?usage: mk/patch-test.sh N [TEST...]}; shift
[ -d "$am/.git" ] || { echo "patch-test: no applied series (make patches first)" >&2; exit 1; }
[ -f "$build/obj-test/.config" ] || { echo "patch-test: no test kernel config (make kernel)" >&2; exit 1; }
branch=$(git -C "$am" symbolic-ref --short HEAD 2>/dev/null || echo master)
total=$(git -C "$am" rev-list --count "base..$branch")
[ "$n" -ge 1 ] && [ "$n" -le "$total" ] ||
	{ echo "patch-test: N must be 1..$total" >&2; exit 1; }
c=$(git -C "$am" rev-list --reverse "base..$branch" | sed -n "${n}p")
wt=$build/patch-test-tree
[ -d "$wt/.git" ] || [ -f "$wt/.git" ] || git -C "$am" worktree add -q --detach "$wt" "$c"
git -C "$wt" checkout -q --detach "$c"
echo ">> patch-test: patches 1-$n, up to \"$(git -C "$wt" log -1 --format=%s "$c")\""

have=$(prefix_tests "$wt")
tests=${*:-$have}
[ -n "$tests" ] || { echo "patch-test: patches 1-$n add no ioregionfd selftest" >&2; exit 1; }
for t in $tests; do
	case " $have " in *" $t "*) ;; *) echo "patch-test: $t is not in patches 1-$n" >&2; exit 1 ;; esac
done

obj=$build/obj-patchtest
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
mkdir -p "$obj"
cmp -s "$build/obj-test/.config" "$obj/.config" || cp "$build/obj-test/.config" "$obj/.config"
make -s -C "$wt" O="$obj" CC="$cc" olddefconfig
echo ">> building the kernel of that prefix ($obj)"
make -s -C "$wt" O="$obj" CC="$cc" -j"$(nproc)" bzImage >"$obj/build.log" 2>&1 ||
	{ grep -E 'error|Error' "$obj/build.log" | head -n 20 >&2; echo "patch-test: kernel does not build" >&2; exit 1; }

echo ">> building $tests"
rm -rf "$build/patch-test-selftests"
prefix_build_tests "$wt" "$obj" "$build/patch-test-selftests" "$have" \
	"-static -Werror" -static >"$obj/selftests.log" 2>&1 ||
	{ grep -E 'error' "$obj/selftests.log" | head -n 20 >&2; echo "patch-test: selftests do not build" >&2; exit 1; }

guest=$build/guest-patchtest
rm -rf "$guest"; mkdir -p "$guest"
cp "$top/mk/guest/run-tests.sh" "$guest/"
for t in $tests; do
	cp "$build/patch-test-selftests/$t" "$guest/"
	# The timeout make check gives the test.
	printf '%s\t%s\n' "$t" "$(awk -v t="$t" '$1 == t { print $2 }' "$top/mk/guest/tests.txt")" >>"$guest/tests.txt"
done
name=patch-test-$n
VM_GUEST=$guest VM_TIMEOUT=${VM_TIMEOUT:-3600} "$top/mk/vm.sh" patchtest "$name" "sh /tests/run-tests.sh" |
	tee "$build/results/$name.tap" || true
failed=$(grep -c '^not ok' "$build/results/$name.tap" || true)
passed=$(grep -c '^ok' "$build/results/$name.tap" || true)
log=ok
"$top/mk/logcheck.sh" "$build/results/dmesg-$name.txt" || log=bad
echo "$passed passed, $failed failed (patches 1-$n); kernel log: $log"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ] && [ $log = ok ]
