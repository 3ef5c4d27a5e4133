#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks of the project's own code, run from the prepared tree in
# build/linux with the base kernel's scripts. Any diagnostic on project
# code is a failure.
#
#   checkpatch  scripts/checkpatch.pl --strict on every project C file
#               and header, and on every patch in patches/
#   kernel-doc  scripts/kernel-doc -none -Wall on the project's kernel
#               sources and headers
#   sparse      sparse (C=2) and W=1 on every project object the test
#               kernel builds
#   series      the series of patches/manifest (series.sh): it applies
#               with git am, gives the tree that is built, and each
#               patch is checkpatch --strict clean
#   config-NAME the prepared tree in another configuration, built by
#               build-config.sh NAME (nokho, modular): no error, no
#               warning
#
# Prints "SUMMARY: ..." with what was checked; exits 0 clean, 1 on
# findings, 4 when there is nothing to check ("SKIP: why").
#
# Usage: static-checks.sh checkpatch|kernel-doc|sparse|series|config-NAME

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${LU_BUILD:-$top/build}
src=$build/linux
obj=$build/kernel

[ -x "$src/scripts/checkpatch.pl" ] || {
	echo "Error: no prepared source in $src (run make)" >&2
	exit 1
}

# Project files, relative to the top (and to build/linux, which mirrors it).
project_files() {	# project_files DIR... -- PATTERN...
	local dirs=() pats=()

	while [ $# -gt 0 ] && [ "$1" != -- ]; do dirs+=("$1"); shift; done
	shift
	pats=("$@")
	cd "$top" || return
	git ls-files --cached --others --exclude-standard -- "${dirs[@]}" |
	while read -r f; do
		[ -f "$f" ] || continue
		for p in "${pats[@]}"; do
			# shellcheck disable=SC2254
			case "$f" in $p) echo "$f"; break ;; esac
		done
	done
}

kernel_dirs=(arch drivers include kernel lib mm virt)
all_dirs=("${kernel_dirs[@]}" tools)

# Known false positives, and only those, are dropped (see the script).
checkpatch_filter() {
	"$here/checkpatch-filter.sh"
}

checkpatch() {
	local files patches bad=0 n=0 out f

	mapfile -t files < <(project_files "${all_dirs[@]}" -- '*.c' '*.h')
	mapfile -t patches < <(cd "$top" && grep -v -E '^\s*(#|$)' patches/series 2>/dev/null |
			       sed 's|^|patches/|')
	cd "$src" || exit 1
	for f in "${files[@]}"; do
		n=$((n + 1))
		out=$(scripts/checkpatch.pl --strict --terse --show-types \
			--no-summary -f "$f" 2>&1 | checkpatch_filter)
		[ -n "$out" ] && { echo "$out"; bad=1; }
	done
	for f in "${patches[@]}"; do
		n=$((n + 1))
		out=$(scripts/checkpatch.pl --strict --terse --show-types \
			--no-summary "$top/$f" 2>&1 | checkpatch_filter)
		[ -n "$out" ] && { echo "$out"; bad=1; }
	done
	echo "SUMMARY: checkpatch --strict: ${#files[@]} files, ${#patches[@]} patches"
	[ $n -gt 0 ] || { echo "SKIP: nothing to check"; exit 4; }
	return $bad
}

kerneldoc() {
	local files out

	mapfile -t files < <(project_files "${kernel_dirs[@]}" -- '*.c' '*.h')
	echo "SUMMARY: kernel-doc -none -Wall: ${#files[@]} files"
	[ ${#files[@]} -gt 0 ] || { echo "SKIP: no project kernel sources yet"; exit 4; }
	cd "$src" || exit 1
	out=$(scripts/kernel-doc -none -Wall "${files[@]}" 2>&1)
	[ -z "$out" ] && return 0
	echo "$out"
	return 1
}

sparse() {
	local files objs=() f o out

	mapfile -t files < <(project_files "${kernel_dirs[@]}" -- '*.c')
	for f in "${files[@]}"; do
		o=${f%.c}.o
		# Only what the test kernel builds; the rest is not configured.
		[ -f "$obj/$o" ] && objs+=("$o")
	done
	echo "SUMMARY: sparse (C=2) and W=1: ${#objs[@]} objects of ${#files[@]} project C files"
	[ ${#objs[@]} -gt 0 ] || { echo "SKIP: no project kernel objects yet"; exit 4; }
	command -v sparse >/dev/null || { echo "Error: sparse not installed (apt-get install sparse)"; exit 1; }
	out=$(make -s -C "$src" O="$obj" ARCH=x86_64 C=2 W=1 "${objs[@]}" 2>&1)
	local rc=$?
	# Diagnostics about project files only; the base tree is not ours.
	local mine
	mine=$(echo "$out" | grep -F -f <(printf '%s\n' "${files[@]}" "${objs[@]}") |
	       grep -E 'warning|error')
	if [ $rc -ne 0 ] || [ -n "$mine" ]; then
		echo "$out" | tail -n 60
		return 1
	fi
	return 0
}

case "${1:-}" in
checkpatch) checkpatch ;;
kernel-doc) kerneldoc ;;
sparse) sparse ;;
config-*) LU_BUILD=$build "$here/build-config.sh" "${1#config-}" ;;
series) LU_BUILD=$build "$here/series.sh" --checkpatch ;;
*) echo "Usage: $0 checkpatch|kernel-doc|sparse|series|config-NAME" >&2; exit 2 ;;
esac
