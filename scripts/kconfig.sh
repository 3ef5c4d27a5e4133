#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Generate the test kernel's .config: tinyconfig, then the fragments
# merged over it, then olddefconfig. Every option a fragment sets must
# survive olddefconfig (an unmet dependency silently drops an option,
# which would make a test pass for the wrong reason), else stop and say
# which. The result replaces OBJDIR/.config only when it differs.
# LU_KCONFIG_LAX=1 skips that check, for a tree in the middle of the
# series, which does not have every option yet.
#
# Usage: kconfig.sh SRCDIR SCRATCHDIR OBJDIR FRAGMENT...

set -eu

src=$1
scratch=$2
obj=$3
shift 3

kmake() {
	make -s -C "$src" O="$scratch" ARCH=x86_64 "$@" >/dev/null
}

mkdir -p "$scratch" "$obj"
kmake tinyconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$scratch" \
	"$scratch/.config" "$@" >/dev/null
kmake olddefconfig

# What each option must be: the last fragment that sets it wins.
declare -A want from
for frag in "$@"; do
	while read -r line; do
		case "$line" in
		CONFIG_*=*)
			opt=${line%%=*}
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			;;
		*) continue ;;
		esac
		want[$opt]=$line
		from[$opt]=$(basename "$frag")
	done < "$frag"
done

bad=0
[ "${LU_KCONFIG_LAX:-}" = 1 ] && want=()
for opt in "${!want[@]}"; do
	got=$(grep -E "^($opt=|# $opt is not set)" "$scratch/.config" || true)
	# An option that is off may also be absent altogether.
	if [ "$got" != "${want[$opt]}" ] &&
	   ! { [ -z "$got" ] && [ "${want[$opt]#\# }" != "${want[$opt]}" ]; }; then
		echo "Error: ${from[$opt]}: wanted '${want[$opt]}', got '${got:-<absent>}' (a dependency is missing)" >&2
		bad=1
	fi
done
[ $bad -eq 0 ] || exit 1

if ! cmp -s "$scratch/.config" "$obj/.config"; then
	echo "  CONFIG  tinyconfig + $(for f in "$@"; do printf "%s " "${f#"$PWD"/}"; done)"
	cp "$scratch/.config" "$obj/.config"
fi
