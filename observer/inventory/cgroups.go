// SPDX-License-Identifier: Apache-2.0

package inventory

import "github.com/seccomptrace/seccomptrace/observer/cgroups"

// NameCgroups names every task's cgroup with lookup (a cgroups.Resolver's
// Lookup, in a live run): Report.Cgroups then holds each id it found.
func (r *Report) NameCgroups(lookup func(id uint64) *cgroups.Cgroup) {
	r.Cgroups = map[uint64]*cgroups.Cgroup{}
	name := func(id uint64) {
		if _, done := r.Cgroups[id]; done || id == 0 {
			return
		}
		if c := lookup(id); c != nil {
			r.Cgroups[id] = c
		}
	}
	for _, c := range r.Chains {
		for _, t := range c.Tasks {
			name(t.CgroupID)
		}
	}
	for _, u := range r.Unread {
		name(u.Task.CgroupID)
	}
}

// Owner is a container or, outside containers, a systemd unit, and how
// many of a chain's processes it holds.
type Owner struct {
	ContainerID, Runtime string
	// Unit is set when ContainerID is not; UserUnit inside a user manager.
	Unit, UserUnit string
	Processes      int
}

// Owners lists who holds the chain's processes, in the order of their
// first task, by the cgroup each process's first task is in (NameCgroups
// first). Processes in no container and no unit are not listed.
func (r *Report) Owners(c *Chain) []Owner {
	var out []Owner
	index := map[Owner]int{}
	seen := map[uint32]bool{}
	for _, t := range c.Tasks {
		if seen[t.Tgid] {
			continue
		}
		seen[t.Tgid] = true
		cg := r.Cgroups[t.CgroupID]
		if cg == nil {
			continue
		}
		key := Owner{ContainerID: cg.ContainerID, Runtime: cg.Runtime}
		if key.ContainerID == "" {
			key.Unit, key.UserUnit = cg.Unit, cg.UserUnit
		}
		if key == (Owner{}) {
			continue
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, key)
		}
		out[i].Processes++
	}
	return out
}
