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
// decision that showed it): they are counted per task and syscall from now
// on, not sent, until the policy changes or a filter is destroyed. One
// that reaches audit_seccomp is still sent. A full map is no error: those
// decisions go on being sent.
func (o *Observer) MarkSilent(k SilentKey, g uint32) error {
	key := gen.SeccompStSilentKey{Chain: k.Chain, Arch: k.Arch, Nr: k.Nr}
	mark := gen.SeccompSilentMark{Gen: g}
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
// counted as silent instead of sent.
type SilentCount struct {
	Tgid  uint32
	Arch  uint32
	Nr    int32
	Count uint64
}

// SilentCounts reads the counts of decisions marked silent, summed over CPUs.
func (o *Observer) SilentCounts() ([]SilentCount, error) {
	var (
		key gen.SeccompStCountKey
		per []uint64
		out []SilentCount
	)
	it := o.objs.Maps[gen.SeccompMapSilentCounts].Iterate()
	for it.Next(&key, &per) {
		c := SilentCount{Tgid: key.Tgid, Arch: key.Arch, Nr: key.Nr}
		for _, v := range per {
			c.Count += v
		}
		out = append(out, c)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading the silent counts: %w", err)
	}
	return out, nil
}
