#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Drops the checkpatch --terse findings that are known false positives,
# and only those, from standard input (file names relative to the
# current directory):
# - checkpatch cannot see the definitions of the page and folio flag
#   accessors (macros generate them), so it calls them CamelCase;
# - it reads "FIXTURE_VARIANT(name) *variant" (kselftest_harness.h's
#   type of a fixture variant) as a multiplication.
#
# Usage: checkpatch.pl --terse ... | checkpatch-filter.sh

grep -v -E 'CHECK:CAMELCASE: Avoid CamelCase: <_*(Set|Clear|TestSet|TestClear)?(Page|Folio)[A-Z][A-Za-z]*>$' |
while IFS= read -r line; do
	case $line in
	*": CHECK:SPACING: spaces preferred around that '*' (ctx:WxV)")
		f=${line%%:*}
		n=${line#*:}
		n=${n%%:*}
		# Dropped only if no other "x *y" is left on the line once
		# the FIXTURE_VARIANT() types are taken out.
		if [ -f "$f" ] &&
		   sed -n "${n}p" "$f" | grep -q -E 'FIXTURE_VARIANT\([A-Za-z0-9_]+\) \*' &&
		   ! sed -n "${n}p" "$f" |
			sed -E 's/FIXTURE_VARIANT\([A-Za-z0-9_]+\) \*//g' |
			grep -q -E '[^ ] \*[^ ]'; then
			continue
		fi
		;;
	esac
	printf '%s\n' "$line"
done
