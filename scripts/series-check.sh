#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bisectability of the series that scripts/series.sh wrote to
# build/series/: starting from the base, apply it one patch at a time
# with git am and, after each, build the test kernel's configuration
# (incrementally, in one object directory) and run checkpatch --strict on
# that patch. A step fails on a build error, on any compiler warning the
# base did not have, or on any checkpatch finding. At the tip, it also
# builds x86_64_defconfig with the live update options
# (scripts/defconfig-liveupdate.config). Prints one line per step and
# "SUMMARY: ..." with the time it took; exits 0 when every step is clean.
#
# Usage: series-check.sh [--from N] [BASE]
#   --from N: start at patch N, on a tree already checked up to N-1
#
# Logs: build/series-check/NNNN.log; objects in build/series-check/obj.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
from=1
[ "${1:-}" = --from ] && { from=${2:?--from needs a patch number}; shift 2; }
base=${1:-}
build=${LU_BUILD:-$top/build${base:+/base-$base}}
repo=$build/series-git
series=$build/series
work=$build/series-check
obj=$work/obj
st=$top/tools/testing/selftests/liveupdate
jobs=${JOBS:-$(nproc)}

die() {
	echo "Error: $*" >&2
	exit 1
}

[ -d "$repo/.git" ] && ls "$series"/0001-*.patch >/dev/null 2>&1 ||
	die "no series in ${series#"$top"/} (run make series)"
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top/build} CCACHE_NOHASHDIR=1
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_COMMITTER_NAME=series-check GIT_COMMITTER_EMAIL=series-check@localhost
g() { git -C "$repo" -c gc.auto=0 "$@"; }
# One series job at a time: series.sh resets the same tree.
exec 9>"$build/series.lock"
flock -n 9 || die "another make series or series-check runs on ${build#"$top"/}"
patches=()
for p in "$series"/0*.patch; do
	case $p in */0000-*) ;; *) patches+=("$p") ;; esac
done
mkdir -p "$work"
start=$(date +%s)

# build STEP CONFIG-ARGS...: configure and build; new warnings fail.
build() {
	local step=$1 log=$work/$1.log
	shift
	LU_KCONFIG_LAX=1 "$here/kconfig.sh" "$repo" "$work/kconfig" "$obj" "$@" >/dev/null 2>"$log" ||
		{ echo "configuration failed"; return 1; }
	make -s -C "$repo" O="$obj" ARCH=x86_64 CC="$cc" -j"$jobs" bzImage >>"$log" 2>&1 ||
		{ echo "build failed: $(grep -m1 -E 'error|Error' "$log")"; return 1; }
	grep -E 'warning:|WARNING:' "$log" | sed 's/^[^ ]*\/\(linux\|series-git\)\///' | sort -u > "$log.warnings"
	[ -f "$work/0000.log.warnings" ] || : > "$work/0000.log.warnings"
	if [ "$step" != 0000 ] && [ -s "$log.warnings" ] &&
	   comm -23 "$log.warnings" "$work/0000.log.warnings" | grep -q .; then
		echo "new warnings: $(comm -23 "$log.warnings" "$work/0000.log.warnings" | head -n1)"
		return 1
	fi
	return 0
}

fragments=("$st/vm/x86_64.config" "$st/config" "$build/release.config")
bad=0
if [ "$from" = 1 ]; then
	g checkout -q -f -B bisect base && g clean -q -fdx || die "cannot reset ${repo#"$top"/}"
	rm -rf "$obj" "$work"/*.log*
	t=$(date +%s)
	r=$(build 0000 "${fragments[@]}") || die "the base does not build in the test configuration: $r (${work#"$top"/}/0000.log)"
	echo "ok 0 base builds ($(($(date +%s) - t)) s)"
else
	[ "$(g rev-list --count base..bisect 2>/dev/null)" = $((from - 1)) ] ||
		die "--from $from: branch bisect does not hold patches 1-$((from - 1))"
	g checkout -q -f bisect || die "cannot check out branch bisect"
fi
for ((i = from; i <= ${#patches[@]}; i++)); do
	p=${patches[$((i - 1))]}
	step=$(printf %04d "$i")
	t=$(date +%s)
	if ! g am -q "$p" >"$work/$step.log" 2>&1; then
		g am --abort >/dev/null 2>&1
		echo "not ok $i ${p##*/}: does not apply"
		bad=1
		break
	fi
	why=$(build "$step" "${fragments[@]}") || { echo "not ok $i ${p##*/}: $why (${work#"$top"/}/$step.log)"; bad=1; continue; }
	cp=$(cd "$build/linux" && scripts/checkpatch.pl --strict --terse --show-types --no-summary "$p" 2>&1 |
	     "$here/checkpatch-filter.sh")
	if [ -n "$cp" ]; then
		echo "not ok $i ${p##*/}: checkpatch: $(echo "$cp" | head -n1)"
		bad=1
		continue
	fi
	echo "ok $i ${p##*/} ($(($(date +%s) - t)) s)"
done

# The tip in x86_64_defconfig with the live update options.
if [ $bad = 0 ]; then
	t=$(date +%s)
	dobj=$work/defconfig
	mkdir -p "$dobj"
	make -s -C "$repo" O="$dobj" ARCH=x86_64 x86_64_defconfig >/dev/null &&
		"$repo/scripts/kconfig/merge_config.sh" -m -O "$dobj" "$dobj/.config" \
			"$here/defconfig-liveupdate.config" >/dev/null &&
		make -s -C "$repo" O="$dobj" ARCH=x86_64 olddefconfig >/dev/null ||
		die "cannot configure x86_64_defconfig"
	while read -r line; do
		case $line in
		CONFIG_*=[ym]) grep -qxF "$line" "$dobj/.config" ||
			{ echo "not ok defconfig: $line did not stay set"; bad=1; } ;;
		esac
	done < "$here/defconfig-liveupdate.config"
	if [ $bad = 0 ] && make -s -C "$repo" O="$dobj" ARCH=x86_64 CC="$cc" -j"$jobs" \
		bzImage modules >"$work/defconfig.log" 2>&1; then
		if grep -q -E 'warning:|WARNING:' "$work/defconfig.log"; then
			echo "not ok defconfig: $(grep -m1 -E 'warning:|WARNING:' "$work/defconfig.log")"
			bad=1
		else
			echo "ok x86_64_defconfig + live update builds, modules included ($(($(date +%s) - t)) s)"
		fi
	elif [ $bad = 0 ]; then
		echo "not ok defconfig: build failed (${work#"$top"/}/defconfig.log)"
		bad=1
	fi
fi
echo "SUMMARY: series-check: ${#patches[@]} patches, $([ $bad = 0 ] && echo clean || echo FAILED), $(($(date +%s) - start)) s"
exit $bad
