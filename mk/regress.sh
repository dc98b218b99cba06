#!/bin/bash
# mk/regress.sh: every stock x86 KVM selftest of the base tree (Linux 7.3),
# built statically and run in the test machine on the patched `test`
# kernel, to show that the series changes nothing else.
# Each test passes, or skips with the reason it prints; the skips expected
# under `-accel tcg -cpu max` are listed with their reasons in
# mk/regress-skips.txt, and a skip that is not listed there is reported as
# unexpected (it still counts as a skip, not a pass).  A test that does not
# build, fails or times out (REGRESS_TIMEOUT seconds, default 600, or what
# mk/regress-timeouts.txt gives the few tests that need longer under TCG)
# fails, except where mk/regress-xfail.txt names the test and the assertion
# it fails with: a defect of the test machine's CPU emulation, which the
# unpatched kernel shows the same way.  Such a result is reported as
# "ok ... # XFAIL" and counted as a skip; any other failure of that test
# still fails.  mk/regress-args.txt gives the few tests that would run for
# hours under TCG smaller sizes; mk/regress-long.txt lists the tests that
# take hours under TCG at any size: they are reported as skipped, with the
# time they need, unless REGRESS_LONG=1.
# REGRESS_KERNEL=stock runs the same on the unpatched base tree (the kernel
# flavour `stock` of mk/kernel.sh), to check an entry of regress-xfail.txt.
# TAP in build/results/regress.tap (regress-stock.tap); the last line is
# "N passed, N failed, N skipped".  REGRESS_EXCLUDE=REGEX leaves tests out,
# REGRESS_ONLY=REGEX runs only the tests it matches.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
results=$top/build/results
kernel=${REGRESS_KERNEL:-test}
case $kernel in test|stock) ;; *) echo "regress: REGRESS_KERNEL is test or stock" >&2; exit 1 ;; esac
run=regress; [ "$kernel" = test ] || run=regress-$kernel
obj=$top/build/obj-$kernel
out=$top/build/selftests-$run
guest=$top/build/guest-$run
src=$top/build/src/tools/testing/selftests/kvm
expected=$top/mk/regress-skips.txt
long=$top/mk/regress-long.txt
slow=$top/mk/regress-timeouts.txt
argsfile=$top/mk/regress-args.txt
xfail=$top/mk/regress-xfail.txt
tap=$results/$run.tap
timeout=${REGRESS_TIMEOUT:-600}
# 2 MiB pages for the tests that back guest memory with hugetlbfs
# (dirty_log_page_splitting_test, with its size in regress-args.txt).
hugepages=320
mkdir -p "$results"

"$top/mk/kernel.sh" "$kernel" || exit 1

# The stock list, as the tree's own Makefile.kvm builds it for x86, less
# the series' own tests (make check runs those).
vars=$(make -s -C "$src" -pn 2>/dev/null)
common=$(echo "$vars" | sed -n 's/^TEST_GEN_PROGS_COMMON :\{0,1\}= //p' | head -n 1)
tests=$(echo "$vars" | sed -n 's/^TEST_GEN_PROGS_x86 :\{0,1\}= //p' | head -n 1 |
	sed "s#\$(TEST_GEN_PROGS_COMMON)#$common#" | tr ' ' '\n' |
	grep -v -e '^$' -e ioregionfd_ | sort -u)
[ -n "$tests" ] || { echo "regress: no x86 selftests found in $src" >&2; exit 1; }
# REGRESS_EXCLUDE (an extended regex) leaves tests out, e.g. to re-run the
# rest quickly; the summary says how many.
if [ -n "${REGRESS_EXCLUDE:-}" ]; then
	all=$(echo "$tests" | wc -l)
	tests=$(echo "$tests" | grep -Ev -- "$REGRESS_EXCLUDE" || true)
	echo ">> REGRESS_EXCLUDE leaves out $((all - $(echo "$tests" | grep -c .))) of $all tests"
fi
if [ -n "${REGRESS_ONLY:-}" ]; then
	tests=$(echo "$tests" | grep -E -- "$REGRESS_ONLY" || true)
	echo ">> REGRESS_ONLY: $(echo $tests)"
fi
# Tests too long for the test machine, unless REGRESS_LONG=1: a skip each.
longskips=()
if [ -z "${REGRESS_LONG:-}" ]; then
	for t in $(awk -F'\t' '!/^#/ && NF {print $1}' "$long"); do
		echo "$tests" | grep -qx -- "$t" || continue
		tests=$(echo "$tests" | grep -vx -- "$t")
		longskips+=("$t")
	done
fi
echo ">> building $(echo "$tests" | wc -l) stock x86 KVM selftests (static)"
rm -rf "$guest"; mkdir -p "$out" "$guest"
make -s -k -C "$src" -j"$(nproc)" OUTPUT="$out" INSTALL_HDR_PATH="$obj/usr" \
	KHDR_INCLUDES="-isystem $obj/usr/include" EXTRA_CFLAGS="-static" \
	USERLDFLAGS=-static TEST_GEN_PROGS_x86="$(echo $tests)" \
	TEST_GEN_PROGS_EXTENDED_x86= >"$results/$run-build.log" 2>&1

: >"$guest/tests.txt"
unbuilt=()
for t in $tests; do
	if [ -x "$out/$t" ]; then
		cp "$out/$t" "$guest/$(basename "$t")"
		tmo=$(awk -v t="$(basename "$t")" '$1 == t {print $2}' "$slow")
		targs=$(awk -F'\t' -v t="$(basename "$t")" '$1 == t {print $2}' "$argsfile")
		printf '%s\t%s\t%s\n' "$t" "${tmo:-$timeout}" "$targs" >>"$guest/tests.txt"
	else
		unbuilt+=("$t")
	fi
done
cp "$top/mk/guest/run-tests.sh" "$guest/"

echo ">> the test machine: $(grep -c . "$guest/tests.txt") tests, up to ${timeout} s each"
VM_GUEST=$guest VM_TIMEOUT=${REGRESS_VM_TIMEOUT:-14400} "$top/mk/vm.sh" "$kernel" "$run" \
	"echo $hugepages >/proc/sys/vm/nr_hugepages; sh /tests/run-tests.sh" >/dev/null
cp "$results/$run.out" "$tap.raw"

# A failure regress-xfail.txt expects, with the assertion it names in the
# test's own output, becomes "ok ... # XFAIL"; an expected failure that
# passes is said.
xfail_filter() {
	awk -F'\t' -v list="$xfail" '
	BEGIN { while ((getline l < list) > 0) { if (l ~ /^#/ || l == "") continue
		split(l, f, "\t"); want[f[1]] = f[2]; why[f[1]] = f[3] } }
	/^# selftest: kvm\// { t = $0; sub(/^# selftest: kvm\//, "", t); sub(/ .*/, "", t); seen = 0 }
	t in want && index($0, want[t]) { seen = 1 }
	/^not ok / && t in want && seen { sub(/^not /, ""); sub(/ #.*/, ""); print $0 " # XFAIL " why[t]; next }
	/^ok / && t in want && $0 !~ /# SKIP/ { print; print "# XPASS: " t " passed; take it out of mk/regress-xfail.txt"; next }
	{ print }'
}

# Count, and hold every skip against the expected list.
pass=0 fail=0 skip=0 xf=0
{
	sed -e '/^@@EXIT/d' "$tap.raw" | xfail_filter
	for t in "${unbuilt[@]}"; do echo "not ok - kvm/$(basename "$t") # does not build (build/results/$run-build.log)"; done
	for t in "${longskips[@]}"; do
		echo "ok - kvm/$t # SKIP $(awk -F'\t' -v t="$t" '$1 == t {print $2}' "$long") (REGRESS_LONG=1 runs it)"
	done
} >"$tap"
while IFS= read -r line; do
	case $line in
	"ok "*"# XFAIL"*) skip=$((skip + 1)) xf=$((xf + 1)) ;;
	"ok "*"# SKIP"*)
		skip=$((skip + 1))
		name=$(echo "$line" | sed 's#.*kvm/\([^ ]*\).*#\1#')
		grep -q "^$name[[:space:]]" "$expected" "$long" ||
			echo "# unexpected skip, not in mk/regress-skips.txt: $line" | tee -a "$tap" ;;
	"ok "*) pass=$((pass + 1)) ;;
	"not ok "*) fail=$((fail + 1)); echo "  $line" ;;
	esac
done < <(grep -E '^(not )?ok ' "$tap")
plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$tap.raw" | cut -d. -f3)
if [ -n "$plan" ] && [ $((pass + skip + fail - ${#unbuilt[@]})) -lt "$plan" ]; then
	echo "  not ok: $((plan - pass - skip - fail + ${#unbuilt[@]})) tests never reported" | tee -a "$tap"
	fail=$((fail + 1))
fi
if ! "$top/mk/logcheck.sh" "$results/dmesg-$run.txt" | tee -a "$tap"; then
	fail=$((fail + 1))
fi
[ $xf = 0 ] || echo "# $xf of the skips are expected failures of the CPU emulation (mk/regress-xfail.txt)" | tee -a "$tap"
summary="$pass passed, $fail failed, $skip skipped"
echo "$summary" | tee -a "$tap"
[ $fail = 0 ]
