// SPDX-License-Identifier: Apache-2.0

// Package cgroups names the cgroup v2 a task ran in: the cgroup id the
// probes read (bpf_get_current_cgroup_id) resolved once to its path, and
// from the path the container and the systemd unit it belongs to. It
// reads /proc/self/mountinfo and the cgroup2 mount, returns errors and
// never logs. docs/attribution.md says why it works this way.
package cgroups

import "strings"

// Cgroup is one cgroup v2, named once and shared by every record that
// names it: read only. Path, Unit and UserUnit come from directory names
// anyone who may create a cgroup chooses: escape them before printing.
type Cgroup struct {
	// ID is the cgroup id: the inode number of its directory in cgroupfs.
	ID uint64
	// Path is the cgroup's path from the root of the hierarchy,
	// "/system.slice/docker-<id>.scope".
	Path string
	// ContainerID is the 64-hex id of the innermost container the path
	// belongs to, "" for none; Runtime names what made it: docker,
	// containerd, cri-o or podman ("" where the path does not say).
	ContainerID, Runtime string
	// Unit is the systemd unit: the first service or scope under the
	// slices, "" for none. UserUnit is the unit inside a user manager
	// (Unit user@UID.service), "" for none.
	Unit, UserUnit string
}

// New names the cgroup id at path (from the root of the hierarchy).
func New(id uint64, path string) *Cgroup {
	c := &Cgroup{ID: id, Path: path}
	c.ContainerID, c.Runtime = Container(path)
	c.Unit, c.UserUnit = Unit(path)
	return c
}

// Container finds the innermost container in a cgroup path: a component
// that is the container's 64-hex id, with the prefix and suffix its
// runtime gives it (docker-ID.scope, cri-containerd-ID.scope,
// crio-ID.scope, libpod-ID.scope under systemd; docker/ID, libpod-ID and
// kubepods/.../ID under cgroupfs). The monitors next to a container
// (crio-conmon-ID.scope, libpod-conmon-ID.scope) are not the container.
func Container(path string) (id, runtime string) {
	kube := false
	parent := ""
	for rest := path; rest != ""; {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		if comp == "" {
			continue
		}
		if strings.HasPrefix(comp, "kubepods") {
			kube = true
		}
		if cid, rt := containerComponent(comp, parent, kube); cid != "" {
			id, runtime = cid, rt
		}
		parent = comp
	}
	return id, runtime
}

// containerPrefixes are the runtimes' names for a container's cgroup:
// PREFIX-ID.scope (systemd driver) or PREFIX-ID (cgroupfs driver).
var containerPrefixes = []struct{ prefix, runtime string }{
	{"docker-", "docker"},
	{"cri-containerd-", "containerd"},
	{"crio-", "cri-o"},
	{"libpod-", "podman"},
}

func containerComponent(comp, parent string, kube bool) (id, runtime string) {
	if isContainerID(comp) {
		// The cgroupfs drivers name the container's cgroup by its bare id.
		switch {
		case parent == "docker":
			return comp, "docker"
		case kube:
			return comp, "containerd"
		}
		return comp, ""
	}
	name := strings.TrimSuffix(comp, ".scope")
	for _, p := range containerPrefixes {
		if rest, ok := strings.CutPrefix(name, p.prefix); ok && isContainerID(rest) {
			return rest, p.runtime
		}
	}
	return "", ""
}

// isContainerID: 64 lowercase hex digits, as every runtime here names them.
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Unit finds the systemd unit of a cgroup path the way systemd does
// (cg_path_get_unit): the first component after the leading slices, if it
// is a service or scope name. Under a user manager (user@UID.service),
// userUnit is the first service or scope after its slices in turn.
func Unit(path string) (unit, userUnit string) {
	comps := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	first := func(comps []string) (string, int) {
		for i, c := range comps {
			if strings.HasSuffix(c, ".slice") && validUnitName(c) {
				continue
			}
			if isUnit(c) {
				return c, i
			}
			return "", i
		}
		return "", len(comps)
	}
	unit, i := first(comps)
	if unit == "" || !strings.HasPrefix(unit, "user@") || !strings.HasSuffix(unit, ".service") {
		return unit, ""
	}
	userUnit, _ = first(comps[i+1:])
	return unit, userUnit
}

// isUnit: a unit name of a type that holds processes in a cgroup of its own.
func isUnit(s string) bool {
	for _, suffix := range []string{".service", ".scope", ".socket", ".mount", ".swap"} {
		if strings.HasSuffix(s, suffix) && len(s) > len(suffix) {
			return validUnitName(s)
		}
	}
	return false
}

// validUnitName: systemd's unit name characters (letters, digits, ":-_.\",
// and one "@" for an instance), at most 255 bytes.
func validUnitName(s string) bool {
	if len(s) > 255 || strings.Count(s, "@") > 1 || s[0] == '@' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":-_.\\@", c) >= 0) {
			return false
		}
	}
	return true
}
