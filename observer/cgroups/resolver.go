// SPDX-License-Identifier: Apache-2.0

package cgroups

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Resolver turns cgroup ids into cgroups, each once: a cgroup v2 id is
// the inode number of the cgroup's directory, so an id the cache lacks is
// opened by file handle (kernfs handles are the id itself; it needs
// CAP_DAC_READ_SEARCH) or, where that is refused, found by walking the
// hierarchy. Walks are bounded: at most one per MinRewalk, and an id a
// walk did not find stays unknown until the next. Not safe for concurrent
// use: its owner (observer.Decoder) serialises it.
type Resolver struct {
	// mount is where the hierarchy is mounted ("" until found), root the
	// mount's root within it ("/" unless a cgroup namespace or a bind
	// mount shows a part of it).
	mount, root string
	found       bool
	err         error
	// handles: ids may be opened by handle (cgroup2, not refused yet).
	handles bool
	mountFD int
	byID    map[uint64]*Cgroup
	// MinRewalk is the least time between two walks.
	MinRewalk time.Duration
	lastWalk  time.Time
	walks     int
}

// maxCgroups bounds the cache: past it the cache starts afresh, which only
// costs resolving again.
const maxCgroups = 1 << 16

// DefaultMinRewalk is how often a walk may run, at most.
const DefaultMinRewalk = 250 * time.Millisecond

// NewResolver returns a resolver for the cgroup v2 hierarchy mounted at
// mount, or, for "", the one this process sees (found in
// /proc/self/mountinfo at the first lookup). A mount that is not cgroup2
// (a test's tree of directories) is only walked.
func NewResolver(mount string) *Resolver {
	r := &Resolver{byID: make(map[uint64]*Cgroup), mountFD: -1, MinRewalk: DefaultMinRewalk}
	if mount != "" {
		r.mount, r.root, r.found = filepath.Clean(mount), "/", true
		r.handles = isCgroup2(r.mount)
	}
	return r
}

// cgroup2Magic is CGROUP2_SUPER_MAGIC.
const cgroup2Magic = 0x63677270

func isCgroup2(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == cgroup2Magic
}

// Mount returns where the hierarchy is mounted, and the mount's root
// within it.
func (r *Resolver) Mount() (mount, root string, err error) {
	r.find()
	return r.mount, r.root, r.err
}

func (r *Resolver) find() {
	if r.found {
		return
	}
	r.found = true
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		r.err = fmt.Errorf("finding the cgroup2 mount: %w", err)
		return
	}
	defer f.Close()
	m, err := FindMount(f)
	if err != nil {
		r.err = err
		return
	}
	r.mount, r.root = m.Point, m.Root
	r.handles = true
}

// MountInfo is a cgroup2 mount from /proc/self/mountinfo.
type MountInfo struct {
	Point string // where it is mounted
	Root  string // the mount's root within the hierarchy
}

// FindMount finds the cgroup2 mount in a mountinfo file: at
// /sys/fs/cgroup (unified), else /sys/fs/cgroup/unified (hybrid), else
// the first.
func FindMount(mountinfo io.Reader) (MountInfo, error) {
	var found []MountInfo
	sc := bufio.NewScanner(mountinfo)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, p := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(p) < 1 || p[0] != "cgroup2" {
			continue
		}
		found = append(found, MountInfo{Point: unescapeMountinfo(f[4]), Root: unescapeMountinfo(f[3])})
	}
	if err := sc.Err(); err != nil {
		return MountInfo{}, fmt.Errorf("reading mountinfo: %w", err)
	}
	for _, want := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		for _, m := range found {
			if m.Point == want {
				return m, nil
			}
		}
	}
	if len(found) > 0 {
		return found[0], nil
	}
	return MountInfo{}, errors.New("finding the cgroup2 mount: none in /proc/self/mountinfo")
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Lookup returns the cgroup with this id, seen in a record made at the
// time at, or nil when it cannot be found: removed already, outside this
// mount, or not found yet by a walk (one ran too recently). An id that a
// handle cannot open, or that a walk begun after at did not find, is gone
// for good: it is not looked for again.
func (r *Resolver) Lookup(id uint64, at time.Time) *Cgroup {
	if c, ok := r.byID[id]; ok {
		return c
	}
	if id == 0 {
		return nil
	}
	r.find()
	if r.err != nil {
		return nil
	}
	if r.handles {
		switch path, err := r.byHandle(id); {
		case err == nil:
			return r.add(id, path)
		case errors.Is(err, unix.ESTALE):
			return r.gone(id) // removed: no walk finds it either
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EINVAL):
			r.handles = false // no CAP_DAC_READ_SEARCH, or no kernfs handles: walk from now on
		}
	}
	if r.walks > 0 && r.lastWalk.After(at) {
		return r.gone(id) // it existed at `at`, and the walk since did not find it
	}
	now := time.Now()
	if r.walks > 0 && now.Sub(r.lastWalk) < r.MinRewalk {
		return nil
	}
	r.lastWalk = now
	r.walks++
	r.walk()
	if c := r.byID[id]; c != nil || !now.After(at) {
		return c
	}
	return r.gone(id)
}

// gone remembers that an id names no cgroup any more.
func (r *Resolver) gone(id uint64) *Cgroup {
	if len(r.byID) >= maxCgroups {
		clear(r.byID)
	}
	r.byID[id] = nil
	return nil
}

// add caches the cgroup id at path (from the mount point).
func (r *Resolver) add(id uint64, rel string) *Cgroup {
	if len(r.byID) >= maxCgroups {
		clear(r.byID)
	}
	c := New(id, r.hierPath(rel))
	r.byID[id] = c
	return c
}

// hierPath is the path in the hierarchy of rel, a path from the mount point.
func (r *Resolver) hierPath(rel string) string {
	return filepath.Join("/", r.root, rel)
}

// byHandle opens the cgroup by its kernfs file handle and reads its path
// back: the path from the mount point.
func (r *Resolver) byHandle(id uint64) (string, error) {
	if r.mountFD < 0 {
		// Not O_PATH: open_by_handle_at refuses such a descriptor (EBADF).
		fd, err := unix.Open(r.mount, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", fmt.Errorf("opening %s: %w", r.mount, unix.EOPNOTSUPP)
		}
		r.mountFD = fd
	}
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], id)
	fd, err := unix.OpenByHandleAt(r.mountFD, unix.NewFileHandle(fileIDKernfs, b[:]), unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	rel, ok := strings.CutPrefix(target, r.mount)
	if !ok || (rel != "" && rel[0] != '/') {
		// Not below this mount (a cgroup outside this namespace's view).
		return "", fmt.Errorf("cgroup %d is at %q, outside %s: %w", id, target, r.mount, unix.EINVAL)
	}
	if rel == "" {
		rel = "/"
	}
	return rel, nil
}

// fileIDKernfs is FILEID_KERNFS: a kernfs handle holds the node's 64-bit id.
const fileIDKernfs = 0xfe

// walk caches every cgroup under the mount.
func (r *Resolver) walk() {
	_ = filepath.WalkDir(r.mount, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil // a cgroup removed meanwhile, or a file: go on
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		rel := strings.TrimPrefix(p, r.mount)
		if rel == "" {
			rel = "/"
		}
		if _, ok := r.byID[st.Ino]; !ok {
			r.add(st.Ino, rel)
		}
		return nil
	})
}

// Close releases the mount's descriptor.
func (r *Resolver) Close() {
	if r.mountFD >= 0 {
		unix.Close(r.mountFD)
		r.mountFD = -1
	}
}

// Rel turns a --cgroup argument into a path in the hierarchy: a path
// under the mount point (/sys/fs/cgroup/system.slice/x) loses the mount
// point; any other is taken as a path in the hierarchy already.
func (r *Resolver) Rel(arg string) string {
	p := filepath.Clean("/" + arg)
	if mount, root, err := r.Mount(); err == nil && mount != "" {
		if rel, ok := strings.CutPrefix(p, mount); ok && (rel == "" || rel[0] == '/') {
			return filepath.Join("/", root, rel)
		}
	}
	return p
}
