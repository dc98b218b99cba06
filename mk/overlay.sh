#!/bin/bash
# Applies our feature to the base tree (Linux 7.3), or exports it as a git series.
#
# patches/series lists the commits of the feature in order:
#   commit NAME.msg      starts a commit; patches/NAME.msg is its message
#   file PATH            a new file, kept in this repo at its kernel path
#   diff NAME.diff       a change to an upstream file, patches/NAME.diff (-p1)
#   stage NAME.diff      an earlier version of new files: patches/NAME.diff
#                        creates or changes them; a later "file" line gives
#                        their final content (the repo's copy)
#
# A new file's "file" line is the last commit that changes it, so an edit
# of the repo's copy lands in that commit.  To change what an earlier
# commit adds, edit the series as git history and import it again.
#
# overlay.sh apply TREE PRISTINE
#   Makes TREE = base + the whole series, touching only files whose content
#   changes (so kbuild rebuilds only what depends on them).  PRISTINE keeps
#   the base version of every upstream file a diff has ever touched.
# overlay.sh export GITDIR PRISTINE TREE
#   Builds a git repo holding the base version of the touched files, commits
#   the series one commit at a time, ready for git format-patch.
# overlay.sh import GITDIR [DEST]
#   The reverse: rewrites patches/ (series, messages, diffs) and the new
#   files from the commits base..HEAD of GITDIR (an exported repo, edited
#   with git rebase -i and friends), in this repo or under DEST.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
series=$top/patches/series

# Emit "kind arg" lines of the series with comments stripped.
entries() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$series"; }

diff_targets() { sed -n 's#^+++ b/\([^[:space:]]*\).*#\1#p' "$1"; }

save_pristine() { # tree pristine path
	if [ ! -e "$2/$3" ]; then
		mkdir -p "$(dirname "$2/$3")"
		if [ -e "$1/$3" ]; then cp -p "$1/$3" "$2/$3"; else : >"$2/$3.absent"; fi
	fi
}

install_if_changed() { # src dst
	if ! cmp -s "$1" "$2"; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
		echo "  UPDATE  ${2#$TREE/}"
	fi
}

cmd_apply() {
	TREE=$1; PRISTINE=$2
	mkdir -p "$PRISTINE"
	local stage; stage=$(mktemp -d)
	trap 'rm -rf "$stage"' RETURN
	# Every upstream file ever touched starts again from its base version.
	local diffs=() kind arg f
	while read -r kind arg; do
		case $kind in
		diff) diffs+=("$top/patches/$arg")
		      for f in $(diff_targets "$top/patches/$arg"); do save_pristine "$TREE" "$PRISTINE" "$f"; done ;;
		file) install_if_changed "$top/$arg" "$TREE/$arg" ;;
		commit|stage) ;;
		*) echo "overlay: bad series line: $kind $arg" >&2; exit 1 ;;
		esac
	done < <(entries)
	(cd "$PRISTINE" && find . -type f ! -name '*.absent' | sed 's#^\./##') | while read -r f; do
		mkdir -p "$stage/$(dirname "$f")"; cp -p "$PRISTINE/$f" "$stage/$f"
	done
	for f in "${diffs[@]}"; do
		patch -s -p1 -d "$stage" --no-backup-if-mismatch <"$f" || {
			echo "overlay: $f does not apply to the base tree" >&2; exit 1; }
	done
	(cd "$stage" && find . -type f | sed 's#^\./##') | while read -r f; do
		install_if_changed "$stage/$f" "$TREE/$f"
	done
}

cmd_export() {
	local git=$1 PRISTINE=$2 TREE=$3 kind arg f msg=""
	rm -rf "$git"; mkdir -p "$git"
	git -C "$git" init -q
	git -C "$git" config user.name "${GIT_AUTHOR_NAME:-ioregionfd developers}"
	git -C "$git" config user.email "${GIT_AUTHOR_EMAIL:-ioregionfd@localhost}"
	(cd "$PRISTINE" && find . -type f ! -name '*.absent' | sed 's#^\./##') | while read -r f; do
		mkdir -p "$git/$(dirname "$f")"; cp -p "$PRISTINE/$f" "$git/$f"
	done
	git -C "$git" add -A
	git -C "$git" commit -q -m "base: $(cat "$TREE/.base-version")"
	git -C "$git" tag base
	commit_pending() {
		[ -n "$msg" ] || return 0
		git -C "$git" add -A
		git -C "$git" commit -q -F "$top/patches/$msg"
	}
	while read -r kind arg; do
		case $kind in
		commit) commit_pending; msg=$arg ;;
		file) mkdir -p "$git/$(dirname "$arg")"; cp "$top/$arg" "$git/$arg" ;;
		diff|stage) patch -s -p1 -d "$git" --no-backup-if-mismatch <"$top/patches/$arg" ;;
		esac
	done < <(entries)
	commit_pending
}

# A diff of @path between two commits, without git's extended headers.
git_diff() { # git from to path...
	local git=$1 from=$2 to=$3; shift 3
	git -C "$git" diff --no-color --no-renames -U3 "$from" "$to" -- "$@" |
		sed -e '/^diff --git /d' -e '/^index /d' -e '/^new file mode /d'
}

cmd_import() {
	local git=$1 dest=${2:-$top} c n=0 name subj f up new last
	git -C "$git" rev-parse -q --verify base >/dev/null ||
		{ echo "overlay: $git has no tag base" >&2; exit 1; }
	mkdir -p "$dest/patches"
	rm -f "$dest"/patches/[0-9][0-9][0-9][0-9]-*.msg "$dest"/patches/[0-9][0-9][0-9][0-9]-*.diff
	{
		echo "# The ioregionfd patch series, in order.  See mk/overlay.sh for the format."
		for c in $(git -C "$git" rev-list --reverse base..HEAD); do
			n=$((n + 1))
			subj=$(git -C "$git" log -1 --format=%s "$c")
			# "KVM: x86: Do this thing" -> 0003-x86-do-this-thing
			name=$(printf '%04d-%s' "$n" "$(echo "$subj" | sed 's/^KVM: //' |
				tr 'A-Z' 'a-z' | sed -e 's/[^a-z0-9]\+/-/g' -e 's/^-//' -e 's/-$//' |
				awk -F- '{ s = $1; for (i = 2; i <= NF && length(s) + length($i) < 40; i++)
					s = s "-" $i; print s }')")
			git -C "$git" log -1 --format=%B "$c" | sed -e '${/^$/d}' >"$dest/patches/$name.msg"
			echo; echo "commit $name.msg"
			up=(); new=()
			while read -r f; do
				if git -C "$git" cat-file -e "base:$f" 2>/dev/null; then
					up+=("$f")
				else
					# Changed again later: an earlier version (a stage).
					last=$(git -C "$git" rev-list -1 "$c..HEAD" -- "$f")
					if [ -n "$last" ]; then new+=("$f"); else
						mkdir -p "$dest/$(dirname "$f")"
						git -C "$git" show "HEAD:$f" >"$dest/$f"
						echo "file $f"
					fi
				fi
			done < <(git -C "$git" diff --no-renames --name-only "$c^" "$c")
			if [ ${#new[@]} -gt 0 ]; then
				git_diff "$git" "$c^" "$c" "${new[@]}" >"$dest/patches/$name-stage.diff"
				echo "stage $name-stage.diff"
			fi
			if [ ${#up[@]} -gt 0 ]; then
				git_diff "$git" "$c^" "$c" "${up[@]}" >"$dest/patches/$name.diff"
				echo "diff $name.diff"
			fi
		done
	} >"$dest/patches/series"
	echo "overlay: imported $n commits into patches/"
}

case ${1:-} in
apply) shift; cmd_apply "$@" ;;
export) shift; cmd_export "$@" ;;
import) shift; cmd_import "$@" ;;
*) echo "usage: $0 apply TREE PRISTINE | export GITDIR PRISTINE TREE | import GITDIR [DEST]" >&2; exit 2 ;;
esac
