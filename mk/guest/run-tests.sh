#!/bin/sh
# Runs inside the test machine: each test of tests.txt with its timeout,
# as kselftest TAP (exit 0 pass, 4 skip, anything else fail).
cd /tests
list=$(sed 's/#.*//' tests.txt | awk 'NF {print $1 ":" $2}')
n=$(echo "$list" | wc -w)
echo "TAP version 13"
echo "1..$n"
i=0
for entry in $list; do
	i=$((i + 1))
	path=${entry%%:*}; tmo=${entry##*:}
	name=$(basename "$path")
	echo "# selftest: kvm/$name"
	start=$(date +%s)
	timeout "$tmo" "./$name" >/tmp/out.txt 2>&1
	rc=$?
	# awk ends every line, also a last one the test left without a newline.
	awk '{ print "# " $0 }' /tmp/out.txt
	secs=$(($(date +%s) - start))
	case $rc in
	0) echo "ok $i kvm/$name # ${secs}s" ;;
	4) echo "ok $i kvm/$name # SKIP $(grep -m1 -i 'skip\|requirement' /tmp/out.txt)" ;;
	124) echo "not ok $i kvm/$name # TIMEOUT after ${tmo}s" ;;
	*) echo "not ok $i kvm/$name # exit=$rc" ;;
	esac
done
