#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the live update tests listed in vm/tests and print KTAP, ending
# with one line "N passed, N failed[, N skipped]". Exit status is 1 when
# anything failed, 2 on a usage or set-up error.
#
# Every VM test gets its own QEMU boot (TCG unless LU_KVM=1) and may
# cross any number of kexec reboots; its serial console is kept in
# build/logs/NAME.log. A timeout, a panic, an oops or warning, a stage
# never reached or a failing test program fails the test and prints the
# tail of its log.
#
# Usage: run.sh --all [NAME@sanitize...] | --all-sanitize | --list |
#               --demo NAME | NAME[@sanitize]...
# NAME@sanitize runs test NAME on the kernel built with KASAN, kmemleak,
# UBSAN and KFENCE (build-config.sh sanitize; its log in
# build/logs-sanitize/), with twice its memory (up to 4 GiB), 25% of it
# KHO scratch, and three times its timeout; --all-sanitize
# runs every VM test so. A sanitizer report or a memory leak found by
# the kmemleak scan at the end of every stage fails the test.
# Environment:
#   LU_KVM=1            use KVM (-accel kvm -cpu host) instead of TCG
#   LU_TIMEOUT_SCALE=N  multiply every VM timeout by N (default 1)
#   LU_QEMU_EXTRA=...   extra QEMU arguments for every VM
#   LU_JOBS=N           run up to N VM tests at a time (default: the CPU
#                       count, at most 4); the output keeps the list's order
#   LU_DEADLINE=T       start no test after T (seconds since the epoch):
#                       those left fail, "not started", so that a run with
#                       a time limit (CI) ends with its results and times
#                       rather than being killed

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../../../.." && pwd)
build=${LU_BUILD:-$top/build}
kernel=$build/kernel/arch/x86/boot/bzImage
initrd=$build/initramfs.cpio
logs=$build/logs
variant=
list=$here/tests
scale=${LU_TIMEOUT_SCALE:-1}

usage() {
	sed -n '/^# Usage:/,/^$/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

die() {
	echo "Error: $*" >&2
	exit 2
}

# --- the test list -------------------------------------------------------

declare -a T_NAME T_KIND T_STAGES T_MEM T_TIMEOUT T_CMD T_EXTRA
while read -r name kind stages mem tmo cmd extra; do
	case "$name" in ""|\#*) continue ;; esac
	T_NAME+=("$name"); T_KIND+=("$kind"); T_STAGES+=("$stages")
	T_MEM+=("$mem"); T_TIMEOUT+=("$tmo"); T_CMD+=("${cmd:-}")
	T_EXTRA+=("${extra:-}")
done < "$list"

find_test() {
	local i

	for i in "${!T_NAME[@]}"; do
		[ "${T_NAME[$i]}" = "$1" ] && { echo "$i"; return 0; }
	done
	return 1
}

# NAME or NAME@sanitize: the test's index, with the suffix kept.
find_sel() {
	local i

	i=$(find_test "${1%@sanitize}") || return 1
	case "$1" in
	*@sanitize)
		case "${T_KIND[$i]}" in
		vm|kunit) ;;
		*) return 1 ;;
		esac
		echo "$i@sanitize" ;;
	*) echo "$i" ;;
	esac
}

# Switch to the normal test kernel, or to the sanitized one.
use_variant() {
	variant=$1
	if [ "$variant" = sanitize ]; then
		kernel=$build/kernel-sanitize/arch/x86/boot/bzImage
		initrd=$build/initramfs-sanitize.cpio
		logs=$build/logs-sanitize
	else
		kernel=$build/kernel/arch/x86/boot/bzImage
		initrd=$build/initramfs.cpio
		logs=$build/logs
	fi
	mkdir -p "$logs"
}

demo=0
sel=()
case "${1:-}" in
--list)
	for i in "${!T_NAME[@]}"; do
		printf '%-16s %-7s stages=%s %s\n' "${T_NAME[$i]}" "${T_KIND[$i]}" \
			"${T_STAGES[$i]}" "${T_CMD[$i]}"
	done
	exit 0
	;;
--all)
	shift
	for i in "${!T_NAME[@]}"; do
		case "${T_KIND[$i]}" in
		demo|bench|distro) ;;
		*) sel+=("$i") ;;
		esac
	done
	for n in "$@"; do
		sel+=("$(find_sel "$n")") || die "no test named '$n' (see: make list)"
	done
	;;
--all-sanitize)
	for i in "${!T_NAME[@]}"; do
		case "${T_KIND[$i]}" in
		vm|kunit) sel+=("$i@sanitize") ;;
		esac
	done
	;;
--demo)
	demo=1
	[ $# -eq 2 ] || usage
	sel=("$(find_test "$2")") || die "no test named '$2' (see: make list)"
	;;
""|-h|--help)
	usage
	;;
*)
	for n in "$@"; do
		sel+=("$(find_sel "$n")") || die "no test named '$n' (see: make list)"
	done
	;;
esac

# --- the VM --------------------------------------------------------------

if [ "${LU_KVM:-0}" = 1 ]; then
	[ -w /dev/kvm ] || die "LU_KVM=1 but /dev/kvm is not usable"
	accel="-accel kvm -cpu host"
else
	accel="-accel tcg -cpu qemu64"
fi

need_vm() {
	command -v qemu-system-x86_64 >/dev/null ||
		die "qemu-system-x86_64 not found (apt-get install qemu-system-x86, or run make)"
	[ -f "$kernel" ] || die "no kernel at $kernel (run make)"
	[ -f "$initrd" ] || die "no initramfs at $initrd (run make)"
}

# vm_boot NAME MEM TIMEOUT LOG EXTRA: boot the VM for test NAME and wait
# until it resets itself (-no-reboot makes QEMU exit) or the timeout.
# Returns QEMU's status; 124 means the timeout hit.
vm_boot() {
	local name=$1 mem=$2 tmo=$(($3 * scale)) log=$4 extra=$5
	# no_timer_check: under TCG on a busy host the IO-APIC timer check
	# at boot can miss its ticks and panic ("timer doesn't work through
	# Interrupt-remapped IO-APIC"); a KVM guest skips it the same way.
	local qemu_extra=() append="console=ttyS0 panic=-1 oops=panic no_timer_check"

	# KASAN's shadow (1/8 of memory) and kmemleak's metadata take memory,
	# the shadow out of a kexec'd kernel's scratch memory too: VMs of up
	# to 2 GiB get twice their memory. Checks make the VM slower.
	if [ "$variant" = sanitize ]; then
		case "$mem" in
		*M) mem=$((${mem%M} * 2))M ;;
		1G|2G) mem=$((${mem%G} * 2))G ;;
		esac
		append="$append kho_scratch=25%"
		tmo=$((tmo * 3))
	fi

	append="$append lu.test=$name lu.stage=1"
	[ "$name" = kunit ] && append="$append kunit.enable=1"
	# EXTRA: kernel command line words, then "--" and QEMU arguments.
	local to_qemu=0
	for w in $extra -- ${LU_QEMU_EXTRA:-}; do
		if [ "$w" = -- ]; then
			to_qemu=1
		elif [ $to_qemu = 1 ]; then
			# @DISK@: a fresh 16 MiB disk image for this boot
			if [[ $w == *@DISK@* ]]; then
				rm -f "$log.disk"
				truncate -s 16M "$log.disk"
				w=${w//@DISK@/$log.disk}
			fi
			qemu_extra+=("$w")
		else
			append="$append $w"
		fi
	done

	# lu.kernels=A,B,...: stage N boots kernel N of build/kernels (made
	# by mkkernels.sh), each in the initramfs as /lu/kernels/NAME.
	local vm_kernel=$kernel vm_initrd=$initrd w k parts
	for w in $append; do
		case "$w" in
		lu.kernels=*)
			w=${w#lu.kernels=}
			vm_kernel=$build/kernels/${w%%,*}/bzImage
			parts=("$initrd")
			for k in $(echo "$w" | tr ',' '\n' | sort -u); do
				if [ -f "$build/kernels/$k.missing" ]; then
					cat "$build/kernels/$k.missing" > "$log"
					return 200
				fi
				if [ ! -f "$build/kernels/$k.cpio" ]; then
					echo "no kernel '$k' in build/kernels" \
						"(run make kernels)" > "$log"
					return 200
				fi
				parts+=("$build/kernels/$k.cpio")
			done
			# One per test: tests run side by side (LU_JOBS).
			vm_initrd=$log.initrd
			cat "${parts[@]}" > "$vm_initrd"
			;;
		esac
	done

	# shellcheck disable=SC2086
	set -- timeout --kill-after=5 "$tmo" qemu-system-x86_64 \
		-machine q35 $accel -smp 2 -m "$mem" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$vm_kernel" -initrd "$vm_initrd" -append "$append" \
		"${qemu_extra[@]}"
	if [ $demo = 1 ]; then
		"$@" -serial stdio </dev/null | tee "$log"
		return "${PIPESTATUS[0]}"
	fi
	"$@" -serial "file:$log" </dev/null >"$log.qemu" 2>&1
	local rc=$?
	[ "$vm_initrd" = "$initrd" ] || rm -f "$vm_initrd"
	return $rc
}

# Strip carriage returns; kernel lines keep their "[ time]" prefix.
clean_log() {
	tr -d '\r' < "$1"
}

# Kernel messages that mean the kernel is broken, whatever the test said.
kernel_trouble() {
	clean_log "$1" | grep -m1 -E \
		-e 'Kernel panic|BUG:|Oops|WARNING: |general protection fault' \
		-e 'Unable to handle|UBSAN:|KASAN:|kernel BUG at' \
		-e 'INFO: task .* blocked|rcu: INFO: .* stall|hung_task' \
		-e 'inconsistent lock state|possible recursive locking' \
		-e 'circular locking dependency|trying to register non-static key' \
		-e 'suspicious RCU usage|suspected memory leak|unreferenced object 0x'
}

# --- KTAP output ---------------------------------------------------------

passed=0
failed=0
skipped=0
num=0

# The last lines of a log; then, when the kernel reported trouble, the
# report itself from its first line (a stall names the stuck CPU's task
# and its stack there, long before the log ends): the closer to the
# result line, the likelier a truncated view of the output keeps it.
show_tail() {
	local first

	echo "# --- last lines of $(basename "$1") ---"
	clean_log "$1" | tail -n "${2:-30}" | sed 's/^/# /'
	first=$(kernel_trouble "$1")
	[ -n "$first" ] || return 0
	echo "# --- the first kernel report in $(basename "$1") ---"
	clean_log "$1" | grep -m1 -F -x -A 50 -- "$first" | sed 's/^/# /'
}

# A test run in a lane of its own prints "ok @N@ ..." and the main loop
# numbers and counts the results as it prints the tests in order (emit).
result() {	# result ok|fail|skip NAME [REASON]
	local tag=${variant:+@$variant} n=@N@

	if [ "$lanes" = 1 ]; then
		num=$((num + 1))
		n=$num
		case "$1" in
		ok) passed=$((passed + 1)) ;;
		skip) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	fi
	case "$1" in
	ok)	echo "ok $n $2$tag" ;;
	skip)	echo "ok $n $2$tag # SKIP ${3:-}" ;;
	*)	echo "not ok $n $2$tag${3:+ # $3}" ;;
	esac
}

emit() {	# emit FILE: a finished test's output, its results numbered
	local line

	while IFS= read -r line; do
		case "$line" in
		"ok @N@ "*"# SKIP"*) skipped=$((skipped + 1)) ;;
		"ok @N@ "*) passed=$((passed + 1)) ;;
		"not ok @N@ "*) failed=$((failed + 1)) ;;
		*) echo "$line"; continue ;;
		esac
		num=$((num + 1))
		echo "${line/@N@/$num}"
	done < "$1"
}

# --- test kinds ----------------------------------------------------------

run_static() {
	local name=$1 log=$logs/$1.log rc

	if [ -x "$top/scripts/static-checks.sh" ]; then
		"$top/scripts/static-checks.sh" "$name" >"$log" 2>&1
		rc=$?
	else
		echo "SKIP: the project's scripts/ are not in this tree" >"$log"
		rc=4
	fi
	sed -n 's/^SUMMARY: /# /p' "$log"
	case $rc in
	0) result ok "$name" ;;
	4) result skip "$name" "$(sed -n 's/^SKIP: //p' "$log" | head -n1)" ;;
	*) grep -v '^SUMMARY: ' "$log" | tail -n 40 | sed 's/^/# /'
	   result fail "$name" "see build/logs/$name.log" ;;
	esac
}

# Check what a VM boot left in its log. Prints the reason of a failure
# (nothing for success) and returns 0 pass, 1 fail, 4 skip.
judge_vm() {
	local log=$1 want=$2 qrc=$3 seen done_rc trouble bad

	seen=$(clean_log "$log" | sed -n 's/^# lu: stage \([0-9]*\) .*/\1/p' | tr '\n' ' ')
	done_rc=$(clean_log "$log" |
		  sed -n 's/^# lu: done stage [0-9]* rc=\([0-9]*\)$/\1/p' | tail -n1)
	trouble=$(kernel_trouble "$log")
	local last

	last=$(echo "$seen" | awk '{ print $NF }')

	if [ -n "$trouble" ]; then
		echo "kernel trouble: $trouble"
		return 1
	fi
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "timed out in stage ${last:-0} of $want"
		return 1
	fi
	if [ "$seen" != "$(seq -s ' ' 1 "$want") " ]; then
		echo "stages seen: ${seen:-none}; expected 1 to $want"
		return 1
	fi
	if [ -z "$done_rc" ]; then
		echo "the VM stopped in stage $last without finishing (qemu status $qrc)"
		return 1
	fi
	bad=$(clean_log "$log" | grep -v '^\[' | grep -m1 -E '^ *not ok |^Bail out!')
	if [ -n "$bad" ]; then
		echo "$bad"
		return 1
	fi
	# "# lu: expect-log TEXT": a kernel line of a later stage, for what
	# only the serial console sees (the kernel that logged it is gone).
	# A kernel line may be glued to its end on the console: that one
	# counts too, being logged after it.
	local want
	while IFS= read -r want; do
		if ! clean_log "$log" | awk -v w="$want" '
			!on && index($0, "# lu: expect-log " w) == 1 {
				on = 1
				if (index(substr($0, length(w) + 18), w)) { found = 1; exit }
				next
			}
			on && /^\[ *[0-9]+\.[0-9]+\] / && index($0, w) { found = 1; exit }
			END { exit !found }'; then
			echo "kernel log line not seen: $want"
			return 1
		fi
	done < <(clean_log "$log" | sed -n 's/^# lu: expect-log //p' |
		 sed 's/\[ *[0-9]*\.[0-9]*\] .*$//')
	case "$done_rc" in
	0) return 0 ;;
	4) echo "the test skipped itself"; return 4 ;;
	*) echo "test program exited with status $done_rc in stage $last"; return 1 ;;
	esac
}

# The test program's own output (lines without a kernel time stamp).
show_guest_output() {
	clean_log "$1" | grep -v -E '^\[ *[0-9]+\.[0-9]+\]' | grep -v '^$' |
		sed 's/^/    # /'
}

run_vm() {
	local i=$1 name=${T_NAME[$1]} log=$logs/${T_NAME[$1]}.log qrc why rc

	need_vm
	if [ "$variant" = sanitize ] && [[ " ${T_EXTRA[$i]} " == *" lu.kernels="* ]]; then
		result skip "$name" "it boots the kernels of lu.kernels=, not the sanitized one"
		return
	fi
	vm_boot "$name" "${T_MEM[$i]}" "${T_TIMEOUT[$i]}" "$log" "${T_EXTRA[$i]}"
	qrc=$?
	if [ $qrc = 200 ]; then		# a kernel of lu.kernels= is missing
		why=$(cat "$log")
		case "$why" in
		SKIP:*) result skip "$name" "${why#SKIP: }" ;;
		*) result fail "$name" "$why" ;;
		esac
		return
	fi
	[ $demo = 1 ] || show_guest_output "$log"
	why=$(judge_vm "$log" "${T_STAGES[$i]}" "$qrc")
	rc=$?
	case $rc in
	0) result ok "$name" ;;
	4) result skip "$name" "$why" ;;
	*) show_tail "$log"; result fail "$name" "$why" ;;
	esac
}

# KUnit runs while the kernel boots; every test case counts as a result.
run_kunit() {
	local i=$1 log=$logs/kunit.log qrc why rc parsed

	need_vm
	vm_boot kunit "${T_MEM[$i]}" "${T_TIMEOUT[$i]}" "$log" "${T_EXTRA[$i]}"
	qrc=$?
	why=$(judge_vm "$log" 1 "$qrc")
	rc=$?
	if [ $rc -ne 0 ]; then
		show_tail "$log"
		result fail kunit "$why"
		return
	fi
	# Strip the time stamps and keep the KTAP the KUnit executor printed.
	parsed=$(clean_log "$log" | sed -n 's/^\[ *[0-9]*\.[0-9]*\] //p' | awk '
		/^    # Subtest: / { suite = substr($0, 16); next }
		/^    (not )?ok [0-9]+ / {
			s = ($0 ~ /^    not ok/) ? "fail" : "ok"
			if ($0 ~ /# SKIP/) s = "skip"
			n = $0; sub(/^    (not )?ok [0-9]+ /, "", n); sub(/ #.*/, "", n)
			print s, "kunit:" suite "." n
			cases[suite]++
			next
		}
		/^(not )?ok [0-9]+ / {
			n = $0; sub(/^(not )?ok [0-9]+ /, "", n); sub(/ #.*/, "", n)
			if (!(n in cases)) {
				s = ($0 ~ /^not ok/) ? "fail" : "ok"
				if ($0 ~ /# SKIP/) s = "skip"
				print s, "kunit:" n
			}
		}')
	if [ -z "$parsed" ]; then
		result skip kunit "no KUnit suites are built into the test kernel"
		return
	fi
	while read -r s n; do
		case $s in
		ok) result ok "$n" ;;
		skip) result skip "$n" ;;
		*) result fail "$n" "see ${log#"$top"/}" ;;
		esac
	done <<< "$parsed"
}

# --- main ----------------------------------------------------------------

# run_one SEL: one selected test (index, or index@sanitize), then its time.
run_one() {
	local s=$1 i=${1%@*} start

	start=$(date +%s)
	case "${T_KIND[$i]}" in
	static) run_static "${T_NAME[$i]}" ;;
	kunit) run_kunit "$i" ;;
	vm|demo|distro) run_vm "$i" ;;
	bench) die "${T_NAME[$i]} is run by make bench" ;;
	*) die "test ${T_NAME[$i]}: unknown kind ${T_KIND[$i]}" ;;
	esac
	echo "# ${T_NAME[$i]}${variant:+@$variant}: $(($(date +%s) - start)) s"
	echo "$(($(date +%s) - start)) ${T_NAME[$i]}${variant:+@$variant}" >> "$times"
}

# Past LU_DEADLINE: SEL is not started, and fails.
too_late() {
	[ -n "${LU_DEADLINE:-}" ] && [ "$(date +%s)" -ge "$LU_DEADLINE" ] || return 1
	result fail "${T_NAME[${1%@*}]}" "not started: the run's time ran out (LU_DEADLINE)"
}

# The guest memory (MiB) test SEL's VM is given; see vm_boot.
vm_mib() {
	local s=$1 m=${T_MEM[${1%@*}]}

	case "$m" in
	*M) m=${m%M} ;;
	*G) m=$((${m%G} * 1024)) ;;
	*) m=0 ;;
	esac
	[ "$s" != "${s%@sanitize}" ] && [ "$m" -le 2048 ] && m=$((m * 2))
	echo "$m"
}

# Lanes: up to LU_JOBS tests at a time (default: the CPU count, at most
# 4; a TCG VM keeps about one CPU busy), within three quarters of the
# memory available now. Static checks (kernel builds) run alone. Each
# test's output is held back and printed in the order of the list.
lanes=${LU_JOBS:-$(nproc)}
[ "$lanes" -ge 1 ] 2>/dev/null || die "LU_JOBS must be a number of at least 1"
[ "$lanes" -gt 4 ] && [ -z "${LU_JOBS:-}" ] && lanes=4
[ $demo = 1 ] && lanes=1
mem_budget=$(awk '/^MemAvailable:/ { print int($2 / 1024 * 3 / 4) }' /proc/meminfo)

select_variant() {	# select_variant SEL
	if [ "$1" != "${1%@*}" ]; then
		use_variant "${1#*@}"
		[ -f "$kernel" ] || die "no sanitized kernel at $kernel (run make sanitize-kernel)"
	else
		use_variant ""
	fi
}
# Before any test starts: every kernel asked for is there. A test named
# twice runs once (two VMs would share its log).
declare -A seen_sel
uniq_sel=()
for s in "${sel[@]}"; do
	select_variant "$s"
	[ -n "${seen_sel[$s]:-}" ] && continue
	seen_sel[$s]=1
	uniq_sel+=("$s")
done
sel=("${uniq_sel[@]}")

mkdir -p "$logs"
echo "KTAP version 1"
[ -f "$build/BASE_VERSION" ] && echo "# base: $(cat "$build/BASE_VERSION")"
echo "# accel: ${accel%% -cpu*}; tests: ${#sel[@]}; lanes: $lanes"
[ -n "${LU_T0:-}" ] && echo "# building took $(($(date +%s) - LU_T0)) s"
[ -z "${LU_DEADLINE:-}" ] || [ "$LU_DEADLINE" -gt 0 ] 2>/dev/null ||
	die "LU_DEADLINE must be a time in seconds since the epoch"
t_start=$(date +%s)
times=$(mktemp "$build/.times.XXXXXX") || die "cannot make a file in $build"

if [ "$lanes" = 1 ]; then
	for s in "${sel[@]}"; do
		select_variant "$s"
		too_late "$s" || run_one "$s"
	done
else
	spool=$(mktemp -d "$build/.run.XXXXXX") || die "cannot make a spool directory in $build"
	q_out=() q_sel=() q_pid=()
	# Stop every lane, and the QEMU under it.
	killtree() {
		local c

		for c in $(pgrep -P "$1"); do killtree "$c"; done
		kill "$1" 2>/dev/null
	}
	stop_lanes() {
		local p

		for p in $(jobs -p); do killtree "$p"; done
		rm -rf "$spool"
	}
	trap 'stop_lanes; exit 130' INT
	trap 'stop_lanes; exit 143' TERM

	# Has lane K of the queue ended? Its status is in OUT.done, written
	# whole (renamed into place); a lane that died without it failed.
	ended() {
		[ -f "${q_out[$1]}.done" ] && return 0
		kill -0 "${q_pid[$1]}" 2>/dev/null && return 1
		[ -f "${q_out[$1]}.done" ] || echo 137 > "${q_out[$1]}.done"
		return 0
	}
	# Print the tests at the head of the queue that have ended.
	reap() {
		local rc s0 i0

		while [ ${#q_out[@]} -gt 0 ] && ended 0; do
			rc=$(cat "${q_out[0]}.done")
			s0=${q_sel[0]} i0=${q_sel[0]%@*}
			if [ "$rc" != 0 ] && [ "$rc" != 2 ] ||
			   ! grep -q '^\(not \)\{0,1\}ok @N@ ' "${q_out[0]}"; then
				if [ "$s0" != "$i0" ]; then
					use_variant "${s0#*@}"
				else
					use_variant ""
				fi
				result fail "${T_NAME[$i0]}" \
					"its lane ended with status $rc" >> "${q_out[0]}"
			fi
			emit "${q_out[0]}"
			if [ "$rc" = 2 ]; then	# a set-up error: die() in the lane
				stop_lanes
				exit 2
			fi
			q_out=("${q_out[@]:1}") q_sel=("${q_sel[@]:1}") q_pid=("${q_pid[@]:1}")
		done
	}
	# How many run, and the memory they hold.
	busy() {
		local k n=0 m=0

		for k in "${!q_out[@]}"; do
			ended "$k" && continue
			n=$((n + 1))
			m=$((m + $(vm_mib "${q_sel[$k]}")))
		done
		echo "$n $m"
	}

	# Does test I run alone? A static check does, unless its MEM is
	# "lane": one that builds no kernel runs beside the VMs.
	alone() {
		[ "${T_KIND[$1]}" = static ] && [ "${T_MEM[$1]}" != lane ]
	}

	k=0
	for s in "${sel[@]}"; do
		i=${s%@*}
		k=$((k + 1))
		while :; do
			reap
			read -r n m < <(busy)
			[ "$n" = 0 ] && break
			alone "$i" && { sleep 1; continue; }
			[ "$n" -lt "$lanes" ] &&
				[ $((m + $(vm_mib "$s"))) -le "$mem_budget" ] && break
			sleep 1
		done
		select_variant "$s"
		out=$spool/$k
		what=run_one
		[ -n "${LU_DEADLINE:-}" ] && [ "$(date +%s)" -ge "$LU_DEADLINE" ] && what=too_late
		( ("$what" "$s"); echo $? > "$out.rc"; mv "$out.rc" "$out.done" ) > "$out" 2>&1 &
		q_out+=("$out") q_sel+=("$s") q_pid+=($!)
		# A check that builds kernels runs alone: wait for it before
		# starting more.
		alone "$i" && wait $!
	done
	while [ ${#q_out[@]} -gt 0 ]; do
		reap
		[ ${#q_out[@]} -gt 0 ] && sleep 1
	done
	wait
	rm -rf "$spool"
	trap - INT TERM
fi
echo "# the tests took $(($(date +%s) - t_start)) s"
# Where the time went, next to the summary: a log shown by its end
# (CI's) keeps it.
if [ -s "$times" ]; then
	echo "# the slowest: $(sort -rn "$times" | head -n 8 |
		awk '{ printf "%s%s %s s", (NR > 1 ? ", " : ""), $2, $1 }')"
fi
rm -f "$times"
echo "1..$num"
summary="$passed passed, $failed failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ $failed -eq 0 ]
