#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test case: luod survives a bounded fuzz of its socket protocol
# (malformed, truncated and oversized messages, names over the limit,
# fd floods beyond its cap) and keeps serving a well-behaved client.
# The fuzzer (tools/liveupdate/tests/luod_fuzz.c) starts its own luod,
# with no /dev/liveupdate needed, so it runs on any host.

here=$(dirname "$0")
if [ ! -x "$here/luod_fuzz" ]; then
	echo "1..0 # SKIP no luod_fuzz next to this script (build the" \
		"selftests in the tree, or install them with kselftest_install.sh)"
	exit 4
fi
exec "$here/luod_fuzz" -l "$here/luod" -n 5000 -t 120 -S 1
