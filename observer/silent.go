// SPDX-License-Identifier: Apache-2.0

package observer

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/seccomptrace/seccomptrace/gen"
)

// SilentKey names decisions of one filter stack on one syscall.
type SilentKey struct {
	Chain uint64
	Arch  uint32
	Nr    int32
}

// MarkSilent tells the probes that decisions of k are silent, whatever
// their arguments, under the generation g (Decision.SilentGen of the
// decision that showed it): they are counted per task, syscall and mark
// from now on, not sent, until the policy changes or a filter is
// destroyed. One that reaches audit_seccomp is still sent. A full map is
// no error: those decisions go on being sent. id is the caller's name for
// the mark, found again in SilentCount.Mark: what the caller knew of the
// decision (its action) holds for every decision counted under it.
func (o *Observer) MarkSilent(k SilentKey, g, id uint32) error {
	key := gen.SeccompStSilentKey{Chain: k.Chain, Arch: k.Arch, Nr: k.Nr}
	mark := gen.SeccompSilentMark{Gen: g, Mark: id}
	err := o.objs.Maps[gen.SeccompMapSilent].Update(&key, &mark, ebpf.UpdateAny)
	if errors.Is(err, unix.E2BIG) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("marking %+v silent: %w", k, err)
	}
	return nil
}

// SilentCount is how many decisions of one process on one syscall were
// counted instead of sent: under the silent mark Mark (SilentCounts), or
// as cached ALLOWs (AllowCounts, Mark 0).
type SilentCount struct {
	Tgid  uint32
	Arch  uint32
	Nr    int32
	Mark  uint32
	Count uint64
}

// SilentCounts reads the counts of decisions marked silent, summed over CPUs.
func (o *Observer) SilentCounts() ([]SilentCount, error) {
	out, err := o.counts(gen.SeccompMapSilentCounts)
	if err != nil {
		return nil, fmt.Errorf("reading the silent counts: %w", err)
	}
	return out, nil
}

// AllowCounts reads the cached ALLOWs counted per process and syscall,
// summed over CPUs; empty unless Options.Forecast.
func (o *Observer) AllowCounts() ([]SilentCount, error) {
	out, err := o.counts(gen.SeccompMapAllowCounts)
	if err != nil {
		return nil, fmt.Errorf("reading the cached ALLOW counts: %w", err)
	}
	return out, nil
}

func (o *Observer) counts(name string) ([]SilentCount, error) {
	var (
		key gen.SeccompStCountKey
		per []uint64
		out []SilentCount
	)
	it := o.objs.Maps[name].Iterate()
	for it.Next(&key, &per) {
		c := SilentCount{Tgid: key.Tgid, Arch: key.Arch, Nr: key.Nr, Mark: key.Mark}
		for _, v := range per {
			c.Count += v
		}
		out = append(out, c)
	}
	return out, it.Err()
}

// TaskComms reads the name each counted process had when its first
// count was kept (Options.Forecast): the processes whose decisions were
// all counted were never streamed, so nothing else names them.
func (o *Observer) TaskComms() (map[uint32]string, error) {
	var (
		tgid uint32
		comm [16]byte
	)
	out := map[uint32]string{}
	it := o.objs.Maps[gen.SeccompMapTaskComms].Iterate()
	for it.Next(&tgid, &comm) {
		n := 0
		for n < len(comm) && comm[n] != 0 {
			n++
		}
		out[tgid] = string(comm[:n])
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading the counted tasks' names: %w", err)
	}
	return out, nil
}
