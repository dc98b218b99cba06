#!/bin/bash
# mk/patches.sh: export the feature as a git format-patch series against
# the base tree into build/patches/, run the base tree's checkpatch.pl
# --strict on it (fail on any ERROR or WARNING), and check that the series
# applies with git am to a pristine copy of the base tree.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
out=$build/patches
git=$build/patches-git

PREPARE_ONLY=1 "$top/mk/kernel.sh" >/dev/null
echo ">> exporting the series"
"$top/mk/overlay.sh" export "$git" "$build/pristine" "$build/src"
git -C "$git" config branch."$(git -C "$git" branch --show-current)".description \
	"$(cat "$top/patches/cover-letter.txt")"
rm -rf "$out"
git -C "$git" format-patch -q --cover-letter --cover-from-description=subject \
	--base=base -o "$out" base..HEAD
ls "$out"

echo ">> checkpatch.pl --strict"
bad=0
for p in "$out"/0*.patch; do
	case $p in */0000-cover-letter.patch) continue ;; esac
	res=$(perl "$build/src/scripts/checkpatch.pl" --strict --no-tree --terse \
		--show-types "$p" 2>&1 || true)
	if echo "$res" | grep -qE 'ERROR|WARNING'; then
		echo "$res" | grep -E 'ERROR|WARNING' | sed "s|^|  ${p##*/}: |"
		bad=1
	fi
	echo "$res" | grep -E 'CHECK' | sed "s|^|  ${p##*/}: |" || true
done
[ $bad = 0 ] || { echo "patches: checkpatch found errors or warnings" >&2; exit 1; }

echo ">> git am onto a pristine base tree (about 2 min)"
am=$build/am-check
if [ ! -d "$am/.git" ]; then
	rm -rf "$am"; mkdir -p "$am"
	tar -xf "$build"/deb/linux-source/usr/src/linux-source-7.3.tar.xz -C "$am" --strip-components=1
	git -C "$am" init -q
	git -C "$am" add -A -f >/dev/null
	git -C "$am" -c user.name=base -c user.email=base@localhost commit -q -m base
	git -C "$am" tag base
fi
git -C "$am" am --abort >/dev/null 2>&1 || true
git -C "$am" reset -q --hard base
git -C "$am" clean -qfdx
git -C "$am" -c user.name=am -c user.email=am@localhost -c gc.auto=0 \
	am -q $(ls "$out"/0*.patch | grep -v 0000-cover-letter) 2>&1 | tail -5 || true
n=$(git -C "$am" rev-list --count base..HEAD)
want=$(ls "$out"/0*.patch | grep -vc 0000-cover-letter)
[ "$n" = "$want" ] || { git -C "$am" am --abort 2>/dev/null; echo "patches: git am applied $n of $want" >&2; exit 1; }
echo ">> $want patches in build/patches/, checkpatch-clean, apply with git am"
