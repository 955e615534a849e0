#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Configure a kernel tree so that vmtest/run.sh can boot its bare bzImage
# and seccomptrace can trace it: virtme-ng's minimal config (defconfig plus
# what vng needs), vmtest/kernel.config on top, every module built in (the
# guest boots the image without modules). The regression lane configures
# its kernels the same way (vmtest/regression/build.sh).
#
#   vmtest/kconfig.sh [--force] TREE     then: make -C TREE -j$(nproc) bzImage
#
# --force replaces an existing TREE/.config (kept as .config.old). Needs
# virtme-ng in the cache (vmtest/setup.sh) and the kernel's build tools
# (flex, bison, bc, libelf-dev, libssl-dev; dwarves for BTF).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SECCOMPTRACE_CACHE:-/var/cache/seccomptrace}
FRAGMENT=$HERE/kernel.config

die() { printf 'kconfig: error: %s\n' "$*" >&2; exit 1; }

force=0
[[ ${1:-} == --force ]] && { force=1; shift; }
[[ $# -eq 1 ]] || die "usage: vmtest/kconfig.sh [--force] TREE"
tree=$1
[[ -f $tree/Makefile && -f $tree/Kconfig && -d $tree/arch/x86 ]] || die "'$tree' is not a kernel source tree"
if [[ -e $tree/.config ]]; then
	[[ $force -eq 1 ]] || die "$tree/.config exists; pass --force to replace it (it is kept as .config.old)"
	mv -f "$tree/.config" "$tree/.config.old"
fi
[[ -f $CACHE/virtme-ng/.complete ]] || "$HERE/setup.sh" host >&2
command -v pahole >/dev/null || die "no pahole: install dwarves (CONFIG_DEBUG_INFO_BTF needs it)"

# Without an outer make's jobserver flags: this runs from `make kernel-config`.
kmake() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u MAKEOVERRIDES make -C "$tree" -s "$@"; }

# Each step warns about every symbol set twice (vng's list, then ours):
# their output is shown only when a step fails.
v=$CACHE/virtme-ng
out=$(cd "$tree" && PYTHONPATH=$v/usr/lib/python3/dist-packages /usr/bin/python3 "$v/usr/bin/virtme-configkernel" \
	--defconfig --custom "$FRAGMENT" 2>&1) || { printf '%s\n' "$out" >&2; die "virtme-configkernel failed in $tree"; }
# vng appends its own generic list after our fragment: apply ours again so it wins.
cat "$FRAGMENT" >>"$tree/.config"
out=$(kmake olddefconfig 2>&1 && kmake mod2yesconfig 2>&1) || { printf '%s\n' "$out" >&2; die "make olddefconfig/mod2yesconfig failed in $tree"; }

# olddefconfig drops a line whose dependencies are unmet (BTF without a new
# enough pahole, say) without a word: name each one.
missing=()
while IFS= read -r line; do
	[[ $line =~ ^CONFIG_[A-Z0-9_]+=.*$ ]] || continue
	grep -qxF -- "$line" "$tree/.config" || missing+=("$line")
done <"$FRAGMENT"
[[ ${#missing[@]} -eq 0 ]] || die "$tree/.config lacks ${missing[*]} (unmet dependencies: look them up with 'make menuconfig', /)"
echo "kconfig: $tree/.config is ready: make -C $tree -j\$(nproc) bzImage"
