#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Fetch virtme-ng and Debian kernels into a cache for vmtest/run.sh.
# Uses a private apt configuration under $CACHE/apt, so the system's apt
# sources, lists and keyrings are never touched. Idempotent: with
# everything cached it takes seconds and needs no network.
#
#   vmtest/setup.sh [host]          host packages, private apt lists, virtme-ng
#   vmtest/setup.sh kernel NAME...  the above plus the named kernels
#   vmtest/setup.sh all             the above plus every kernel in kernels.txt
#   vmtest/setup.sh kunit           host, plus the kernel's KTAP parser (tools/testing/kunit of linux-source-6.1)
#   vmtest/setup.sh update          refresh the private apt lists
#   vmtest/setup.sh list            print the kernel names
#   vmtest/setup.sh --arch arm64 ...  the same for arm64 guests: kernels.txt's
#                                   packages with -arm64 for -amd64, a private
#                                   arm64 apt, and (kernel/all/rootfs) the arm64
#                                   root tree the guest boots on
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SECCOMPTRACE_CACHE:-/var/cache/seccomptrace}
KERNELS_TXT=$HERE/kernels.txt
# --arch arm64 (or SECCOMPTRACE_ARCH) switches to arm64 guests; see main.
ARCH=${SECCOMPTRACE_ARCH:-amd64}
APTDIR=$CACHE/apt
KDIR=$CACHE/kernels
HOST_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Debian suites we may take kernels or virtme-ng from.
MIRROR=${SECCOMPTRACE_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECCOMPTRACE_SECURITY_MIRROR:-http://security.debian.org/debian-security}
SUITES="bookworm bookworm-backports trixie trixie-backports sid bullseye"
SECURITY_SUITES="bookworm-security bullseye-security"
# virtme-ng 1.35 is only in trixie; it is pure Python and runs on bookworm.
VNG_SUITE=trixie
# vng's initramfs needs a static busybox (busybox-static replaces busybox);
# auditd provides auditctl, which the guest tests use to enable audit and add rules.
# python3-yaml and xz-utils: `make test` validates the CI YAML files and
# unpacks kunit.py; debian-archive-keyring is there on Debian, not on Ubuntu
# (GitHub's runners), and signs the private apt sources; systemd
# (systemd-analyze): the host test of contrib/'s unit file. crun and
# golang-github-containers-common (/usr/share/containers/seccomp.json, the
# profile podman applies) run the container VM tests: the guest sees the
# host's filesystem, so what is installed here is what the guest runs;
# prometheus scrapes the metrics endpoint in a VM test.
HOST_PACKAGES="qemu-system-x86 python3 python3-argcomplete python3-pkg-resources python3-requests file kmod busybox-static auditd python3-yaml xz-utils debian-archive-keyring systemd crun golang-github-containers-common prometheus"

# arm64 guests also need QEMU's aarch64 system emulator and mmdebstrap,
# which builds their root tree. Its packages are only unpacked (mmdebstrap's
# extract variant): no arm64 code runs on the host, so no qemu-user/binfmt.
HOST_PACKAGES_ARM64="qemu-system-arm mmdebstrap"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- kernels.txt ----------------------------------------------------------

# kernel_line NAME prints "SUITE PKG..." for NAME, without the comment.
kernel_line() {
	local name=$1 n rest
	while read -r n rest; do
		[[ $n == "$name" ]] && { printf '%s\n' "$rest"; return 0; }
	done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$KERNELS_TXT")
	return 1
}

kernel_names() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$KERNELS_TXT" | awk '{print $1}'
}

# --- host packages --------------------------------------------------------

host_packages() {
	local missing=() p all=$HOST_PACKAGES
	[[ $ARCH == arm64 ]] && all+=" $HOST_PACKAGES_ARM64"
	for p in $all; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	[[ $(id -u) -eq 0 ]] || die "missing host packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"
	log "installing host packages: ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# --- private apt ----------------------------------------------------------

# apt_private runs apt-get/apt-cache with only our config: APT_CONFIG is read
# before the system's apt.conf.d, and it points Dir::Etc::parts and
# Dir::Etc::main away from /etc/apt, so host settings (pins, extra index
# targets, proxies) do not leak in. Set http_proxy in the environment if needed.
apt_private() {
	local tool=$1; shift
	APT_CONFIG=$APTDIR/apt.conf "$tool" "$@"
}

write_apt_config() {
	mkdir -p "$APTDIR"/{lists/partial,cache/archives/partial,state,etc/apt.conf.d,etc/preferences.d,etc/trusted.gpg.d,keyrings}
	: >"$APTDIR/state/status.tmp" && mv -f "$APTDIR/state/status.tmp" "$APTDIR/state/status"
	cat >"$APTDIR/apt.conf.tmp" <<-EOF
	// Generated by vmtest/setup.sh; private apt config, see vmtest/README.md.
	Dir::Etc "$APTDIR/etc/";
	Dir::Etc::main "$APTDIR/etc/apt.conf";
	Dir::Etc::parts "$APTDIR/etc/apt.conf.d/";
	Dir::Etc::sourcelist "$APTDIR/sources.list";
	Dir::Etc::sourceparts "-";
	Dir::Etc::preferences "$APTDIR/etc/preferences";
	Dir::Etc::preferencesparts "$APTDIR/etc/preferences.d/";
	Dir::Etc::trusted "$APTDIR/etc/trusted.gpg";
	Dir::Etc::trustedparts "$APTDIR/etc/trusted.gpg.d/";
	Dir::State "$APTDIR/state/";
	Dir::State::Lists "$APTDIR/lists/";
	// An empty dpkg status: the host's installed packages are irrelevant here.
	Dir::State::status "$APTDIR/state/status";
	Dir::Cache "$APTDIR/cache/";
	Dir::Log "$APTDIR/log/";
	APT::Architecture "$ARCH";
	APT::Architectures { "$ARCH"; };
	Acquire::Languages "none";
	Acquire::Retries "3";
	EOF
	mv -f "$APTDIR/apt.conf.tmp" "$APTDIR/apt.conf"
	mkdir -p "$APTDIR/log"
	touch "$APTDIR/etc/apt.conf"
	write_sources
}

# newer_keyring is Debian's keyring taken from trixie's debian-archive-keyring
# package. It is needed only when the host's keyring lacks a key that signs a
# newer suite (sid/trixie-backports move to new keys before bookworm's keyring
# package learns them). The package is fetched through trixie, whose Release
# the host keyring verifies, so signature checking is never switched off.
NEWER_KEYRING=$APTDIR/keyrings/debian-archive-keyring.gpg

keyring_for() {
	case $1 in
	bookworm* | bullseye*) echo "$HOST_KEYRING" ;;
	*) if [[ -s $NEWER_KEYRING ]]; then echo "$NEWER_KEYRING"; else echo "$HOST_KEYRING"; fi ;;
	esac
}

# A mirror that lags behind may serve a Release file past its Valid-Until
# (seen for sid). Such suites are listed in $EXPIRED and get
# check-valid-until=no: signatures are still checked, only freshness is not.
EXPIRED=$APTDIR/expired-suites

source_line() {
	local url=$1 s=$2 opts
	opts="signed-by=$(keyring_for "$s")"
	if [[ -f $EXPIRED ]] && grep -qx "$s" "$EXPIRED"; then opts+=" check-valid-until=no"; fi
	echo "deb [$opts] $url $s main"
}

write_sources() {
	local s tmp=$APTDIR/sources.list.tmp
	{
		echo "# Generated by vmtest/setup.sh."
		for s in $SUITES; do source_line "$MIRROR" "$s"; done
		for s in $SECURITY_SUITES; do source_line "$SECURITY_MIRROR" "$s"; done
	} >"$tmp"
	if cmp -s "$tmp" "$APTDIR/sources.list"; then rm -f "$tmp"; else mv -f "$tmp" "$APTDIR/sources.list"; fi
}

# lists_fresh is true when the lists were fetched for the current sources.list.
lists_fresh() {
	[[ -f $APTDIR/lists/.stamp ]] && cmp -s "$APTDIR/lists/.stamp" "$APTDIR/sources.list"
}

apt_update() {
	local out rc=0
	log "apt-get update (private config in $APTDIR)"
	out=$(apt_private apt-get update -q 2>&1) || rc=$?
	# Progress lines are noise, and expired Release files are handled below.
	printf '%s\n' "$out" | grep -v -e '^\(Get\|Hit\|Ign\|Fetched\|Reading\)' -e 'InRelease is expired' >&2 || true
	if [[ $rc -ne 0 ]] || grep -q 'NO_PUBKEY\|not signed\|EXPKEYSIG\|is not valid\|is expired' <<<"$out"; then
		local new
		# Suites newly reported expired (not yet in $EXPIRED).
		new=$(sed -n 's|.*/dists/\([^/]*\)/InRelease is expired.*|\1|p' <<<"$out" | sort -u |
			comm -23 - <(sort -u "$EXPIRED" 2>/dev/null))
		if [[ -n $new ]]; then
			log "mirror serves expired Release files for: ${new//$'\n'/ }; retrying without the Valid-Until check for them"
			printf '%s\n' "$new" >>"$EXPIRED"
			write_sources
			apt_update
			return
		fi
		if [[ ! -s $NEWER_KEYRING ]] && grep -q 'NO_PUBKEY\|EXPKEYSIG' <<<"$out"; then
			fetch_newer_keyring
			write_sources
			apt_update
			return
		fi
		die "apt-get update failed with the private config; check network access to $MIRROR (http_proxy?) and retry: $0 update"
	fi
	cp "$APTDIR/sources.list" "$APTDIR/lists/.stamp"
}

fetch_newer_keyring() {
	local d
	log "host keyring lacks a newer Debian key; taking debian-archive-keyring from trixie"
	d=$(mktemp -d "$APTDIR/keyring.XXXXXX")
	chmod 755 "$d"
	download_into "$d" debian-archive-keyring/trixie
	dpkg -x "$d"/debian-archive-keyring_*.deb "$d/x"
	install -m 0644 "$d/x/usr/share/keyrings/debian-archive-keyring.gpg" "$NEWER_KEYRING"
	rm -rf "$d"
}

ensure_lists() {
	write_apt_config
	lists_fresh || apt_update
}

# download_into DIR PKG[/SUITE]... downloads .debs with apt's hash checks.
download_into() {
	local dir=$1; shift
	mkdir -p "$dir"
	# apt downloads as the unprivileged _apt user when it can write the target.
	if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$dir"; fi
	(cd "$dir" && apt_private apt-get download -q "$@" 2>&1 | { grep -v '^\(Get\|Fetched\)' >&2 || true; }) ||
		die "downloading $* failed; the package may have left the archive: run '$0 update', then check 'APT_CONFIG=$APTDIR/apt.conf apt-cache policy PKG' and fix $KERNELS_TXT"
}

# --- virtme-ng ------------------------------------------------------------

VNG_DIR=$CACHE/virtme-ng

vng_ok() { [[ -f $VNG_DIR/.complete ]]; }

setup_vng() {
	vng_ok && return 0
	ensure_lists
	local tmp
	tmp=$(mktemp -d "$CACHE/virtme-ng.XXXXXX")
	chmod 755 "$tmp" # let apt's _apt user reach the download folder
	log "fetching virtme-ng from $VNG_SUITE"
	download_into "$tmp/debs" "virtme-ng/$VNG_SUITE"
	dpkg -x "$tmp"/debs/virtme-ng_*.deb "$tmp/root"
	patch_init "$tmp/root"
	basename "$tmp"/debs/virtme-ng_*.deb >"$tmp/root/.complete"
	rm -rf "$VNG_DIR"
	mv "$tmp/root" "$VNG_DIR"
	rm -rf "$tmp"
	log "virtme-ng: $(cat "$VNG_DIR/.complete")"
}

# patch_init edits our private copy of virtme-ng's shell init (PID 1 in the
# guest). Debian's virtme-ng lacks the fast Rust virtme-ng-init, and the shell
# init needs udev to create /dev/virtio-ports/* (the command's stdio and exit
# status channels): on a host without udev the guest powers off with "cannot
# find script I/O ports". The patch
#   - creates those links itself when udev did not, and
#   - skips systemd-tmpfiles and udev coldplug when the kernel command line has
#     vmtest_fast=1 (run.sh passes it unless VMTEST_FAST_INIT=0): 8-14 s per boot.
patch_init() {
	local init=$1/usr/lib/python3/dist-packages/virtme/guest/virtme-init
	[[ -f $init ]] || die "virtme-ng package has no virtme/guest/virtme-init; pin a version with it in setup.sh (VNG_SUITE)"
	python3 - "$init" <<'PY' || die "cannot patch virtme-init of this virtme-ng version; update patch_init in vmtest/setup.sh"
import sys
path = sys.argv[1]
s = open(path).read()
edits = [
    ("if command -v systemd-tmpfiles &> /dev/null; then",
     "if [[ -z ${vmtest_fast:-} ]] && command -v systemd-tmpfiles &> /dev/null; then"),
    ("if [[ -n $udevd ]]; then",
     "if [[ -z ${vmtest_fast:-} && -n $udevd ]]; then"),
    ("# Install /proc/self/fd symlinks into /dev if not already present",
     "# vmtest: name the virtio serial ports as udev's rule would, if udev did not.\n"
     "if [[ ! -e /dev/virtio-ports ]]; then\n"
     "    mkdir -p /dev/virtio-ports\n"
     "    for p in /sys/class/virtio-ports/*; do\n"
     "        [[ -r $p/name ]] && ln -sf \"../${p##*/}\" \"/dev/virtio-ports/$(< \"$p/name\")\"\n"
     "    done\n"
     "fi\n\n"
     "# Install /proc/self/fd symlinks into /dev if not already present"),
]
for old, new in edits:
    if s.count(old) != 1:
        sys.exit("virtme-init: expected exactly one %r" % old)
    s = s.replace(old, new)
open(path, "w").write(s)
PY
}

# --- kunit.py -------------------------------------------------------------

# The kernel's own KTAP parser, tools/testing/kunit of Debian's
# linux-source-6.1: `make test` checks the conformance KTAP with it
# (vmtest/check-reports.py). Only that folder is unpacked (300 KB of a 140 MB
# package, streamed), and the .deb is not kept. kunit.py wants to live under
# a tools/testing/kunit path (it chdirs to the tree above), so the layout stays.
KUNIT_DIR=$CACHE/kunit
KUNIT_SOURCE=linux-source-6.1
KUNIT_SUITE=bookworm-security

setup_kunit() {
	[[ -f $KUNIT_DIR/.complete && -f $KUNIT_DIR/tools/testing/kunit/kunit.py ]] && return 0
	local tmp deb
	tmp=$(mktemp -d "$CACHE/kunit.XXXXXX")
	chmod 755 "$tmp" # let apt's _apt user reach the download folder
	# The regression lane keeps the same package; reuse it rather than fetch 140 MB again.
	deb=$(find "$CACHE/regression/debs" -maxdepth 1 -name "${KUNIT_SOURCE}_*_all.deb" 2>/dev/null | sort | tail -n1) || true
	if [[ -z $deb ]]; then
		ensure_lists
		log "fetching $KUNIT_SOURCE ($KUNIT_SUITE, about 140 MB) for tools/testing/kunit"
		download_into "$tmp/debs" "$KUNIT_SOURCE/$KUNIT_SUITE"
		deb=$(find "$tmp/debs" -maxdepth 1 -name "${KUNIT_SOURCE}_*_all.deb" | head -n1)
	fi
	[[ -n $deb ]] || die "no $KUNIT_SOURCE .deb after the download; check 'APT_CONFIG=$APTDIR/apt.conf apt-cache policy $KUNIT_SOURCE'"
	mkdir "$tmp/root"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$KUNIT_SOURCE.tar.xz" |
		tar -xJ -C "$tmp/root" --strip-components=1 "$KUNIT_SOURCE/tools/testing/kunit" ||
		die "cannot unpack tools/testing/kunit from $deb"
	[[ -f $tmp/root/tools/testing/kunit/kunit.py ]] || die "$deb has no tools/testing/kunit/kunit.py"
	basename "$deb" >"$tmp/root/.complete"
	rm -rf "$KUNIT_DIR"
	mv "$tmp/root" "$KUNIT_DIR"
	rm -rf "$tmp"
	log "kunit.py ready: $KUNIT_DIR/tools/testing/kunit/kunit.py ($(cat "$KUNIT_DIR/.complete"))"
}

# --- kernels --------------------------------------------------------------

setup_kernel() {
	local name=$1 line suite pkgs=() p dir tmp kver want
	line=$(kernel_line "$name") || die "unknown kernel '$name'; valid: $(kernel_names | tr '\n' ' ')(see $KERNELS_TXT)"
	read -r suite line <<<"$line"
	read -r -a pkgs <<<"$line"
	[[ ${#pkgs[@]} -gt 0 ]] || die "kernel '$name' in $KERNELS_TXT lists no packages"
	# arm64: the same kernel builds, Debian's -arm64 flavour.
	[[ $ARCH == amd64 ]] || pkgs=("${pkgs[@]/%-amd64/-$ARCH}")
	dir=$KDIR/$name
	want="$suite ${pkgs[*]}"
	if [[ -f $dir/.complete ]] && [[ $(head -n1 "$dir/.complete") == "$want" ]]; then
		return 0
	fi
	ensure_lists
	tmp=$(mktemp -d "$KDIR/.$name.XXXXXX")
	chmod 755 "$tmp" # let apt's _apt user reach the download folder
	log "fetching kernel $name: ${pkgs[*]} ($suite)"
	local args=()
	for p in "${pkgs[@]}"; do args+=("$p/$suite"); done
	download_into "$tmp/debs" "${args[@]}"
	for p in "$tmp"/debs/*.deb; do dpkg -x "$p" "$tmp/root"; done
	# usr-merged packages (6.12 from trixie, 7.x) ship usr/lib/modules; vng
	# looks for lib/modules next to the kernel and the guest dies without it.
	if [[ ! -e $tmp/root/lib && -d $tmp/root/usr/lib/modules ]]; then
		ln -s usr/lib "$tmp/root/lib"
	fi
	kver=$(find "$tmp/root/lib/modules/" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n1)
	[[ -n $kver ]] || die "kernel $name: packages hold no lib/modules/VERSION; fix the package list in $KERNELS_TXT"
	# Pre-run depmod so vng need not write into the cache at boot time.
	depmod -b "$tmp/root" "$kver"
	{
		echo "$want"
		ls "$tmp/debs"
	} >"$tmp/root/.complete"
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
	rm -rf "$tmp"
	log "kernel $name ready: $(find_vmlinuz "$dir")"
}

# --- the arm64 root tree ----------------------------------------------------

# An arm64 guest cannot use the host's root: it boots on this tree, built
# once by mmdebstrap from Debian's own mirror (its apt setup is mmdebstrap's,
# temporary; /etc/apt is not read). The packages are unpacked, not configured
# (nothing arm64 runs on the host): what virtme-ng's init, run.sh --in-vm and
# the tests call (bash, mount, dmesg, grep, sed, modprobe, auditctl),
# busybox-static for vng's initramfs, and the files a configured system would
# have (passwd, group, mount points) are made here. As on the x86 host:
# crun and containers-common's seccomp.json for the container tests,
# prometheus (and its promtool) for the metrics tests.
ROOTFS_SUITE=bookworm
ROOTFS_PACKAGES="base-files bash dash coreutils util-linux mount grep sed gawk findutils procps kmod gzip libc-bin busybox-static auditd iproute2 crun golang-github-containers-common prometheus"

setup_rootfs() {
	local dir=$CACHE/rootfs/$ARCH want tmp
	want="$ROOTFS_SUITE $ROOTFS_PACKAGES layout=2"
	if [[ -f $dir/.complete ]] && [[ $(head -n1 "$dir/.complete") == "$want" ]]; then
		return 0
	fi
	mkdir -p "$CACHE/rootfs"
	tmp=$(mktemp -d "$CACHE/rootfs/.$ARCH.XXXXXX")
	log "building the $ARCH root tree ($ROOTFS_SUITE, mmdebstrap --variant=extract)"
	mmdebstrap --quiet --mode=root --variant=extract --arch="$ARCH" \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--include="${ROOTFS_PACKAGES// /,}" \
		"$ROOTFS_SUITE" "$tmp/root" "deb [signed-by=$HOST_KEYRING] $MIRROR $ROOTFS_SUITE main" >&2 ||
		die "mmdebstrap failed for the $ARCH root tree; check network access to $MIRROR"
	# What base-passwd's and the packages' maintainer scripts would have made.
	printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$tmp/root/etc/passwd"
	# tty: vng's init mounts devpts with gid=tty.
	printf '%s\n' 'root:x:0:' 'tty:x:5:' 'nogroup:x:65534:' >"$tmp/root/etc/group"
	: >"$tmp/root/etc/shadow"
	: >"$tmp/root/etc/hosts"
	# Mount points vng's init uses (the guest's root is read-only).
	mkdir -p "$tmp/root"/{root,tmp,proc,sys,dev,run,opt,srv,etc/lvm}
	chmod 1777 "$tmp/root/tmp"
	# poweroff -f and hostname, which vng's init calls, from busybox.
	ln -sf ../bin/busybox "$tmp/root/usr/sbin/poweroff"
	ln -sf busybox "$tmp/root/usr/bin/hostname"
	[[ -x $tmp/root/bin/busybox ]] || die "the $ARCH root tree has no /bin/busybox (busybox-static)"
	# vng's initramfs switches to /bin/sh (dash's postinst would make the link).
	[[ -e $tmp/root/bin/sh ]] || ln -s dash "$tmp/root/usr/bin/sh"
	echo "$want" >"$tmp/root/.complete"
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
	rm -rf "$tmp"
	log "$ARCH root tree ready: $dir"
}

# find_vmlinuz DIR prints the kernel image inside an unpacked kernel folder.
find_vmlinuz() {
	local f
	for f in "$1"/boot/vmlinuz-* "$1"/usr/lib/modules/*/vmlinuz; do
		[[ -f $f ]] && { echo "$f"; return 0; }
	done
	return 1
}

main() {
	if [[ ${1:-} == --arch ]]; then
		ARCH=${2:?--arch needs amd64 or arm64}
		shift 2
	fi
	case $ARCH in
	amd64) ;;
	arm64)
		# Its own apt state, kernels and lock: x86 runs sharing the cache are not disturbed.
		APTDIR=$CACHE/apt-arm64
		KDIR=$CACHE/kernels-arm64
		EXPIRED=$APTDIR/expired-suites
		NEWER_KEYRING=$APTDIR/keyrings/debian-archive-keyring.gpg
		# Only the suites of the arm64 kernels (kernels.txt's 6.1 and 6.12).
		SUITES="bookworm trixie"
		SECURITY_SUITES="bookworm-security"
		;;
	*) die "--arch must be amd64 or arm64, not '$ARCH'" ;;
	esac
	local cmd=${1:-host}
	[[ $# -gt 0 ]] && shift
	[[ -f $KERNELS_TXT ]] || die "missing $KERNELS_TXT"
	case $cmd in
	list) kernel_names; return ;;
	-h | --help | help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; return ;;
	vmlinuz)
		local d=$KDIR/${1:?usage: setup.sh vmlinuz NAME}
		[[ -f $d/.complete ]] || die "kernel '$1' is not set up; run: vmtest/setup.sh --arch $ARCH kernel $1"
		find_vmlinuz "$d"
		return
		;;
	esac
	mkdir -p "$KDIR" || die "cannot create $CACHE; run as root or set SECCOMPTRACE_CACHE to a writable folder"
	# One setup at a time: parallel `make vmtest` jobs may all start here.
	local lock=$CACHE/.setup.lock
	[[ $ARCH == amd64 ]] || lock=$CACHE/.setup-$ARCH.lock
	exec 9>"$lock"
	flock 9
	host_packages
	case $cmd in
	host) setup_vng ;;
	rootfs) setup_rootfs ;;
	kunit)
		setup_vng
		setup_kunit
		;;
	update)
		write_apt_config
		apt_update
		;;
	kernel)
		[[ $# -gt 0 ]] || die "usage: setup.sh kernel NAME...; valid names: $(kernel_names | tr '\n' ' ')"
		setup_vng
		local n
		for n in "$@"; do setup_kernel "$n"; done
		[[ $ARCH == amd64 ]] || setup_rootfs
		;;
	all)
		setup_vng
		local n
		for n in $(kernel_names); do setup_kernel "$n"; done
		[[ $ARCH == amd64 ]] || setup_rootfs
		;;
	*) die "unknown command '$cmd'; use: setup.sh [--arch amd64|arm64] [host|kernel NAME...|rootfs|kunit|all|update|list]" ;;
	esac
}

# Sourcing the file (for tests) defines the functions without running main.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
