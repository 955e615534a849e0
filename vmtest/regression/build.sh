#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Build the regression-lane kernels from Debian's linux-source-6.1, cached.
#
#   vmtest/regression/build.sh [VARIANT...]   build what is missing or stale (default: all)
#   vmtest/regression/build.sh image VARIANT  print the variant's bzImage (must be built)
#   vmtest/regression/build.sh list           print the variant names
#
# Variants: stock (as shipped), reverted (revert-patch4.patch: audited tasks
# log every action again, as before 4.18), noinline (seccomp-log-noinline.patch:
# seccomp_log becomes a hookable symbol). See vmtest/regression/README.md.
set -euo pipefail

REGRESSION_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMTEST_DIR=$(dirname "$REGRESSION_DIR")
CACHE=${SECCOMPTRACE_CACHE:-/var/cache/seccomptrace}
RDIR=$CACHE/regression
# Pinned so every machine builds the same kernel; the security archive keeps
# older versions for a while. Bump deliberately (README, "Bumping the source").
SOURCE_PACKAGE=linux-source-6.1
SOURCE_VERSION=${REGRESSION_SOURCE_VERSION:-6.1.192-2}
VARIANTS="stock reverted noinline"
FRAGMENT=$REGRESSION_DIR/kernel.config
BUILD_DEPS="flex bison bc libelf-dev libssl-dev dwarves build-essential xz-utils"
JOBS=${REGRESSION_JOBS:-$(nproc)}
# Builds share the machine with tests and VMs: stay out of their way.
NICE=${REGRESSION_NICE:-10}
# Bump when the build steps change in a way that must invalidate cached kernels.
EPOCH=1

TREE=$RDIR/tree   # the source with its objects (in-tree build), kept for incremental builds
OUT=$RDIR/out     # OUT/VARIANT/{bzImage,config,System.map,inputs,build-seconds}
LOGS=$RDIR/logs

log() { printf 'regression: %s\n' "$*" >&2; }
die() { printf 'regression: error: %s\n' "$*" >&2; exit 1; }

patch_of() {
	case $1 in
	stock) echo "" ;;
	reverted) echo "$REGRESSION_DIR/revert-patch4.patch" ;;
	noinline) echo "$REGRESSION_DIR/seccomp-log-noinline.patch" ;;
	*) die "unknown variant '$1'; valid: $VARIANTS" ;;
	esac
}

# --- host packages --------------------------------------------------------

build_deps() {
	local missing=() p
	for p in $BUILD_DEPS; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	[[ $(id -u) -eq 0 ]] || die "missing kernel build packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"
	log "installing kernel build packages: ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# --- source -----------------------------------------------------------------

# fetch_source downloads the pinned linux-source .deb through setup.sh's
# private apt configuration (never /etc/apt): setup.sh is sourced in a
# subshell for its ensure_lists/download_into, so both stay in one place.
# shellcheck disable=SC1091 # setup.sh is sourced by absolute path
fetch_source() {
	local deb=$RDIR/debs/${SOURCE_PACKAGE}_${SOURCE_VERSION}_all.deb
	[[ -s $deb ]] && { echo "$deb"; return 0; }
	log "downloading $SOURCE_PACKAGE $SOURCE_VERSION (about 140 MB)"
	mkdir -p "$RDIR/debs"
	chmod 755 "$RDIR" "$RDIR/debs" # apt downloads as its _apt user
	# setup.sh's lock: parallel setup.sh runs may be rewriting the same lists.
	if ! (exec 9>"$CACHE/.setup.lock" && flock 9 && source "$VMTEST_DIR/setup.sh" && ensure_lists && download_into "$RDIR/debs" "$SOURCE_PACKAGE=$SOURCE_VERSION") 2>/dev/null; then
		# Lists older than the pinned version, or the version has left the archive.
		log "not found in the private apt lists; refreshing them once"
		(exec 9>"$CACHE/.setup.lock" && flock 9 && source "$VMTEST_DIR/setup.sh" && write_apt_config && apt_update && download_into "$RDIR/debs" "$SOURCE_PACKAGE=$SOURCE_VERSION") ||
			die "cannot download $SOURCE_PACKAGE=$SOURCE_VERSION; see 'APT_CONFIG=$CACHE/apt/apt.conf apt-cache policy $SOURCE_PACKAGE' and set REGRESSION_SOURCE_VERSION (or bump SOURCE_VERSION in $0)"
	fi
	[[ -s $deb ]] || die "apt did not leave $deb; check 'ls $RDIR/debs'"
	echo "$deb"
}

# unpack_source makes TREE the pristine source of the pinned version.
unpack_source() {
	local deb stamp="$SOURCE_PACKAGE $SOURCE_VERSION" tmp
	[[ -f $TREE/.regression-source && $(<"$TREE/.regression-source") == "$stamp" ]] && return 0
	deb=$(fetch_source)
	log "unpacking $SOURCE_PACKAGE $SOURCE_VERSION into $TREE"
	rm -rf "$TREE" "$RDIR"/tree.tmp.*
	tmp=$(mktemp -d "$RDIR/tree.tmp.XXXXXX")
	dpkg -x "$deb" "$tmp/deb"
	tar -xJf "$tmp"/deb/usr/src/"$SOURCE_PACKAGE".tar.xz -C "$tmp" ||
		die "cannot unpack $deb (disk full? the tree needs about 4 GB with objects under $RDIR)"
	mv "$tmp/$SOURCE_PACKAGE" "$TREE"
	rm -rf "$tmp"
	echo "$stamp" >"$TREE/.regression-source"
}

# --- config -------------------------------------------------------------------

vng_version() { cat "$CACHE/virtme-ng/.complete"; }

config_inputs() {
	printf 'epoch %s\nsource %s %s\nvng %s\nfragment %s\n' "$EPOCH" "$SOURCE_PACKAGE" "$SOURCE_VERSION" \
		"$(vng_version)" "$(sha256sum <"$FRAGMENT" | cut -d' ' -f1)"
}

# configure writes TREE/.config: virtme-ng's minimal config (defconfig plus
# what vng needs) with our fragment on top. Called directly, not through
# `vng --kconfig`, so a user's ~/.config/virtme-ng/kernel.config cannot leak in.
configure() {
	local want
	want=$(config_inputs)
	[[ -f $TREE/.config && -f $TREE/.regression-config && $(<"$TREE/.regression-config") == "$want" ]] && return 0
	log "configuring (virtme-ng minimal config + $FRAGMENT)"
	local v=$CACHE/virtme-ng
	(cd "$TREE" && rm -f .config &&
		PYTHONPATH=$v/usr/lib/python3/dist-packages /usr/bin/python3 "$v/usr/bin/virtme-configkernel" \
			--defconfig --custom "$FRAGMENT" &&
		# vng appends its own generic list after our fragment (it sets
		# DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT, for one): apply ours again so it wins.
		cat "$FRAGMENT" >>.config && kmake olddefconfig &&
		# Build everything in: the guest boots a bare bzImage without modules.
		kmake mod2yesconfig) >"$LOGS/configure.log" 2>&1 ||
		die "configuring failed; see $LOGS/configure.log"
	check_config "$TREE/.config"
	echo "$want" >"$TREE/.regression-config"
}

# check_config fails when olddefconfig silently dropped a fragment line
# (an unmet dependency, e.g. DEBUG_INFO_BTF without a new enough pahole).
check_config() {
	local cfg=$1 line sym bad=()
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]]; then
			grep -qxF -- "$line" "$cfg" || bad+=("$line (got: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$cfg" || echo unset))")
		elif [[ $line =~ ^#\ (CONFIG_[A-Z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]}
			# Off, or invisible because what it depends on is off: both fine.
			! grep -qE "^$sym=" "$cfg" || bad+=("$line (got: $(grep -E "^$sym=" "$cfg"))")
		fi
	done <"$FRAGMENT"
	# AUDITSYSCALL is not user-settable; make sure it followed AUDIT.
	grep -qx 'CONFIG_AUDITSYSCALL=y' "$cfg" || bad+=("CONFIG_AUDITSYSCALL=y (derived from AUDIT)")
	! grep -qE '^CONFIG_[A-Z0-9_]+=m$' "$cfg" || bad+=("no modules (got: $(grep -cE '=m$' "$cfg") =m lines)")
	[[ ${#bad[@]} -eq 0 ]] ||
		die "config lacks: ${bad[*]}; fix $FRAGMENT (dependencies: 'make menuconfig' in $TREE, search with /)"
}

# --- build ----------------------------------------------------------------------

variant_inputs() {
	local p
	p=$(patch_of "$1")
	config_inputs
	printf 'variant %s\npatch %s\n' "$1" "$( [[ -n $p ]] && sha256sum <"$p" | cut -d' ' -f1 || echo none)"
}

is_current() {
	[[ -s $OUT/$1/bzImage && -f $OUT/$1/inputs && $(<"$OUT/$1/inputs") == "$(variant_inputs "$1")" ]]
}

# kmake runs the kernel's make: niced, and without an outer make's jobserver
# flags (this script runs from `make kernel-regression`).
kmake() {
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u MAKEOVERRIDES \
		nice -n "$NICE" make -j"$JOBS" "$@"
}

# build_in DIR VARIANT builds DIR's bzImage and copies it to OUT/VARIANT.
build_in() {
	local dir=$1 v=$2 start=$SECONDS logf=$LOGS/$2.log secs
	log "building $v in $dir (-j$JOBS, nice $NICE; log: $logf)"
	# LOCALVERSION makes `uname -r` in the guest name the variant it booted.
	if ! (cd "$dir" && kmake LOCALVERSION="-$v" bzImage) >"$logf" 2>&1; then
		tail -n 25 "$logf" >&2
		die "building $v failed; full log: $logf"
	fi
	secs=$((SECONDS - start))
	rm -rf "$OUT/$v.tmp"
	mkdir -p "$OUT/$v.tmp"
	cp "$dir/arch/x86/boot/bzImage" "$OUT/$v.tmp/bzImage"
	# run.sh finds the config next to the image (IKCONFIG_PROC has it too).
	cp "$dir/.config" "$OUT/$v.tmp/config"
	cp "$dir/System.map" "$OUT/$v.tmp/System.map"
	echo "$secs" >"$OUT/$v.tmp/build-seconds"
	variant_inputs "$v" >"$OUT/$v.tmp/inputs"
	rm -rf "${OUT:?}/$v"
	mv "$OUT/$v.tmp" "$OUT/$v"
	log "built $v in $((secs / 60))m$((secs % 60))s: $OUT/$v/bzImage"
}

build_stock() {
	is_current stock && return 0
	unapply
	build_in "$TREE" stock
}

# A variant is built in TREE itself: patch, make, copy the image out, undo
# the patch. make then recompiles only what the patch touches and relinks
# (minutes, not a full build). A copy of the tree would not do: the host
# tools (objtool, resolve_btfids) record absolute paths, get rebuilt in a
# copy, and every object depends on objtool, so everything recompiles.
# The applied patch is saved first, so a build interrupted at any point is
# undone by the next run.
APPLIED=$TREE/.regression-applied.patch

unapply() {
	[[ -f $APPLIED ]] || return 0
	patch -d "$TREE" -p1 -R --batch -s <"$APPLIED" ||
		die "cannot undo the variant patch left in $TREE ($APPLIED); remove $TREE and rerun to start over"
	rm -f "$APPLIED"
}

build_variant() {
	local v=$1 p
	is_current "$v" && return 0
	p=$(patch_of "$v")
	build_stock
	unapply
	patch -d "$TREE" -p1 --batch --forward --dry-run -s <"$p" >/dev/null ||
		die "$(basename "$p") does not apply to $SOURCE_PACKAGE $SOURCE_VERSION; regenerate it against $TREE (README, \"Bumping the source\")"
	cp "$p" "$APPLIED"
	patch -d "$TREE" -p1 --batch --forward -s <"$p"
	build_in "$TREE" "$v"
	unapply
}

main() {
	case ${1:-} in
	list) echo "$VARIANTS"; return ;;
	image)
		local v=${2:?usage: build.sh image VARIANT}
		patch_of "$v" >/dev/null
		[[ -s $OUT/$v/bzImage ]] || die "variant $v is not built; run: vmtest/regression/build.sh $v"
		echo "$OUT/$v/bzImage"
		return
		;;
	-h | --help | help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; return ;;
	esac
	local want=("$@") v
	[[ ${#want[@]} -gt 0 ]] || read -r -a want <<<"$VARIANTS"
	for v in "${want[@]}"; do patch_of "$v" >/dev/null; done
	mkdir -p "$RDIR" "$OUT" "$LOGS" || die "cannot create $RDIR; run as root or set SECCOMPTRACE_CACHE to a writable folder"
	# One build at a time: two would fight over TREE.
	exec 8>"$RDIR/.lock"
	flock -n 8 || { log "another build holds $RDIR/.lock; waiting"; flock 8; }
	local all_current=1
	for v in "${want[@]}"; do is_current "$v" 2>/dev/null || all_current=0; done
	if [[ $all_current -eq 1 ]]; then
		log "cached: ${want[*]} ($OUT)"
		return 0
	fi
	build_deps
	# virtme-ng (for its kernel config) and the private apt configuration.
	"$VMTEST_DIR/setup.sh" host
	unpack_source
	configure
	for v in "${want[@]}"; do
		if [[ $v == stock ]]; then build_stock; else build_variant "$v"; fi
	done
	for v in "${want[@]}"; do
		log "$v: $OUT/$v/bzImage ($(uname -m), built in $(<"$OUT/$v/build-seconds")s)"
	done
}

# Sourcing the file (for tests) defines the functions without running main.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
