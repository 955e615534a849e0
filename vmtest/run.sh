#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Run a command as root inside a VM booted from a real kernel (virtme-ng),
# with the host's filesystem visible, and return the command's exit status.
#
#   vmtest/run.sh [--arch amd64|arm64] [--kernel NAME|PATH] [--timeout SEC] [--rwdir DIR]... [--append ARG]... [--] CMD [ARGS...]
#
# --arch arm64 boots Debian's arm64 build of NAME under qemu-system-aarch64
# (TCG) on the arm64 root tree setup.sh builds, with the current folder
# shared at the same path: CMD must be an arm64 program (GOARCH=arm64).
# --append ARG adds ARG to the guest kernel's command line (e.g. audit=0).
# NAME is a line of vmtest/kernels.txt (fetched on first use by setup.sh);
# PATH is a bzImage/vmlinuz or a built kernel tree. Also usable as
# `go test -exec "$PWD/vmtest/run.sh --kernel 6.1"` (the test binary compiles
# on the host and runs in the guest).
#
# Exit status: the command's; 124 on timeout; 255 if the guest died (kernel
# panic, broken kernel folder); 2 on usage errors.
#
# Inside the guest this script runs again as `run.sh --in-vm CMD...`: it
# mounts bpffs/tracefs/debugfs, logs the kernel and its config, sets
# SECCOMPTRACE_VMTEST=1, runs CMD and prints the tail of dmesg on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
CACHE=${SECCOMPTRACE_CACHE:-/var/cache/seccomptrace}

log() { printf 'vmtest: %s\n' "$*" >&2; }
die() { printf 'vmtest: error: %s\n' "$*" >&2; exit 2; }

# ------------------------------------------------------------------ guest --

in_vm() {
	[[ $# -gt 0 ]] || die "--in-vm needs a command"
	export SECCOMPTRACE_VMTEST=1
	export HOME=${HOME:-/root}
	# vng mounts tracefs and debugfs but not bpffs; mount whatever is missing.
	# (Few processes: each exec costs ~0.1 s over 9p under TCG.)
	local mounts
	mounts=$(</proc/mounts)
	[[ $mounts == *" /sys/fs/bpf bpf "* ]] || mount -t bpf bpf /sys/fs/bpf || log "cannot mount bpffs"
	[[ $mounts == *" /sys/kernel/tracing tracefs "* ]] || mount -t tracefs tracefs /sys/kernel/tracing || true
	[[ $mounts == *" /sys/kernel/debug debugfs "* ]] || mount -t debugfs debugfs /sys/kernel/debug || true

	local kver
	kver=$(</proc/sys/kernel/osrelease)
	log "kernel $kver"
	# Debian kernels lack IKCONFIG_PROC; run.sh passes the packaged config.
	local cfg=${VMTEST_KCONFIG:-}
	[[ -r /proc/config.gz ]] && cfg=/proc/config.gz
	[[ -z $cfg && -r /boot/config-$kver ]] && cfg=/boot/config-$kver
	if [[ -n $cfg && -r $cfg ]]; then
		local line out=''
		while read -r line; do
			out+="$line "
			if [[ ${#out} -gt 150 ]]; then log "config: $out"; out=''; fi
		done < <(if [[ $cfg == *.gz ]]; then gzip -dc "$cfg"; else cat "$cfg"; fi |
			grep -E '^CONFIG_[A-Z0-9_]*(SECCOMP|AUDIT|BTF|KPROBE|FTRACE)[A-Z0-9_]*=' | grep -v '^CONFIG_HAVE_')
		[[ -n $out ]] && log "config: $out"
	else
		log "kernel config not found"
	fi

	# Only kernel messages logged while CMD ran are worth showing.
	local before rc=0
	before=$(dmesg 2>/dev/null | wc -l) || before=0
	"$@" || rc=$?
	if [[ $rc -ne 0 ]]; then
		log "'$1' exited with status $rc; kernel messages since it started (last ${VMTEST_DMESG_LINES:-50}):"
		dmesg 2>/dev/null | tail -n "+$((before + 1))" | tail -n "${VMTEST_DMESG_LINES:-50}" |
			grep . >&2 || log "(none)"
	fi
	return "$rc"
}

# ------------------------------------------------------------------- host --

usage() {
	sed -n '4,24p' "$SELF" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# resolve_kernel NAME|PATH prints what to pass to vng -r.
resolve_kernel() {
	local k=$1 dir setup=("$HERE/setup.sh" --arch "$ARCH")
	if [[ $k == */* || -e $k ]]; then
		[[ -e $k ]] || die "kernel '$k' not found; pass a bzImage/vmlinuz or a built kernel tree"
		# vng looks for modules relative to the image; give it an absolute path.
		realpath -- "$k"
		return
	fi
	dir=$CACHE/kernels/$k
	[[ $ARCH == amd64 ]] || dir=$CACHE/kernels-$ARCH/$k
	if [[ ! -f $dir/.complete ]]; then
		"$HERE/setup.sh" list | grep -qx -- "$k" ||
			die "unknown kernel '$k'; valid: $("$HERE/setup.sh" list | tr '\n' ' ')or a path to a bzImage"
		log "kernel $k ($ARCH) is not cached; running vmtest/setup.sh --arch $ARCH kernel $k"
		"${setup[@]}" kernel "$k" >&2
	fi
	"${setup[@]}" vmlinuz "$k"
}

# find_kconfig VMLINUZ prints the config that belongs to a kernel image:
# boot/config-VER (Debian), usr/lib/modules/VER/config (Debian 7.x), or the
# .config of a build tree.
find_kconfig() {
	local img=$1 dir base d
	dir=$(dirname "$img")
	base=$(basename "$img")
	[[ -d $img ]] && dir=$img
	for d in "$dir/config-${base#vmlinuz-}" "$dir/config" "$dir/.config" "$dir/../../../.config"; do
		[[ -f $d ]] && { realpath -- "$d"; return 0; }
	done
	return 0
}

# kernel_root IMAGE prints the folder that holds the kernel's modules: the
# one with lib/modules above the image (as vng looks for it), else the
# image's own folder (or the tree, if IMAGE is a folder).
kernel_root() {
	local d=$1
	[[ -d $d ]] && { echo "$d"; return; }
	d=$(dirname "$d")
	while [[ $d != / ]]; do
		[[ -d $d/lib/modules ]] && { echo "$d"; return; }
		d=$(dirname "$d")
	done
	dirname "$1"
}

# vng_cmd sets VNG to the command that runs virtme-ng: the copy unpacked by
# setup.sh (virtme-ng 1.35 is not in bookworm), or VMTEST_VNG if set.
vng_cmd() {
	if [[ -n ${VMTEST_VNG:-} ]]; then
		VNG=("$VMTEST_VNG")
		return
	fi
	local v=$CACHE/virtme-ng
	VNG=(env "PATH=$v/usr/bin:$PATH" "PYTHONPATH=$v/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"
		/usr/bin/python3 "$v/usr/bin/vng")
}

ensure_vng() {
	[[ -n ${VMTEST_VNG:-} || -f $CACHE/virtme-ng/.complete ]] && return 0
	log "virtme-ng is not cached; running vmtest/setup.sh"
	"$HERE/setup.sh" >&2
}

# use_kvm decides on KVM per VMTEST_KVM=auto|0|1. On some machines /dev/kvm
# works but Linux guests hang after decompression, so "auto" boots once with
# KVM under a short timeout and caches the answer in $CACHE/kvm.
use_kvm() {
	local mode=${VMTEST_KVM:-auto} vmlinuz=$1 kdir=$2 key cached rc=0
	case $mode in
	0 | no | off) return 1 ;;
	1 | yes | on) return 0 ;;
	auto) ;;
	*) die "VMTEST_KVM must be auto, 0 or 1, not '$mode'" ;;
	esac
	[[ -r /dev/kvm && -w /dev/kvm ]] || return 1
	key="$(uname -r) $(qemu-system-x86_64 --version | head -n1)"
	if [[ -f $CACHE/kvm ]]; then
		cached=$(cat "$CACHE/kvm")
		[[ ${cached% *} == "$key" ]] && { [[ ${cached##* } == 1 ]]; return; }
	fi
	log "probing KVM once (up to ${VMTEST_KVM_PROBE_TIMEOUT:-60}s; VMTEST_KVM=0 or 1 skips this)"
	timeout -k 5 "${VMTEST_KVM_PROBE_TIMEOUT:-60}" "${VNG[@]}" -r "$vmlinuz" --force-9p \
		--rodir "$kdir=$kdir" --append vmtest_fast=1 --exec true </dev/null >/dev/null 2>&1 || rc=$?
	local ok=0
	[[ $rc -eq 0 ]] && ok=1
	log "KVM $([[ $ok -eq 1 ]] && echo works || echo "does not work here (status $rc); using TCG")"
	# Cache the answer; a failed write only means probing again next time.
	{ echo "$key $ok" >"$CACHE/kvm.$$" && mv -f "$CACHE/kvm.$$" "$CACHE/kvm"; } 2>/dev/null || true
	[[ $ok -eq 1 ]]
}

host() {
	local kernel=${VMTEST_KERNEL:-} timeout=${VMTEST_TIMEOUT:-900} rwdirs=() appends=() d
	ARCH=${VMTEST_ARCH:-amd64}
	while [[ $# -gt 0 ]]; do
		case $1 in
		--arch) ARCH=${2:?--arch needs amd64 or arm64}; shift 2 ;;
		--arch=*) ARCH=${1#*=}; shift ;;
		--kernel) kernel=${2:?--kernel needs NAME or PATH}; shift 2 ;;
		--kernel=*) kernel=${1#*=}; shift ;;
		--timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
		--timeout=*) timeout=${1#*=}; shift ;;
		--rwdir) rwdirs+=("${2:?--rwdir needs a folder}"); shift 2 ;;
		--rwdir=*) rwdirs+=("${1#*=}"); shift ;;
		--append) appends+=("${2:?--append needs a kernel parameter}"); shift 2 ;;
		--append=*) appends+=("${1#*=}"); shift ;;
		-h | --help) usage ;;
		--) shift; break ;;
		-*) die "unknown option '$1'; see vmtest/run.sh --help" ;;
		*) break ;;
		esac
	done
	[[ $# -gt 0 ]] || die "no command given; usage: vmtest/run.sh --kernel NAME -- CMD [ARGS...]"
	for d in "${appends[@]}"; do
		[[ -n $d && $d != *[[:space:]]* ]] || die "--append wants one kernel parameter without spaces, not '$d'"
	done
	[[ -n $kernel ]] || die "no kernel given; use --kernel NAME (or VMTEST_KERNEL=NAME); valid: $("$HERE/setup.sh" list | tr '\n' ' ')"
	[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds, not '$timeout'"
	[[ $ARCH == amd64 || $ARCH == arm64 ]] || die "--arch must be amd64 or arm64, not '$ARCH'"

	ensure_vng
	local VNG vmlinuz
	vng_cmd
	vmlinuz=$(resolve_kernel "$kernel")

	# A `go test -exec` binary lives in a go-build folder; sharing that folder
	# read-write lets -coverprofile and friends reach the host.
	if [[ -f $1 && $1 == *.test ]]; then
		d=$(cd "$(dirname "$1")" && pwd)
		[[ $d == "$PWD" || $d == "$PWD"/* ]] || rwdirs+=("$d")
	fi

	# --force-9p: vng would otherwise spend ~3 s waiting for virtiofsd, which
	# cannot run on bookworm, before falling back to 9p by itself.
	# No --user root: vng already runs a script as root, and --user makes the
	# guest start it through `su -`, a login shell that costs seconds under TCG.
	local vng=(-r "$vmlinuz" --cpus "${VMTEST_CPUS:-2}" --memory "${VMTEST_MEMORY:-1G}" --force-9p)
	# The cwd is shared read-write, as in the old cilium run-tests.sh. vng 1.35
	# rejects a bare --rwdir outside its overlays when run from another folder
	# (it tests the guest path relative to the cwd), so spell out GUEST=HOST.
	for d in "$PWD" "${rwdirs[@]}"; do
		d=$(realpath -- "$d") || die "--rwdir: no folder '$d'"
		vng+=(--rwdir "$d=$d")
	done
	# The guest mounts a tmpfs over /var/cache (and /var/tmp, /run), which
	# would hide the kernel's modules and config from it: share the kernel's
	# folder again, read-only.
	local kdir
	kdir=$(kernel_root "$vmlinuz")
	vng+=(--rodir "$kdir=$kdir")
	if [[ $ARCH == arm64 ]]; then
		# The host's root is x86: the guest boots on the arm64 tree, in
		# which the shared folders need mount points (its root is read-only
		# in the guest, outside vng's tmpfs overlays). TCG only.
		local root=$CACHE/rootfs/arm64
		# setup.sh rebuilds it when its package list changed, else returns.
		"$HERE/setup.sh" --arch arm64 rootfs >&2
		for d in "$PWD" "${rwdirs[@]}" "$kdir"; do mkdir -p "$root/$(realpath -- "$d")"; done
		vng+=(--arch arm64 --root "$root" --disable-kvm)
	else
		use_kvm "$vmlinuz" "$kdir" || vng+=(--disable-kvm)
	fi
	# vmtest_fast=1 makes setup.sh's patched init skip udev and tmpfiles.
	[[ ${VMTEST_FAST_INIT:-1} == 1 ]] && vng+=(--append vmtest_fast=1)
	[[ ${VMTEST_VERBOSE:-0} == 1 ]] && vng+=(--verbose)
	for d in "${appends[@]}"; do vng+=(--append "$d"); done

	VMTEST_KCONFIG=${VMTEST_KCONFIG:-$(find_kconfig "$vmlinuz")}
	export VMTEST_KCONFIG

	# The guest starts with a clean environment: hand over our variables and
	# any named in VMTEST_PASSENV, and cd explicitly rather than rely on vng.
	local envs=() name
	for name in $(compgen -v | grep -E '^(SECCOMPTRACE_|VMTEST_)') ${VMTEST_PASSENV:-}; do
		[[ -v $name ]] && envs+=("$name=${!name}")
	done
	local cmd
	cmd="cd $(printf '%q' "$PWD") && exec env $(printf '%q ' "${envs[@]}" "$SELF" --in-vm "$@")"
	vng+=(--exec "$cmd")

	# qemu reopens /proc/self/fd/1 and /proc/self/fd/2 as files; if those
	# were regular files, its channels would overwrite each other. Pipes keep
	# the output intact whatever the caller redirects to.
	local out_pids=()
	exec 3> >(cat)
	out_pids+=($!)
	exec 4> >(cat >&2)
	out_pids+=($!)

	# vng has no timeout and killing it leaves qemu running. timeout(1) puts
	# itself and vng (hence qemu) in a new process group and signals the whole
	# group. stdin is /dev/null because a background group must not read the tty.
	local start=$SECONDS rc=0
	timeout -k 10 "$timeout" "${VNG[@]}" "${vng[@]}" </dev/null >&3 2>&4 &
	local pid=$!
	trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM HUP
	while :; do
		rc=0
		wait "$pid" || rc=$?
		# wait returns early (>128) when a trapped signal arrives; keep waiting.
		kill -0 "$pid" 2>/dev/null || break
	done
	trap - INT TERM HUP
	exec 3>&- 4>&-
	wait "${out_pids[@]}" 2>/dev/null || true

	local took=$((SECONDS - start))
	case $rc in
	124) log "timed out after ${timeout}s (--timeout/VMTEST_TIMEOUT); the VM was killed" ;;
	130 | 143) log "interrupted after ${took}s; the VM was stopped" ;;
	255) log "the VM died after ${took}s (kernel panic, qemu error or broken kernel folder); rerun with VMTEST_VERBOSE=1 to see the console" ;;
	*) log "kernel $kernel ($ARCH): exit status $rc after ${took}s" ;;
	esac
	return "$rc"
}

if [[ ${1:-} == --in-vm ]]; then
	shift
	in_vm "$@"
else
	host "$@"
fi
