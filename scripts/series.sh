#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Write the series a maintainer receives, as patches/manifest describes
# it, and check that it is the tree this project builds:
#   1. a git repository of the base source (build/series-git, made once
#      for each base package),
#   2. one commit for each patch of the manifest, on the branch "series"
#      from the tag "base": its edits (quilt patches) applied with no
#      fuzz, its files copied from the tree (or, for a file that grows
#      with the series, from patches/early/ID/),
#   3. git format-patch of those commits into build/series/, with the
#      cover letter from patches/cover-letter,
#   4. git am of the written patches on the base: the result must be the
#      same tree as the commits, and that tree must be the prepared
#      source the kernel is built from (build/linux) file for file.
# With --checkpatch, also run scripts/checkpatch.pl --strict on every
# written patch. Prints "SUMMARY: ..."; exits 0 when all is well, 1 on
# any finding.
#
# Usage: series.sh [--checkpatch] [BASE]
#   BASE: a 6.12.y version, as for "make BASE=..." (default: the
#   installed linux-source-6.12)
#
# Environment: LU_BUILD (default: build/ of this tree); LU_SIGNOFF, the
# "Name <email>" the patches are from and signed off by (default: git's
# user.name and user.email here, else the author of the last commit).

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
checkpatch=0
[ "${1:-}" = --checkpatch ] && { checkpatch=1; shift; }
base=${1:-}
build=${LU_BUILD:-$top/build${base:+/base-$base}}
src=$build/linux
# The base the prepared tree was made from, unless BASE says.
[ -z "$base" ] && [ -f "$src/.base-package" ] && base=$(cut -d- -f1 < "$src/.base-package")
repo=$build/series-git
out=$build/series
manifest=$top/patches/manifest
overlay_dirs="arch drivers Documentation include kernel lib mm tools virt"

die() {
	echo "Error: $*" >&2
	exit 1
}

[ -f "$src/.series-sum" ] || die "no prepared source in ${src#"$top"/} (run make source)"
command -v git >/dev/null || die "git is not installed (apt-get install git)"
fetched=$("$here/fetch-base.sh" "$top/build/bases" "$base") || exit 1
tarball=$(echo "$fetched" | sed -n 1p)
pkgver=$(echo "$fetched" | sed -n 2p)
variant=$top/patches/base-${pkgver%%-*}

# Who the series is from, and when: the last commit's date, so that the
# same tree always writes the same series.
ident=${LU_SIGNOFF:-}
if [ -z "$ident" ]; then
	name=$(git -C "$top" config user.name 2>/dev/null)
	email=$(git -C "$top" config user.email 2>/dev/null)
	if [ -n "$name" ] && [ -n "$email" ]; then
		ident="$name <$email>"
	else
		ident=$(git -C "$top" log -1 --format='%an <%ae>' 2>/dev/null)
	fi
fi
case $ident in
*?" <"?*@*">") ;;
*) die "no identity to sign the patches off with (set LU_SIGNOFF=\"Name <email>\" or git's user.name and user.email)" ;;
esac
when=$(git -C "$top" log -1 --format=%cD 2>/dev/null || date -R)
export GIT_AUTHOR_NAME=${ident% <*} GIT_AUTHOR_EMAIL=${ident##*<}
GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL%>}
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
export GIT_AUTHOR_DATE=$when GIT_COMMITTER_DATE=$when
# Whatever the user's git configuration says (signing, prefixes, hooks,
# sign-offs), the series is written the same way.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
g() { git -C "$repo" -c gc.auto=0 -c core.autocrlf=false -c advice.detachedHead=false "$@"; }

# One series job at a time: series-check.sh builds from the same tree.
mkdir -p "$build"
exec 9>"$build/series.lock"
flock -n 9 || die "another make series or series-check runs on ${build#"$top"/}"

# 1. The base, once per package version.
if [ "$(cat "$repo/.git/lu-base-package" 2>/dev/null)" != "$pkgver" ]; then
	echo "  GIT     linux-source-6.12 $pkgver -> ${repo#"$top"/}"
	rm -rf "$repo"
	mkdir -p "$repo"
	tar -C "$repo" --strip-components=1 -xf "$tarball" || die "cannot extract $tarball"
	# The same package always gives the same base commit.
	stamp="@$(stat -c %Y "$repo/Makefile") +0000"
	g init -q && g add -A -f &&
		GIT_AUTHOR_NAME=linux-source-6.12 GIT_COMMITTER_NAME=linux-source-6.12 \
		GIT_AUTHOR_EMAIL=debian-kernel@lists.debian.org \
		GIT_COMMITTER_EMAIL=debian-kernel@lists.debian.org \
		GIT_AUTHOR_DATE=$stamp GIT_COMMITTER_DATE=$stamp \
		g commit -q -m "Linux $(make -s -C "$repo" kernelversion) (linux-source-6.12 $pkgver)" &&
		g tag -f base >/dev/null || die "cannot make a git repository of the base in ${repo#"$top"/}"
	echo "$pkgver" > "$repo/.git/lu-base-package"
fi

# The project's files, and the edits in quilt order.
mapfile -t files < <(cd "$top" && git ls-files --cached --others --exclude-standard -- $overlay_dirs |
		     while read -r f; do [ -f "$f" ] && echo "$f"; done | sort -u)
mapfile -t edits < <(grep -v -E '^\s*(#|$)' "$top/patches/series")

# 2. One commit per patch.
g checkout -q -f -B series base && g clean -q -fdx || die "cannot reset ${repo#"$top"/}"
declare -A added=() early=()
edit_files=()
nedit=0 npatch=0 id="" subject="" body="" parts=0 errors=0
msg=$(mktemp)
touched=$(mktemp)
trap 'rm -f "$msg" "$touched"' EXIT

bad() {
	echo "Error: patches/manifest: patch ${id:-?}: $*" >&2
	errors=$((errors + 1))
}

# The message of a quilt patch: its Subject and the text before the
# diff, without its sign-offs.
edit_message() {
	awk '/^(---|Index: |diff )/ { exit }
	     /^From: / { next }
	     /^Subject: / { sub(/^Subject: (\[PATCH[^]]*\] )?/, ""); print; print ""; skip = 1; next }
	     skip && /^$/ { next }
	     { skip = 0 }
	     /^Signed-off-by: / { next }
	     { print }' "$1" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

commit() {
	[ -n "$id" ] || return 0
	# A fix for code this base does not have: its edits are empty here.
	if [ $parts = 0 ] && [ "$pskipped" -gt 0 ]; then
		echo "  patch $id: not needed on $pkgver, left out" >&2
		return 0
	fi
	[ $parts -gt 0 ] || bad "it changes nothing"
	if [ -z "$subject" ]; then
		if [ "$pedits" -ge 1 ]; then
			edit_message "$first_edit" < /dev/null > "$msg"
		else
			bad "a patch without an edit needs a subject and a message"
		fi
	else
		[ -n "$body" ] || bad "no message (\"| ...\" lines)"
		printf '%s\n\n%s\n' "$subject" "$body" > "$msg"
	fi
	printf '\nSigned-off-by: %s\n' "$ident" >> "$msg"
	# Only what this patch touched: a whole-tree "git add" is slow.
	sort -u "$touched" | g --literal-pathspecs add -f --pathspec-from-file=- &&
		g commit -q --allow-empty -F "$msg" || die "cannot commit patch $id"
	: > "$touched"
	npatch=$((npatch + 1))
}

pedits=0 pskipped=0 first_edit=""
while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	"#"*|"") continue ;;
	"patch "*)
		commit
		set -f
		# shellcheck disable=SC2086
		set -- $line
		set +f
		id=$2 subject=${line#patch "$id"} subject=${subject# } body="" parts=0 pedits=0 pskipped=0
		;;
	"edit "*)
		name=${line#edit }
		if [ "${edits[$nedit]:-}" != "$name" ]; then
			bad "edit $name: patches/series has ${edits[$nedit]:-nothing} next"
			continue
		fi
		nedit=$((nedit + 1))
		p=$top/patches/$name
		[ -f "$variant/$name" ] && p=$variant/$name
		if [ ! -s "$p" ]; then
			pskipped=$((pskipped + 1))
			continue
		fi
		edit_files+=("$p")
		patch -d "$repo" -p1 -s -f --fuzz=0 --no-backup-if-mismatch < "$p" >/dev/null ||
			die "patches/${p#"$top"/patches/} does not apply at patch $id of the series"
		sed -n 's|^+++ [^/]*/\([^[:space:]]*\).*|\1|p' "$p" >> "$touched"
		parts=$((parts + 1)) pedits=$((pedits + 1))
		[ $pedits = 1 ] && first_edit=$p
		;;
	"add "*)
		path=${line#add }
		matched=0
		for f in "${files[@]}"; do
			case $path in
			*/) [ "${f#"$path"}" != "$f" ] || continue ;;
			*) [ "$f" = "$path" ] || continue ;;
			esac
			matched=1
			[ -n "${added[$f]:-}" ] && { bad "$f is also added by ${added[$f]}"; continue; }
			added[$f]=$id
			unset "early[$f]"
			mkdir -p "$repo/$(dirname "$f")" && cp "$top/$f" "$repo/$f"
			echo "$f" >> "$touched"
		done
		[ $matched = 1 ] || bad "add $path: no such file of the project"
		parts=$((parts + 1))
		;;
	"early "*)
		path=${line#early }
		[ -f "$top/patches/early/$id/$path" ] || { bad "no patches/early/$id/$path"; continue; }
		[ -n "${added[$path]:-}" ] && bad "early $path after its final version"
		early[$path]=$id
		mkdir -p "$repo/$(dirname "$path")" && cp "$top/patches/early/$id/$path" "$repo/$path"
		echo "$path" >> "$touched"
		parts=$((parts + 1))
		;;
	"|"*)
		[ -n "$subject" ] || bad "a message needs a subject on the patch line"
		text=${line#|}
		body+=${body:+$'\n'}${text# }
		;;
	*) bad "cannot read \"$line\"" ;;
	esac
done < "$manifest"
commit
[ $nedit = ${#edits[@]} ] || bad "patches/series has edits the manifest does not use, from ${edits[$nedit]}"
for f in "${files[@]}"; do
	[ -n "${added[$f]:-}" ] || bad "no patch adds $f"
done
for f in "${!early[@]}"; do
	bad "$f is left as patches/early/${early[$f]}/$f"
done
[ $errors = 0 ] || die "patches/manifest has $errors error(s)"

# 3. The patches, and the cover letter.
# Written next to build/series/ and moved there once checked: a series
# that fails a check is not left for series-check to build.
final=$out
out=$build/series.new
rm -rf "$out"
mkdir -p "$out"
g format-patch -q --no-signature --cover-letter --base=base -o "$out" base..series ||
	die "git format-patch failed"
cover=$(ls "$out"/0000-*.patch)
kver=$(make -s -C "$repo" kernelversion)
vmtests=$(awk '$2 == "vm"' "$top/tools/testing/selftests/liveupdate/vm/tests" | wc -l)
sed -e "s/@BASE@/linux-source-6.12 $pkgver (Linux $kver)/g" -e "s/@VMTESTS@/$vmtests/g" -e "s/@RELEASE@/$(sed -n \
	'/^config LIVEUPDATE_RELEASE/,/^config/s/^[[:space:]]*default "\(.*\)"/\1/p' \
	"$top/kernel/liveupdate/Kconfig")/g" "$top/patches/cover-letter" > "$msg.cover"
perl -e '
	open(my $c, "<", $ARGV[0]) or die; my $subj = <$c>; chomp $subj;
	local $/; my $blurb = <$c>; $blurb =~ s/^\n+//; $blurb =~ s/\n+$//;
	open(my $f, "<", $ARGV[1]) or die; my $t = <$f>;
	$t =~ s/\*\*\* SUBJECT HERE \*\*\*/$subj/; $t =~ s/\*\*\* BLURB HERE \*\*\*/$blurb/;
	open($f, ">", $ARGV[1]) or die; print $f $t;' "$msg.cover" "$cover"
rm -f "$msg.cover"

# 4. The written series applies and is the tree that is built.
g checkout -q -f -B am base && g clean -q -fdx || die "cannot reset ${repo#"$top"/}"
written=()
for p in "$out"/0*.patch; do
	case $p in */0000-*) ;; *) written+=("$p") ;; esac
done
if [ ${#written[@]} != $npatch ] || ! g am -q --whitespace=nowarn "${written[@]}" 2>"$msg.am"; then
	head -n 20 "$msg.am" >&2
	g am --abort >/dev/null 2>&1
	rm -f "$msg.am"
	die "the written series does not apply with git am to the base"
fi
rm -f "$msg.am"
g diff --quiet series am || die "git am of the written series gives another tree than its commits"
# Against the prepared source: every file the series changes, and every
# file prepare-source.sh put there (its overlay and the quilt patches'
# files); the rest of both trees is the same tarball.
d=$( { g diff --name-only base am; cat "$build/overlay.manifest";
       sed -n 's|^+++ [^/]*/\([^[:space:]]*\).*|\1|p' "${edit_files[@]}"; } | sort -u |
     while read -r f; do
	if [ -e "$repo/$f" ] || [ -e "$src/$f" ]; then
		cmp -s "$repo/$f" "$src/$f" || echo "$f"
	fi
     done)
if [ -n "$d" ]; then
	echo "$d" | head -n 20 | sed 's/^/  differs: /' >&2
	die "the series' tree differs from ${src#"$top"/} (run make source if the tree changed)"
fi
rm -rf "$final"
mv "$out" "$final"
out=$final
written=()
for p in "$out"/0*.patch; do
	case $p in */0000-*) ;; *) written+=("$p") ;; esac
done
echo "SUMMARY: series: $npatch patches and a cover letter in ${out#"$top"/}, on linux-source-6.12 $pkgver; git am gives the tree that is built"

# 5. checkpatch on every patch.
[ $checkpatch = 1 ] || exit 0
bad=0
for p in "${written[@]}"; do
	# From the prepared source, which is not a git tree: checkpatch
	# then checks the patch alone, as it does for patches/.
	r=$(cd "$src" && scripts/checkpatch.pl --strict --terse --show-types --no-summary "$p" 2>&1 |
	    "$here/checkpatch-filter.sh")
	[ -n "$r" ] && { echo "# ${p##*/}:"; echo "$r"; bad=1; }
done
echo "SUMMARY: checkpatch --strict: $npatch patches"
exit $bad
