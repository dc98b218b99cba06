#!/bin/bash
# mk/mkdiff.sh OUT.diff BASE EDITED PATH...: a -p1 diff of PATHs for patches/.
set -uo pipefail
out=$1 base=$2 edited=$3; shift 3
: >"$out"
for f in "$@"; do
	diff -u --label "a/$f" --label "b/$f" "$base/$f" "$edited/$f" >>"$out"
	[ $? -le 1 ] || exit 1
done
