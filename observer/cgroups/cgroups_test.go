// SPDX-License-Identifier: Apache-2.0

package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	id1 = "3f4e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
	id2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// The paths are what each runtime and driver create (cgroup v2).
func TestContainerAndUnit(t *testing.T) {
	for _, tc := range []struct {
		path           string
		id, runtime    string
		unit, userUnit string
	}{
		// docker, systemd driver, and its cgroupfs driver.
		{"/system.slice/docker-" + id1 + ".scope", id1, "docker", "docker-" + id1 + ".scope", ""},
		{"/docker/" + id1, id1, "docker", "", ""},
		// A container that runs systemd makes cgroups of its own below.
		{"/system.slice/docker-" + id1 + ".scope/system.slice/nginx.service", id1, "docker", "docker-" + id1 + ".scope", ""},
		// containerd's CRI plugin under the kubelet, systemd driver, and cgroupfs driver.
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b1e0f3c_2a44_4c1e_9d55_0e6f1a2b3c4d.slice/cri-containerd-" + id1 + ".scope",
			id1, "containerd", "cri-containerd-" + id1 + ".scope", ""},
		{"/kubepods/burstable/pod6b1e0f3c-2a44-4c1e-9d55-0e6f1a2b3c4d/" + id1, id1, "containerd", "", ""},
		{"/kubepods/besteffort/pod6b1e0f3c-2a44-4c1e-9d55-0e6f1a2b3c4d/" + id2, id2, "containerd", "", ""},
		// cri-o; its conmon is not the container.
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1f2e3d4c_5b6a_7980_a1b2_c3d4e5f60718.slice/crio-" + id2 + ".scope",
			id2, "cri-o", "crio-" + id2 + ".scope", ""},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1f2e3d4c_5b6a_7980_a1b2_c3d4e5f60718.slice/crio-conmon-" + id2 + ".scope",
			"", "", "crio-conmon-" + id2 + ".scope", ""},
		// podman, rootful (machine.slice), rootless (the user's manager), cgroupfs.
		{"/machine.slice/libpod-" + id1 + ".scope", id1, "podman", "libpod-" + id1 + ".scope", ""},
		{"/machine.slice/libpod-" + id1 + ".scope/container", id1, "podman", "libpod-" + id1 + ".scope", ""},
		{"/machine.slice/libpod-conmon-" + id1 + ".scope", "", "", "libpod-conmon-" + id1 + ".scope", ""},
		{"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id2 + ".scope", id2, "podman", "user@1000.service", "libpod-" + id2 + ".scope"},
		{"/libpod_parent/libpod-" + id1, id1, "podman", "", ""},
		// docker in docker: the innermost container.
		{"/docker/" + id1 + "/docker/" + id2, id2, "docker", "", ""},
		// systemd units without a container.
		{"/system.slice/nginx.service", "", "", "nginx.service", ""},
		{"/system.slice/system-getty.slice/getty@tty1.service", "", "", "getty@tty1.service", ""},
		{"/user.slice/user-1000.slice/session-3.scope", "", "", "session-3.scope", ""},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-2412.scope", "", "", "user@1000.service", "app-gnome-firefox-2412.scope"},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", "", "", "user@1000.service", "foo.service"},
		{"/user.slice/user-1000.slice/user@1000.service/init.scope", "", "", "user@1000.service", "init.scope"},
		{"/init.scope", "", "", "init.scope", ""},
		// Nothing to name.
		{"/", "", "", "", ""},
		{"", "", "", "", ""},
		{"/seccomptrace-test/child", "", "", "", ""},
		{"/system.slice", "", "", "", ""},
		{"/system.slice/a b.service", "", "", "", ""},
		// Almost ids: upper case, 63 digits, not hex.
		{"/docker/" + strings.ToUpper(id1), "", "", "", ""},
		{"/docker/" + id1[1:], "", "", "", ""},
		{"/system.slice/docker-" + id1[:63] + "g.scope", "", "", "docker-" + id1[:63] + "g.scope", ""},
	} {
		c := New(7, tc.path)
		if c.ContainerID != tc.id || c.Runtime != tc.runtime || c.Unit != tc.unit || c.UserUnit != tc.userUnit {
			t.Errorf("%s:\n got container %q (%q) unit %q user unit %q\nwant container %q (%q) unit %q user unit %q",
				tc.path, c.ContainerID, c.Runtime, c.Unit, c.UserUnit, tc.id, tc.runtime, tc.unit, tc.userUnit)
		}
	}
}

func TestFindMount(t *testing.T) {
	for _, tc := range []struct {
		name, mountinfo string
		want            MountInfo
		err             bool
	}{
		{"unified", "22 1 0:21 / /sys rw - sysfs sysfs rw\n25 22 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", MountInfo{"/sys/fs/cgroup", "/"}, false},
		{"hybrid", "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
			MountInfo{"/sys/fs/cgroup/unified", "/"}, false},
		{"elsewhere, escaped, optional fields", "50 1 0:40 /kubepods /mnt/cg\\040v2 rw shared:7 master:1 - cgroup2 none rw\n", MountInfo{"/mnt/cg v2", "/kubepods"}, false},
		{"none", "22 1 0:21 / /sys rw - sysfs sysfs rw\n", MountInfo{}, true},
	} {
		got, err := FindMount(strings.NewReader(tc.mountinfo))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// A tree of directories stands for the hierarchy: ids are their inode
// numbers, as in cgroupfs, and the resolver walks it.
func TestResolverWalk(t *testing.T) {
	dir := t.TempDir()
	scope := filepath.Join(dir, "system.slice", "docker-"+id1+".scope")
	if err := os.MkdirAll(scope, 0o755); err != nil {
		t.Fatal(err)
	}
	r := NewResolver(dir)
	defer r.Close()
	r.MinRewalk = time.Hour
	c := r.Lookup(inode(t, scope), time.Now())
	if c == nil || c.Path != "/system.slice/docker-"+id1+".scope" || c.ContainerID != id1 || c.Runtime != "docker" {
		t.Fatalf("got %+v", c)
	}
	if r.Lookup(inode(t, scope), time.Now()) != c {
		t.Errorf("a second lookup made a new cgroup")
	}
	if root := r.Lookup(inode(t, dir), time.Now()); root == nil || root.Path != "/" {
		t.Errorf("root: got %+v", root)
	}
	// The first walk found everything there was; a cgroup made since is
	// found by the next walk, not before MinRewalk.
	late := filepath.Join(dir, "system.slice", "nginx.service")
	if err := os.Mkdir(late, 0o755); err != nil {
		t.Fatal(err)
	}
	lateIno := inode(t, late)
	if c := r.Lookup(lateIno, time.Now()); c != nil {
		t.Errorf("found %+v before MinRewalk", c)
	}
	r.MinRewalk = 0
	if c := r.Lookup(lateIno, time.Now()); c == nil || c.Unit != "nginx.service" {
		t.Errorf("after MinRewalk: got %+v", c)
	}
	if c := r.Lookup(0, time.Now()); c != nil {
		t.Errorf("id 0: %+v", c)
	}
	// A cgroup removed before the walk that looked for it is gone for
	// good: no more walks for it.
	gone := filepath.Join(dir, "gone")
	if err := os.Mkdir(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	goneIno, at := inode(t, gone), time.Now()
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if c := r.Lookup(goneIno, at); c != nil && c.Path == "/gone" {
			t.Errorf("removed cgroup found: %+v", c)
		}
	}
	if r.walks != 3 {
		t.Errorf("%d walks, want 3", r.walks)
	}
}

func TestRel(t *testing.T) {
	r := NewResolver("/sys/fs/cgroup")
	for arg, want := range map[string]string{
		"/sys/fs/cgroup/system.slice/x.service": "/system.slice/x.service",
		"/sys/fs/cgroup":                        "/",
		"/system.slice/x.service/":              "/system.slice/x.service",
		"system.slice//x.service":               "/system.slice/x.service",
		"/sys/fs/cgroupfoo":                     "/sys/fs/cgroupfoo",
	} {
		if got := r.Rel(arg); got != want {
			t.Errorf("Rel(%q) = %q, want %q", arg, got, want)
		}
	}
}

// This process's own cgroup, through the hierarchy this host mounts: by
// handle where the kernel and privileges allow, else by a walk.
func TestResolverSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skip(err)
	}
	var path string
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			path = p
		}
	}
	r := NewResolver("")
	defer r.Close()
	mount, root, err := r.Mount()
	if err != nil || path == "" || root != "/" {
		t.Skipf("no cgroup2 hierarchy to resolve in (mount %q root %q: %v; own path %q)", mount, root, err, path)
	}
	c := r.Lookup(inode(t, filepath.Join(mount, path)), time.Now())
	if c == nil || c.Path != path {
		t.Fatalf("own cgroup %s: got %+v (handles %v)", path, c, r.handles)
	}
	t.Logf("%+v by handle: %v", c, r.handles && r.walks == 0)
}
