#!/bin/bash
# mk/patches.sh: export the feature as a git format-patch series against
# the base tree into build/patches/, run the base tree's checkpatch.pl
# --strict on it (fail on any ERROR or WARNING), check that the series
# applies with git am to a pristine copy of the base tree, that exporting
# and importing it again (mk/overlay.sh) changes nothing, and that it is
# bisectable: every prefix of the applied series builds (the kernel with
# W=1, no warning in the feature's files, and the ioregionfd selftests that
# prefix has), incrementally in build/obj-bisect.  The first run builds a kernel
# from scratch (about 10 min on 2 cores); PATCHES_NO_BISECT=1 skips it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/mk/prefix.sh"
build=$top/build
out=$build/patches
git=$build/patches-git

PREPARE_ONLY=1 "$top/mk/kernel.sh" >/dev/null
echo ">> exporting the series"
"$top/mk/overlay.sh" export "$git" "$build/pristine" "$build/src"
# The series is edited as git history and imported back (mk/overlay.sh):
# importing what was just exported must give back patches/ and the new
# files exactly, or one of the two directions lost something.
echo ">> export and import give back the same series"
rt=$build/patches-roundtrip
rm -rf "$rt"
"$top/mk/overlay.sh" import "$git" "$rt" >/dev/null
diff -r -x cover-letter.txt "$top/patches" "$rt/patches" >&2 ||
	{ echo "patches: importing the exported series changes patches/" >&2; exit 1; }
for f in $(sed -n 's/^file //p' "$top/patches/series"); do
	cmp -s "$top/$f" "$rt/$f" ||
		{ echo "patches: importing the exported series changes $f" >&2; exit 1; }
done
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
	# FILE_PATH_CHANGES asks of every patch adding a file whether
	# MAINTAINERS covers it: checked below with get_maintainer.pl instead.
	res=$(perl "$build/src/scripts/checkpatch.pl" --strict --no-tree --terse \
		--show-types --ignore FILE_PATH_CHANGES "$p" 2>&1 || true)
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

echo ">> MAINTAINERS covers every file the series adds"
for f in $(git -C "$am" diff --diff-filter=A --name-only base HEAD); do
	(cd "$am" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
		--no-rolestats -f "$f" 2>/dev/null) | grep -q 'ioregionfd@localhost' ||
		{ echo "patches: no MAINTAINERS entry of ours covers $f" >&2; exit 1; }
done

if [ -z "${PATCHES_NO_BISECT:-}" ]; then
	bobj=$build/obj-bisect
	cc=gcc
	command -v ccache >/dev/null && cc="ccache gcc"
	frag=$top/mk/config/common.config
	if [ ! -f "$bobj/.config" ] || [ "$frag" -nt "$bobj/.config" ]; then
		mkdir -p "$bobj"
		make -s -C "$am" O="$bobj" CC="$cc" tinyconfig >/dev/null
		KCONFIG_CONFIG="$bobj/.config" "$am/scripts/kconfig/merge_config.sh" -m \
			-O "$bobj" "$bobj/.config" "$frag" >/dev/null
	fi
	branch=$(git -C "$am" symbolic-ref --short HEAD)
	i=0
	for c in $(git -C "$am" rev-list --reverse base..HEAD); do
		i=$((i + 1))
		subj=$(git -C "$am" log -1 --format=%s "$c")
		git -C "$am" checkout -q "$c"
		log=$bobj/prefix-$i.log
		printf '>> prefix %2d builds: %s\n' "$i" "$subj"
		if ! { make -C "$am" O="$bobj" CC="$cc" olddefconfig &&
		       make -C "$am" O="$bobj" CC="$cc" W=1 -j"$(nproc)" bzImage; } \
		       >"$log" 2>&1; then
			grep -E 'error|Error' "$log" | head -n 20 >&2
			git -C "$am" checkout -q "$branch"
			echo "patches: prefix $i does not build ($log)" >&2
			exit 1
		fi
		# W=1 warnings in the feature's own files fail the prefix.
		if grep -E 'ioregion[a-z_]*\.[ch]:[0-9]+:[0-9]+: warning' "$log" >&2; then
			echo "patches: prefix $i: warnings in the feature's files ($log)" >&2
			exit 1
		fi
		tests=$(prefix_tests "$am")
		[ -n "$tests" ] || continue
		if ! prefix_build_tests "$am" "$bobj" "$bobj/selftests" "$tests" -Werror \
			>>"$log" 2>&1; then
			grep -E 'error|Error' "$log" | head -n 20 >&2
			echo "patches: prefix $i: selftests ($tests) do not build ($log)" >&2
			exit 1
		fi
	done
	git -C "$am" checkout -q "$branch"
fi
what="every prefix builds"
[ -z "${PATCHES_NO_BISECT:-}" ] || what="prefix builds not checked (PATCHES_NO_BISECT)"
echo ">> $want patches in build/patches/, checkpatch-clean, apply with git am, $what"
