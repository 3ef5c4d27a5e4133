#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /lu/leak-scan in the test VM: at the end of every stage (before a kexec,
# and before the last stage reports), look for kernel memory leaks when
# the kernel has kmemleak (the sanitized test kernel). kmemleak reports
# only objects older than 5 s, and a first scan may report objects in
# flight, so wait, scan twice, and print what is still unreferenced: any
# "unreferenced object" line fails the test (run.sh).

k=/sys/kernel/debug/kmemleak
[ -w "$k" ] || exit 0
sleep 6
echo scan > "$k"
echo scan > "$k"
leaks=$(cat "$k")
if [ -n "$leaks" ]; then
	echo "# lu: kmemleak found leaks:"
	echo "$leaks"
else
	echo "# lu: kmemleak: no leaks"
fi
exit 0
