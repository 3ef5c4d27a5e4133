#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make bench": measure live update in the test VM and print a table;
# also write it as CSV and plot it (gnuplot, PNG). A benchmark, not a
# test: nothing here passes or fails on a number.
#
# Method. Every scenario is one VM boot of luo_bench (see luo_bench.c)
# that crosses a kexec (or, for the disk alternative, a cold reset).
# The host stamps every line of the serial console with its own
# monotonic clock as it arrives; the guest prints "BENCH mark NAME" at
# the instants that matter, so a blackout is the difference between two
# host stamps: no guest clock has to survive the reboot.
#
# A blackout is what the owner of the data feels: from "reboot" (just
# before reboot(); the disk alternative and the VM: from "save") to
# "usable", when the owner has its data back and can use it: every
# session retrieved and its file mapped and readable (the disk: the data
# read back into memory; the VM: the guest's first instruction after).
# The guest then checks every word of the data, which a real owner would
# not do; that check ends at "verified", is timed by the guest
# ("check_ns") and reported in a table of its own, and its result
# ("bad_words", "vm_bad") must be 0: a run whose check fails, or whose
# check never ends, gives no blackout and is reported loudly.
#
# Where a blackout went is read from the same log: the old kernel's
# part, purgatory and the decompressor, the next kernel's boot to its
# memory ready, its initcalls, and user space (see "phases" below); each
# is set against the plain kexec's in a table of its own.
#
# What only the guest can see (reserve, restore, preserve and finish
# times, tracker size) it measures itself and prints as "BENCH
# key=value". Each scenario runs BENCH_RUNS times (default 3); the
# tables show the median and, in brackets, the smallest and largest
# run. Everything is measured once with CONFIG_DEFERRED_STRUCT_PAGE_INIT
# on and once off. Under TCG every absolute time is inflated many times
# over, and the host's speed drifts from boot to boot: compare the
# ratios, each taken between a scenario and the plain kexec of the same
# round (a round boots every scenario once, back to back), all
# scenarios booted with the same memory (-m); the tables give their
# median and spread over the rounds.
#
# The VM scenarios run a KVM guest inside the test VM (nested: SVM and
# NPT emulated by TCG) whose blackout is from its last instruction
# before the update to its first after it, for each guest RAM size of
# BENCH_VM_MIB and each backing (shmem memfd, 2 MiB HugeTLB memfd,
# guest_memfd); build/bench/vm-blackout.png plots it against the size,
# with the plain kexec as a line.
#
# The reserve scenarios (first variant only) hand over N single pages
# that no two touch, for each N of BENCH_RANGES: N ranges for the next
# kernel to reserve at boot, with memblock_reserve_sorted() as it does,
# and, up to BENCH_PLAIN_MAX ranges (the rest would take hours under
# TCG), one memblock_reserve() per range as 6.12 does without it
# (kho_test_reserve=plain); build/bench/reserve.png plots both against
# N. These boot a VM large enough for the largest N (8 KiB a range,
# plus 2 GiB), the same for all of them.
#
# Usage: bench.sh
# Environment: BENCH_RUNS=N, BENCH_SIZES="0 64 256 1024" (MiB of memfd),
# BENCH_VM_MIB="256 1024 2048" (MiB of RAM of the KVM guest),
# BENCH_NOPREP_MIB="2048" (guest RAM sizes booted once more per round
# with liveupdate.prepare=0, to compare retrieve with and without the
# next kernel's prepare in the same rounds; default: the largest of
# BENCH_VM_MIB),
# BENCH_RANGES="1000 10000 100000 1000000" (preserved ranges),
# BENCH_PLAIN_MAX=100000 (each list may be "": those scenarios are left
# out; the plain kexec always runs),
# BENCH_VARIANTS="deferred nodeferred", LU_KVM=1 (use KVM),
# BENCH_QEMU_EXTRA=... (more QEMU arguments for every boot; default
# -mem-prealloc: the host backs all the VM's memory before it starts, so
# that the host's first touch of a page of guest memory, a fault and a
# 2 MiB clear there, does not land at random inside the blackouts:
# without it a 2 GiB guest's runs spread twice as wide),
# BENCH_OUT=DIR (default build/bench), BENCH_REPORT_ONLY=1 (redo the
# tables and plots from the last run in BENCH_OUT, with its settings).
# A short smoke run: BENCH_RUNS=1 BENCH_VARIANTS=deferred BENCH_SIZES=64
# BENCH_VM_MIB=256.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${LU_BUILD:-$top/build}
out=${BENCH_OUT:-$build/bench}
runs=${BENCH_RUNS:-3}
sizes=${BENCH_SIZES-0 64 256 1024}
vm_mibs=${BENCH_VM_MIB-256 1024 2048}
noprep_mibs=${BENCH_NOPREP_MIB-${vm_mibs##* }}
ranges=${BENCH_RANGES-1000 10000 100000 1000000}
plain_max=${BENCH_PLAIN_MAX:-100000}
variants=${BENCH_VARIANTS:-deferred nodeferred}
report_only=${BENCH_REPORT_ONLY:-0}
raw=$out/raw.txt
conf=$out/raw.conf

die() {
	echo "Error: $*" >&2
	exit 2
}

# A report redone from the last run uses that run's settings.
if [ "$report_only" = 1 ]; then
	[ -s "$raw.last" ] || die "no earlier measurements in $raw.last (run bench.sh without BENCH_REPORT_ONLY first)"
	[ -s "$conf" ] || die "no $conf: $raw.last predates this script's format (run bench.sh again)"
	# A run from before the reserve (or no-prepare) scenarios has none.
	ranges='' plain_max=0 ranges_mem='' ranges_scratch='' noprep_mibs=''
	# shellcheck source=/dev/null
	. "$conf"
fi

for n in $runs $sizes $vm_mibs $noprep_mibs $ranges $plain_max; do
	case $n in
	*[!0-9]*) die "not a number: '$n' (BENCH_RUNS, BENCH_SIZES, BENCH_VM_MIB, BENCH_RANGES and BENCH_PLAIN_MAX take whole numbers)" ;;
	esac
done
for n in $ranges; do
	[ "$n" -gt 0 ] || die "BENCH_RANGES: 0 ranges is no handover (leave it empty for none)"
done
[ "$runs" -gt 0 ] || die "BENCH_RUNS must be at least 1"
for n in $sizes $vm_mibs $noprep_mibs; do
	# A HugeTLB memfd is made of whole 2 MiB pages.
	[ $((n % 2)) = 0 ] || die "$n MiB: sizes must be a multiple of 2 MiB (HugeTLB)"
done
for n in $vm_mibs; do
	[ "$n" -gt 0 ] || die "BENCH_VM_MIB: a guest needs some RAM (got 0)"
done
for v in $variants; do
	case $v in
	deferred | nodeferred) ;;
	*) die "unknown variant '$v' (BENCH_VARIANTS takes deferred and nodeferred)" ;;
	esac
done

# The memory of the test VM (-m), the same for every scenario so that
# every ratio compares boots of the same machine. The largest HugeTLB
# scenario of S MiB reserves a pool of S / 2 + 8 pages (hugepages=);
# the next kernel boots with hugepages=0 (luo_bench.c: the pages it
# adopts need no pool). The S MiB a scenario preserves, and as much
# again free for its next kernel: 2 (S + 16) MiB, plus 768 MiB for the
# kernels, the initramfs and the programs; rounded up to whole GiB, at
# least 3 GiB.
if [ "$report_only" != 1 ]; then
	# shellcheck disable=SC2086
	largest=$(printf '%s\n' 0 $sizes $vm_mibs | sort -n | tail -n 1)
	mem_mib=$(( (2 * (largest + 16) + 768 + 1023) / 1024 * 1024 ))
	[ "$mem_mib" -ge 3072 ] || mem_mib=3072
	mem=$((mem_mib / 1024))G
	# The reserve scenarios: 8 KiB a range, plus 2 GiB.
	# shellcheck disable=SC2086
	most=$(printf '%s\n' 0 $ranges | sort -n | tail -n 1)
	ranges_mem=$(( (most * 8 / 1024 + 2048 + 1023) / 1024 ))G
	# Scratch for the largest N: memblock's array of reserved regions
	# takes 24 bytes a range, 36 while it doubles, next to the kernel
	# and its initrd (the default, 64 MiB + 1/256 of memory, holds
	# about half a million such ranges in 10 GiB).
	ranges_scratch=$(( 128 + most * 48 / 1048576 ))M
fi

command -v gnuplot >/dev/null || {
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "Installing gnuplot-nox to draw the plot"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null ||
			die "cannot install gnuplot-nox (apt-get install gnuplot-nox)"
	else
		die "gnuplot not found (apt-get install gnuplot-nox)"
	fi
}

kernel_deferred=$build/kernel/arch/x86/boot/bzImage
initrd_deferred=$build/initramfs.cpio
kernel_nodeferred=$build/kernel-nodeferred/arch/x86/boot/bzImage
initrd_nodeferred=$build/initramfs-nodeferred.cpio
if [ "$report_only" != 1 ]; then
	for v in $variants; do
		k=kernel_$v
		i=initrd_$v
		[ -f "${!k}" ] && [ -f "${!i}" ] || die "no ${!k} or ${!i} (run make bench)"
	done
	if [ "${LU_KVM:-0}" = 1 ]; then
		accel="-accel kvm -cpu host"
	else
		accel="-accel tcg -cpu qemu64,+svm,+npt"
	fi
	run_date=$(date -u +%Y-%m-%d)
	cpus=$(nproc)
fi

mkdir -p "$out/logs"
[ "$report_only" = 1 ] || : > "$raw"

# boot VARIANT NAME RUN WORDS...: one VM run; appends "variant name run
# key value" lines to $raw: what the guest printed, then blackout_ms
# (start to "usable") and verified_ms (start to "verified"), or
# "failed 1".
boot() {
	local v=$1 name=$2 run=$3 k i log disk=() reboot=-no-reboot checked=0
	local m=${boot_mem:-$mem}
	shift 3
	k=kernel_$v
	i=initrd_$v
	log=$out/logs/$v-$name-$run.log
	# These modes check the data after the blackout; a run of one whose
	# check did not end (or did not pass) gives no blackout.
	case " $* " in
	*" lu.bench=luo "* | *" lu.bench=disk "* | *" lu.bench=vm "*) checked=1 ;;
	esac
	if [ "$name" != "${name#disk-}" ]; then
		# The data and its header, with room to spare.
		rm -f "$out/disk.img"
		truncate -s $((${name#disk-} + 176))M "$out/disk.img"
		disk=(-drive "file=$out/disk.img,format=raw,if=virtio,cache=none")
		reboot=
	fi
	# shellcheck disable=SC2086
	timeout --kill-after=5 900 qemu-system-x86_64 -machine q35 $accel \
		-smp 2 -m "$m" -nodefaults -no-user-config -display none \
		$reboot -kernel "${!k}" -initrd "${!i}" "${disk[@]}" \
		${BENCH_QEMU_EXTRA--mem-prealloc} \
		-append "console=ttyS0 panic=-1 oops=panic lu.test=bench lu.stage=1 $*" \
		-serial stdio </dev/null 2>/dev/null |
		perl -MTime::HiRes=time -ne 'BEGIN { $| = 1 } printf "%.6f %s", time, $_' \
		> "$log"
	awk -v v="$v" -v n="$name" -v r="$run" -v checked="$checked" '
		function loud(what) {
			printf "  DATA CHECK FAILED: %s %s run %s: %s\n", v, n, r,
				what > "/dev/stderr"
			bad = 1
		}
		{ sub(/\r$/, "") }
		/KHO: early boot used [0-9]+ MiB of [0-9]+ MiB scratch/ {
			for (i = 1; i < NF; i++)
				if ($i == "used") {
					print v, n, r, "scratch_used_mib", $(i + 1)
					break
				}
		}
		$2 == "BENCH" && $3 == "mark" {
			if (!($4 in t)) t[$4] = $1
			next
		}
		/ liveupdate: prepared for retrieve: .* in [0-9]+ us/ {
			for (i = 1; i < NF; i++)
				if ($(i + 1) == "us")
					prep += $i
		}
		$2 == "BENCH" && $3 == "ERROR:" {
			$1 = $2 = $3 = ""
			loud(substr($0, 4))
			next
		}
		$2 == "BENCH" {
			for (i = 3; i <= NF; i++) {
				split($i, kv, "=")
				print v, n, r, kv[1], kv[2]
				if (kv[1] !~ /bad/)
					continue
				result = 1
				if (kv[2] != 0)
					loud($i)
			}
		}
		END {
			start = ("save" in t) ? t["save"] : t["reboot"]
			if (checked && ("usable" in t) && !bad &&
			    !(("verified" in t) && result))
				loud("the check did not end")
			if (prep != "")
				print v, n, r, "prepare_us", prep
			if (!bad && start != "" && ("usable" in t)) {
				printf "%s %s %s blackout_ms %.3f\n", v, n, r,
					(t["usable"] - start) * 1000
				if ("verified" in t)
					printf "%s %s %s verified_ms %.3f\n", v, n, r,
						(t["verified"] - start) * 1000
			} else {
				printf "%s %s %s failed 1\n", v, n, r
			}
		}' "$log" >> "$raw"
	grep -q "^$v $name $run failed" "$raw" &&
		echo "  $v $name run $run: no result (see $log)" >&2
}

if [ "$report_only" = 1 ]; then
	cp "$raw.last" "$raw"
else
echo "Benchmark: $runs runs of each scenario, memfd sizes $sizes MiB, KVM guest RAM $vm_mibs MiB, $mem of memory; ${ranges:-no} preserved ranges ($ranges_mem, kho_scratch=$ranges_scratch); logs in ${out#"$top"/}/logs"
first=${variants%% *}
for v in $variants; do
	for run in $(seq 1 "$runs"); do
		echo "  $v: run $run of $runs"
		for n in $ranges; do
			[ "$v" = "$first" ] || break
			boot_mem=$ranges_mem boot "$v" "rsv-$n" "$run" \
				lu.bench=kho lu.ranges="$n" kho_scratch="$ranges_scratch"
			[ "$n" -le "$plain_max" ] || continue
			boot_mem=$ranges_mem boot "$v" "plain-$n" "$run" \
				lu.bench=kho lu.ranges="$n" kho_scratch="$ranges_scratch" \
				kho_test_reserve=plain
		done
		boot "$v" kexec "$run" lu.bench=kexec
		for s in $sizes; do
			boot "$v" "luo-$s" "$run" lu.bench=luo lu.size="$s"
			[ "$s" -gt 0 ] || continue
			boot "$v" "huge-$s" "$run" lu.bench=luo lu.size="$s" \
				lu.huge=1 hugepages=$((s / 2 + 8))
			boot "$v" "disk-$s" "$run" lu.bench=disk lu.size="$s"
			boot "$v" "kho0-$s" "$run" lu.bench=kho lu.size="$s" lu.order=0
			boot "$v" "kho9-$s" "$run" lu.bench=kho lu.size="$s" lu.order=9
		done
		s=${sizes##* }
		[ -z "$s" ] || boot "$v" "finish-$s" "$run" lu.bench=finish lu.size="$s"
		for g in $vm_mibs; do
			boot "$v" "vm-shmem-$g" "$run" lu.bench=vm lu.size="$g" lu.ram=shmem
			boot "$v" "vm-huge-$g" "$run" lu.bench=vm lu.size="$g" \
				lu.ram=hugetlb hugepages=$((g / 2 + 8))
			boot "$v" "vm-gmem-$g" "$run" lu.bench=vm lu.size="$g" lu.ram=gmem
		done
		for g in $noprep_mibs; do
			boot "$v" "vmnp-shmem-$g" "$run" lu.bench=vm lu.size="$g" \
				lu.ram=shmem liveupdate.prepare=0
			boot "$v" "vmnp-huge-$g" "$run" lu.bench=vm lu.size="$g" \
				lu.ram=hugetlb hugepages=$((g / 2 + 8)) \
				liveupdate.prepare=0
			boot "$v" "vmnp-gmem-$g" "$run" lu.bench=vm lu.size="$g" \
				lu.ram=gmem liveupdate.prepare=0
		done
	done
done
cp "$raw" "$raw.last"
# What BENCH_REPORT_ONLY=1 needs to redo the report of this run.
for n in run_date cpus accel mem runs sizes vm_mibs noprep_mibs variants ranges plain_max ranges_mem ranges_scratch; do
	printf '%s=%q\n' "$n" "${!n}"
done > "$conf"
fi

# The phases of one blackout, from a boot's log: "PRE key ms" lines.
# The next kernel's lines carry its own clock; a line reaches the host
# after it was stamped, never before, so the smallest difference between
# the host's stamp and the kernel's is where that clock started, early in
# setup_arch() (the TSC's calibration). Before it: the old kernel's
# shutdown (to "Starting new kernel"), purgatory, which hashes every kexec
# segment, and the decompressor. After it, "Memory:" (printed once SMP is
# up and every struct page initialized, deferred ones included) and
# free_initmem() ("Freeing unused kernel image (initmem)") split the rest.
# A kernel whose TSC calibration against the PIT fails starts its clock
# again later (it goes back to 0): such a boot gives no split between
# purgatory and the kernel's early boot, only their sum ("phase_boot_ms").
# shellcheck disable=SC2016 # an awk program, expanded by awk
phases='
	{ sub(/\r$/, "") }
	$2 == "BENCH" && $3 == "mark" && !($4 in t) { t[$4] = $1 }
	jump == "" && /kexec_core: Starting new kernel/ { jump = $1; next }
	jump != "" && match($0, /^[0-9.]+ \[ *[0-9]+\.[0-9]+\]/) {
		s = substr($0, 1, RLENGTH)
		sub(/^[0-9.]+ \[ */, "", s)
		ts = s + 0
		if (ts < last) {
			late = 1	# the clock started again
			zero = ""
		}
		last = ts
		if (ts > 0 && (zero == "" || $1 - ts < zero))
			zero = $1 - ts
		if (/ Zone ranges:/ && ts == 0)
			late = 1	# no clock in setup_arch()
		if (/ Memory: [0-9]+K\//)
			mem = ts
		if (/Freeing unused kernel image \(initmem\)/)
			initmem = ts
	}
	END {
		start = ("save" in t) ? t["save"] : t["reboot"]
		if (start == "" || !("reboot" in t) || jump == "" || zero == "" ||
		    !("usable" in t) || mem == "" || initmem == "")
			exit
		printf "%s phase_old_ms %.1f\n", pre, (jump - start) * 1000
		printf "%s phase_boot_ms %.1f\n", pre, (zero + mem - jump) * 1000
		if (!late) {
			printf "%s phase_purgatory_ms %.1f\n", pre, (zero - jump) * 1000
			printf "%s phase_early_ms %.1f\n", pre, mem * 1000
		}
		printf "%s phase_initcalls_ms %.1f\n", pre, (initmem - mem) * 1000
		printf "%s phase_user_ms %.1f\n", pre, (t["usable"] - zero - initmem) * 1000
	}'

# Medians and spreads: "variant scenario key median min max n". A round
# boots every scenario once, back to back; "kexec_ratio" is a scenario's
# blackout divided by the plain kexec's of the same round, which the
# host's speed, drifting from round to round, affects much less than
# a ratio of medians taken over all rounds.
stats=$out/stats.txt
{
	cat "$raw"
	# Where each blackout went (see the table "Where the blackout goes").
	awk '$4 == "blackout_ms" { print $1, $2, $3 }' "$raw" |
	while read -r v n r; do
		# Not a log of a later run that did not end.
		log=$out/logs/$v-$n-$r.log
		[ -f "$log" ] && ! [ "$log" -nt "$raw.last" ] &&
			awk -v pre="$v $n $r" "$phases" "$log"
	done
	awk '$4 == "blackout_ms" { b[$1 " " $2 " " $3] = $5 }
	END {
		for (k in b) {
			split(k, f, " ")
			base = f[1] " kexec " f[3]
			if (f[2] == "kexec" || !(base in b) || b[base] <= 0)
				continue
			printf "%s %s %s kexec_ratio %.4f\n", f[1], f[2], f[3],
				b[k] / b[base]
			printf "%s %s %s kexec_diff_ms %.1f\n", f[1], f[2], f[3],
				b[k] - b[base]
		}
	}' "$raw"
} | sort -k1,1 -k2,2 -k4,4 -k5,5g | awk '
	function flush() {
		if (!n) return
		med = (n % 2) ? vals[(n + 1) / 2] : (vals[n / 2] + vals[n / 2 + 1]) / 2
		print key, med, vals[1], vals[n], n
		n = 0
	}
	{
		k = $1 " " $2 " " $4
		if (k != key) { flush(); key = k }
		vals[++n] = $5
	}
	END { flush() }' > "$stats"

get() {	# get VARIANT SCENARIO KEY FIELD (4 median, 5 min, 6 max)
	awk -v v="$1" -v s="$2" -v k="$3" -v f="$4" \
		'$1 == v && $2 == s && $3 == k { print $f; exit }' "$stats"
}

fmt() {	# fmt VARIANT SCENARIO KEY SCALE: "median [min-max]" scaled
	local m lo hi
	m=$(get "$1" "$2" "$3" 4)
	lo=$(get "$1" "$2" "$3" 5)
	hi=$(get "$1" "$2" "$3" 6)
	[ -n "$m" ] || { echo "-"; return; }
	awk -v m="$m" -v lo="$lo" -v hi="$hi" -v s="$4" \
		'BEGIN { printf "%.1f [%.1f-%.1f]", m / s, lo / s, hi / s }'
}

ratio() {	# ratio A B: A / B of medians
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'
}

spread() {	# spread VARIANT SCENARIO KEY FORMAT: median, min and max in FORMAT
	local m lo hi
	m=$(get "$1" "$2" "$3" 4)
	lo=$(get "$1" "$2" "$3" 5)
	hi=$(get "$1" "$2" "$3" 6)
	[ -n "$m" ] || { echo "-"; return; }
	awk -v m="$m" -v lo="$lo" -v hi="$hi" -v f="$4" \
		'BEGIN { printf f, m, lo, hi }'
}

kratio() {	# kratio VARIANT SCENARIO: "median [min-max]" of kexec_ratio
	spread "$1" "$2" kexec_ratio "%.2f [%.2f-%.2f]"
}

dfmt() {	# dfmt VARIANT SCENARIO: "median [min, max]" of kexec_diff_ms, signed
	spread "$1" "$2" kexec_diff_ms "%+.0f [%+.0f, %+.0f]"
}

csv=$out/bench.csv
table=$out/table.md
# The CSV splits a scenario into its kind and size ("luo-64": luo, 64;
# "vm-huge-1024": vm-huge, 1024; "kexec": kexec, no size). The size is
# in MiB, but for rsv and plain, where it is the number of ranges.
echo "variant,scenario,kind,size,metric,median,min,max,runs" > "$csv"
awk '{
	kind = $2
	size = ""
	if (match($2, /-[0-9]+$/)) {
		kind = substr($2, 1, RSTART - 1)
		size = substr($2, RSTART + 1)
	}
	printf "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", $1, $2, kind, size, $3, $4, $5, $6, $7
}' "$stats" >> "$csv"

onoff() {	# onoff VARIANT: "on" or "off", as the tables say it
	if [ "$1" = deferred ]; then echo on; else echo off; fi
}

# Runs whose data check failed, and how many runs checked, or failed.
corrupt=$(awk '$4 ~ /bad/ && $5 != 0 { print $1, $2, "run", $3 ":", $4 "=" $5 }' "$raw")
checked=$(awk '$4 ~ /bad/' "$raw" | wc -l)
failed=$(awk '$4 == "failed"' "$raw" | wc -l)

{
echo "Live update benchmark, $run_date, $cpus CPUs, QEMU ${accel%% -cpu*} (${mem} guest), $(cat "$build/BASE_VERSION" 2>/dev/null)"
echo
echo "Blackout: from reboot() to the data usable by its owner, every session retrieved and its file mapped and readable; for the disk, from the start of the copy to disk to the data read back into memory (ms; median [min-max] of $runs runs). A ratio to the plain kexec is the median [min-max] over the runs of the scenario's blackout divided by the plain kexec's in the same round (each round boots every scenario once, back to back). The check of every word comes after it (next table)."
echo
echo "| deferred struct page init | preserved | live update | ratio to plain kexec | live update, 2 MiB HugeTLB | ratio to plain kexec | copy to disk + cold reboot | disk / live update |"
echo "|---|---|---|---|---|---|---|---|"
for v in $variants; do
	echo "| $(onoff "$v") | nothing (plain kexec) | $(fmt "$v" kexec blackout_ms 1) | 1.00 | | | | |"
	for s in $sizes; do
		l=$(get "$v" "luo-$s" blackout_ms 4)
		d=$(get "$v" "disk-$s" blackout_ms 4)
		echo "| $(onoff "$v") | $s MiB memfd | $(fmt "$v" "luo-$s" blackout_ms 1) | $(kratio "$v" "luo-$s") | $(fmt "$v" "huge-$s" blackout_ms 1) | $(kratio "$v" "huge-$s") | $(fmt "$v" "disk-$s" blackout_ms 1) | $(ratio "$d" "$l") |"
	done
done
if [ -n "$sizes" ]; then
echo
echo "Check: after the blackout, the guest's time to check every word of the data (ms)."
echo
echo "| deferred struct page init | preserved | live update | live update, 2 MiB HugeTLB | copy to disk |"
echo "|---|---|---|---|---|"
for v in $variants; do
	for s in $sizes; do
		[ "$s" -gt 0 ] || continue
		echo "| $(onoff "$v") | $s MiB memfd | $(fmt "$v" "luo-$s" check_ns 1000000) | $(fmt "$v" "huge-$s" check_ns 1000000) | $(fmt "$v" "disk-$s" check_ns 1000000) |"
	done
done
fi
echo
if [ -z "$corrupt" ]; then
	echo "Data: $checked runs checked their data after the blackout and found every word as it was preserved; $failed runs gave no result."
else
	echo "DATA CORRUPTED: $(echo "$corrupt" | wc -l) of $checked runs found data not as it was preserved ($failed runs gave no result, these among them):"
	echo
	while read -r line; do echo "    $line"; done <<< "$corrupt"
fi
if [ -n "$vm_mibs" ]; then
echo
echo "VM blackout: a KVM guest that keeps counting, from its last instruction before the update to its first after it (ms; the guest's RAM stays in place), against a plain kexec in the same round (ratio: median [min-max] over the runs, as above); and the VMM's part of it, from opening /dev/liveupdate to the guest's first exit. The check of the guest's RAM comes after it."
echo
echo "| deferred struct page init | guest RAM | plain kexec | shmem memfd | ratio to plain kexec | 2 MiB HugeTLB memfd | ratio | guest_memfd | ratio | VMM restore, shmem / HugeTLB / guest_memfd |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for v in $variants; do
	for g in $vm_mibs; do
		echo "| $(onoff "$v") | $g MiB | $(fmt "$v" kexec blackout_ms 1) | $(fmt "$v" "vm-shmem-$g" blackout_ms 1) | $(kratio "$v" "vm-shmem-$g") | $(fmt "$v" "vm-huge-$g" blackout_ms 1) | $(kratio "$v" "vm-huge-$g") | $(fmt "$v" "vm-gmem-$g" blackout_ms 1) | $(kratio "$v" "vm-gmem-$g") | $(fmt "$v" "vm-shmem-$g" vm_restore_ns 1000000) / $(fmt "$v" "vm-huge-$g" vm_restore_ns 1000000) / $(fmt "$v" "vm-gmem-$g" vm_restore_ns 1000000) |"
	done
done
fi
if [ -n "$vm_mibs" ] && grep -q " vm_retrieve_ns " "$raw"; then
echo
echo "The VMM's restore, in parts (ms, medians): retrieving the session and both files (RAM and state), rebuilding the VM on the RAM (KVM_CREATE_VM, the memory slot, the vCPU and its registers), and running the vCPU to its first exit (and writing the mark that ends the blackout)."
echo
echo "| deferred struct page init | guest RAM | backing | retrieve | rebuild | run | restore |"
echo "|---|---|---|---|---|---|---|"
for v in $variants; do
	for g in $vm_mibs; do
		for b in shmem huge gmem; do
			n=vm-$b-$g
			awk -v v="$(onoff "$v")" -v g="$g" -v b="$b" \
			    -v r="$(get "$v" "$n" vm_retrieve_ns 4)" \
			    -v c="$(get "$v" "$n" vm_build_ns 4)" \
			    -v u="$(get "$v" "$n" vm_run_ns 4)" \
			    -v t="$(get "$v" "$n" vm_restore_ns 4)" 'BEGIN {
				if (t == "") exit
				split("shmem memfd,2 MiB HugeTLB memfd,guest_memfd", names, ",")
				name = b == "shmem" ? names[1] : b == "huge" ? names[2] : names[3]
				printf "| %s | %s MiB | %s | %.1f | %.1f | %.1f | %.1f |\n",
					v, g, name, r / 1e6, c / 1e6, u / 1e6, t / 1e6 }'
		done
	done
done
fi
if [ -n "$noprep_mibs" ] && grep -q "vmnp-.* vm_retrieve_ns " "$stats"; then
echo
echo "Retrieve with the handed-over files prepared at boot (the default) and with liveupdate.prepare=0 (retrieve restores and checks the folio list itself, and a HugeTLB memfd's folios one by one), in the same rounds: the VMM's retrieve (ms, median [min-max]), their ratio, each blackout's ratio to the plain kexec of its round, and how long the next kernel's prepare took in the background (ms, summed over its log lines)."
echo
echo "| deferred struct page init | guest RAM | backing | retrieve, prepared | retrieve, prepare=0 | ratio | blackout / plain kexec, prepared | prepare=0 | prepare (background) |"
echo "|---|---|---|---|---|---|---|---|---|"
for v in $variants; do
	for g in $noprep_mibs; do
		for b in shmem huge gmem; do
			case $b in
			shmem) name="shmem memfd" ;;
			huge) name="2 MiB HugeTLB memfd" ;;
			gmem) name="guest_memfd" ;;
			esac
			r1=$(get "$v" "vm-$b-$g" vm_retrieve_ns 4)
			r0=$(get "$v" "vmnp-$b-$g" vm_retrieve_ns 4)
			[ -n "$r1" ] && [ -n "$r0" ] || continue
			echo "| $(onoff "$v") | $g MiB | $name | $(fmt "$v" "vm-$b-$g" vm_retrieve_ns 1000000) | $(fmt "$v" "vmnp-$b-$g" vm_retrieve_ns 1000000) | $(awk -v a="$r0" -v b="$r1" 'BEGIN { printf("%.1f", (b > 0) ? a / b : 0) }') | $(kratio "$v" "vm-$b-$g") | $(kratio "$v" "vmnp-$b-$g") | $(fmt "$v" "vm-$b-$g" prepare_us 1000) |"
		done
	done
done
fi
if grep -q " phase_user_ms " "$stats"; then
echo
echo "Where the blackout goes (ms, median of each part over the runs; the parts' medians need not add up to the blackout's): the old kernel (a VM: pausing the vCPU and writing its state) to its jump into the next kernel; purgatory (which hashes every kexec segment), the decompressor and the next kernel until its clock starts; from there to every struct page initialized (setup, SMP bring-up, deferred struct page init; these two parts from the runs whose kernel clock started in setup_arch()); the initcalls, the initramfs unpacked, to free_initmem(); user space to the data usable (init, the owner's retrieve; a VM: the VMM's restore and the guest's first instruction). The last column is the blackout minus the plain kexec's of the same round, median [min, max]: what live update adds, with most of the host's drift from round to round cancelled out; a single round's difference is mostly noise."
echo
echo "| deferred struct page init | scenario | old kernel | purgatory, decompressor | to memory ready | initcalls | user space | blackout | minus plain kexec |"
echo "|---|---|---|---|---|---|---|---|---|"
for v in $variants; do
	for n in kexec $(for s in $sizes; do echo "luo-$s"; done) \
		 $(for g in $vm_mibs; do echo "vm-shmem-$g vm-huge-$g vm-gmem-$g"; done); do
		[ -n "$(get "$v" "$n" phase_user_ms 4)" ] || continue
		d="-"
		[ "$n" = kexec ] || d=$(dfmt "$v" "$n")
		case $n in
		kexec) name="plain kexec" ;;
		luo-*) name="${n#luo-} MiB memfd" ;;
		vm-shmem-*) name="VM, ${n#vm-shmem-} MiB shmem memfd" ;;
		vm-huge-*) name="VM, ${n#vm-huge-} MiB 2 MiB HugeTLB memfd" ;;
		vm-gmem-*) name="VM, ${n#vm-gmem-} MiB guest_memfd" ;;
		esac
		awk -v v="$(onoff "$v")" -v n="$name" -v d="$d" \
		    -v a="$(get "$v" "$n" phase_old_ms 4)" \
		    -v c="$(get "$v" "$n" phase_purgatory_ms 4)" \
		    -v e="$(get "$v" "$n" phase_early_ms 4)" \
		    -v i="$(get "$v" "$n" phase_initcalls_ms 4)" \
		    -v u="$(get "$v" "$n" phase_user_ms 4)" \
		    -v t="$(get "$v" "$n" blackout_ms 4)" '
			function ms(x) { return x == "" ? "-" : sprintf("%.1f", x) }
			BEGIN {
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
					v, n, ms(a), ms(c), ms(e), ms(i), ms(u), ms(t), d
			}'
	done
done
fi
if [ -n "$sizes" ]; then
echo
echo "Restore: the next kernel's time to check and reserve preserved memory at boot, and to restore it, by folio order (ms): in bulk (kho_restore_folios() in batches of 512) and one folio at a time (kho_restore_folio()), each estimated from half of the folios of the same run."
echo
echo "| deferred struct page init | preserved | order-0 reserve | order-0 restore | one by one | order-9 reserve | order-9 restore | one by one |"
echo "|---|---|---|---|---|---|---|---|"
for v in $variants; do
	for s in $sizes; do
		[ "$s" -gt 0 ] || continue
		echo "| $(onoff "$v") | $s MiB | $(fmt "$v" "kho0-$s" reserve_ns 1000000) | $(fmt "$v" "kho0-$s" restore_ns 1000000) | $(fmt "$v" "kho0-$s" restore1_ns 1000000) | $(fmt "$v" "kho9-$s" reserve_ns 1000000) | $(fmt "$v" "kho9-$s" restore_ns 1000000) | $(fmt "$v" "kho9-$s" restore1_ns 1000000) |"
	done
done
fi
if [ -n "$ranges" ]; then
	first=${variants%% *}
	echo
	echo "Reserve at boot: the next kernel's time to check and reserve a handover of N single pages that no two touch, N ranges (µs), with memblock_reserve_sorted() and with one memblock_reserve() per range as 6.12 does without it (up to $plain_max ranges; beyond, it would take hours under TCG); deferred struct page init $(onoff "$first"), $ranges_mem of memory, kho_scratch=$ranges_scratch; and the scratch early boot used at its peak (MiB, memblock_reserve_sorted())."
	echo
	echo "| ranges | reserve, sorted | per range (ns) | reserve, one memblock_reserve() per range | per range (ns) | one by one / sorted | scratch used |"
	echo "|---|---|---|---|---|---|---|"
	for n in $ranges; do
		a=$(get "$first" "rsv-$n" reserve_ns 4)
		b=$(get "$first" "plain-$n" reserve_ns 4)
		awk -v n="$n" -v a="$a" -v b="$b" -v fa="$(fmt "$first" "rsv-$n" reserve_ns 1000)" \
		    -v fb="$(fmt "$first" "plain-$n" reserve_ns 1000)" \
		    -v su="$(get "$first" "rsv-$n" scratch_used_mib 4)" 'BEGIN {
			if (a != "" && a < 0) { fa = "refused"; a = "" }
			if (b != "" && b < 0) { fb = "refused"; b = "" }
			printf "| %d | %s | %s | %s | %s | %s | %s |\n", n, fa,
				a == "" ? "-" : sprintf("%.0f", a / n), fb,
				b == "" ? "-" : sprintf("%.0f", b / n),
				a == "" || b == "" || !a ? "-" : sprintf("%.1f", b / a),
				su == "" ? "-" : su }'
	done
	# Growth between the two largest N measured: time ~ N^k.
	for kind in rsv plain; do
		echo "$(for n in $ranges; do
			t=$(get "$first" "$kind-$n" reserve_ns 4)
			[ -n "$t" ] && echo "$n $t"
		done | tail -n 2 | tr '\n' ' ')"
	done | awk '{
		what = NR == 1 ? "sorted" : "one by one"
		if (NF == 4 && $1 != $3 && $2 > 0 && $4 > 0)
			line = line (line == "" ? "" : "; ") sprintf("%s, time grows as N^%.2f from %d to %d ranges", what, log($4 / $2) / log($3 / $1), $1, $3)
	} END { if (line != "") printf "\nGrowth: %s.\n", line }'
	bad=$(for n in $ranges; do
		r=$(get "$first" "rsv-$n" ranges 4)
		[ -z "$r" ] || [ "$r" -ge "$n" ] || echo "$n ($r reserved)"
	done)
	[ -z "$bad" ] || echo "WARNING: fewer ranges reserved than handed over: $bad"
fi
if [ -n "$sizes" ]; then
echo
s=${sizes##* }
echo "Tracker size per preserved GiB (bytes), and throughput of preserving and of finishing a $s MiB memfd (GiB/s)."
echo
echo "| deferred struct page init | tracker, order 0 | tracker, order 9 | preserve | finish (releases it) |"
echo "|---|---|---|---|---|"
for v in $variants; do
	t0=$(get "$v" "kho0-$s" tracker_bytes 4)
	t9=$(get "$v" "kho9-$s" tracker_bytes 4)
	p=$(get "$v" "luo-$s" preserve_ns 4)
	f=$(get "$v" "finish-$s" finish_ns 4)
	awk -v v="$(onoff "$v")" -v s="$s" -v t0="$t0" -v t9="$t9" -v p="$p" -v f="$f" 'BEGIN {
		g = s / 1024
		printf "| %s | %s | %s | %s | %s |\n", v,
			t0 == "" || !g ? "-" : sprintf("%d", t0 / g),
			t9 == "" || !g ? "-" : sprintf("%d", t9 / g),
			p == "" || !p ? "-" : sprintf("%.2f", g / (p / 1e9)),
			f == "" || !f ? "-" : sprintf("%.2f", g / (f / 1e9)) }'
done
fi
} > "$table"
cat "$table"

if [ -n "$sizes" ]; then
# The plot of the memfd scenarios: blackout against preserved size.
dat=$out/blackout.dat
{
	echo "# size_mib luo_on disk_on luo_off disk_off kexec_on kexec_off huge_on"
	for s in $sizes; do
		line=$s
		for col in "deferred luo-$s" "deferred disk-$s" \
			   "nodeferred luo-$s" "nodeferred disk-$s" \
			   "deferred kexec" "nodeferred kexec" \
			   "deferred huge-$s"; do
			# shellcheck disable=SC2086
			val=$(get $col blackout_ms 4)
			line="$line ${val:-NaN}"
		done
		echo "$line"
	done
} > "$dat"
gnuplot <<EOF || echo "Warning: gnuplot could not draw $out/bench.png (no data to plot?)" >&2
set terminal pngcairo size 900,540
set output "$out/bench.png"
set title "Blackout, to the data usable, against preserved memory (median of $runs runs)"
set xlabel "preserved memfd (MiB)"
set ylabel "blackout (ms)"
set key top left
set grid
set datafile missing "NaN"
plot "$dat" using 1:2 with linespoints title "live update, deferred init on", \
     "$dat" using 1:8 with linespoints title "live update, 2 MiB HugeTLB, on", \
     "$dat" using 1:4 with linespoints title "live update, deferred init off", \
     "$dat" using 1:6 with lines dashtype 2 title "plain kexec, on", \
     "$dat" using 1:3 with linespoints title "copy to disk + cold reboot, on", \
     "$dat" using 1:5 with linespoints title "copy to disk + cold reboot, off"
EOF
fi

if [ -n "$vm_mibs" ]; then
# The plot of the VM scenarios: the guest's blackout against its RAM,
# a line per backing and variant, and the plain kexec as a flat line.
# Columns: the size, then for each variant shmem, HugeTLB, guest_memfd
# and the plain kexec.
vdat=$out/vm-blackout.dat
{
	echo "# guest_ram_mib, then for each of $variants: shmem hugetlb gmem kexec"
	for g in $vm_mibs; do
		line=$g
		for v in $variants; do
			for sc in "vm-shmem-$g" "vm-huge-$g" "vm-gmem-$g" kexec; do
				val=$(get "$v" "$sc" blackout_ms 4)
				line="$line ${val:-NaN}"
			done
		done
		echo "$line"
	done
} > "$vdat"
plot=
col=2
dt=1
for v in $variants; do
	on=$(onoff "$v")
	plot="$plot${plot:+, }\"$vdat\" using 1:$col with linespoints lc 1 dt $dt title \"shmem memfd, $on\""
	plot="$plot, \"$vdat\" using 1:$((col + 1)) with linespoints lc 2 dt $dt title \"2 MiB HugeTLB memfd, $on\""
	plot="$plot, \"$vdat\" using 1:$((col + 2)) with linespoints lc 3 dt $dt title \"guest_memfd, $on\""
	plot="$plot, \"$vdat\" using 1:$((col + 3)) with lines lc 8 dt $((dt + 1)) title \"plain kexec, $on\""
	col=$((col + 4))
	dt=$((dt + 2))
done
gnuplot <<EOF || echo "Warning: gnuplot could not draw $out/vm-blackout.png (no data to plot?)" >&2
set terminal pngcairo noenhanced size 1100,540
set output "$out/vm-blackout.png"
set title "KVM guest blackout against its RAM (median of $runs runs)"
set xlabel "guest RAM (MiB)"
set ylabel "guest blackout (ms)"
set key outside right top
set grid
set yrange [0:*]
set datafile missing "NaN"
plot $plot
EOF
fi
# The plot of the reserve scenarios: time against ranges, log-log, for
# memblock_reserve_sorted() and one memblock_reserve() per range.
rdat=$out/reserve.dat
plots=
[ -z "$sizes" ] || plots="${out#"$top"/}/bench.png"
[ -z "$vm_mibs" ] || plots="${plots:+$plots, }${out#"$top"/}/vm-blackout.png"
if [ -n "$ranges" ]; then
	{
		echo "# ranges sorted_ms plain_ms"
		for n in $ranges; do
			a=$(get "${variants%% *}" "rsv-$n" reserve_ns 4)
			b=$(get "${variants%% *}" "plain-$n" reserve_ns 4)
			awk -v n="$n" -v a="$a" -v b="$b" 'BEGIN {
				printf "%d %s %s\n", n, a == "" ? "NaN" : a / 1e6,
					b == "" ? "NaN" : b / 1e6 }'
		done
	} > "$rdat"
	gnuplot <<EOF || echo "Warning: gnuplot could not draw $out/reserve.png (no data to plot?)" >&2
set terminal pngcairo noenhanced size 900,540
set output "$out/reserve.png"
set title "Reserving a handover at boot against its ranges (median of $runs runs)"
set xlabel "preserved ranges (single pages, no two touching)"
set ylabel "reserve time (ms)"
set logscale xy
set key top left
set grid
set datafile missing "NaN"
plot "$rdat" using 1:2 with linespoints title "memblock_reserve_sorted(), in chunks of 64k ranges", \
     "$rdat" using 1:3 with linespoints title "one memblock_reserve() per range (6.12)"
EOF
	plots="${plots:+$plots, }${out#"$top"/}/reserve.png"
fi
echo
echo "Table: ${table#"$top"/}  CSV: ${csv#"$top"/}  plots: $plots"
if [ -n "$corrupt" ]; then
	echo >&2
	echo "Error: DATA CORRUPTED: preserved data was not as it was preserved in:" >&2
	while read -r line; do echo "  $line"; done <<< "$corrupt" >&2
	exit 1
fi
