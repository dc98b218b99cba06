#!/bin/sh
# Runs inside the test machine: each test of tests.txt with its timeout and
# arguments (path, timeout in seconds, then any arguments), as kselftest TAP
# (exit 0 pass, 4 skip, anything else fail).
cd /tests
sed 's/#.*//' tests.txt | awk 'NF' >/tmp/list.txt
n=$(grep -c . /tmp/list.txt)
echo "TAP version 13"
echo "1..$n"
i=0
while read -r path tmo args; do
	i=$((i + 1))
	name=$(basename "$path")
	echo "# selftest: kvm/$name${args:+ $args}"
	start=$(date +%s)
	# $args unquoted: split into the test's arguments.
	timeout "$tmo" "./$name" $args </dev/null >/tmp/out.txt 2>&1
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
done </tmp/list.txt
