// SPDX-License-Identifier: Apache-2.0

package inventory

import (
	"reflect"
	"strings"
	"testing"

	"github.com/seccomptrace/seccomptrace/observer"
	"github.com/seccomptrace/seccomptrace/observer/cgroups"
)

// TestOwners: a chain's processes are grouped by container, else by unit,
// each process counted once (by its first task), in order of appearance;
// cgroups that name neither, or that were not found, list nothing.
func TestOwners(t *testing.T) {
	id := strings.Repeat("ab", 32)
	paths := map[uint64]string{
		10: "/machine.slice/libpod-" + id + ".scope",
		11: "/machine.slice/libpod-" + id + ".scope/child",
		20: "/system.slice/nginx.service",
		30: "/",
	}
	c := &Chain{Tasks: []observer.SeccompTask{
		{Pid: 1, Tgid: 1, CgroupID: 10}, {Pid: 2, Tgid: 1, CgroupID: 20}, // a thread moved out: its process counts by task 1
		{Pid: 3, Tgid: 3, CgroupID: 11},
		{Pid: 4, Tgid: 4, CgroupID: 20},
		{Pid: 5, Tgid: 5, CgroupID: 30},
		{Pid: 6, Tgid: 6, CgroupID: 99}, // not found
	}}
	r := &Report{Chains: []*Chain{c}}
	var asked []uint64
	r.NameCgroups(func(id uint64) *cgroups.Cgroup {
		asked = append(asked, id)
		if p, ok := paths[id]; ok {
			return cgroups.New(id, p)
		}
		return nil
	})
	if want := []uint64{10, 20, 11, 30, 99}; !reflect.DeepEqual(asked, want) {
		t.Errorf("looked up %v, want each id once: %v", asked, want)
	}
	got := r.Owners(c)
	want := []Owner{{ContainerID: id, Runtime: "podman", Processes: 2}, {Unit: "nginx.service", Processes: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("owners %+v, want %+v", got, want)
	}
}
