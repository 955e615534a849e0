/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The filter as it was installed: the probes and the inventory iterator
 * both send a filter's classic BPF program, read from orig_prog
 * (docs/kernel-semantics.md §9). Include after vmlinux.h, the libbpf
 * headers and seccomptrace.h.
 */
#ifndef ST_ORIG_PROG_H
#define ST_ORIG_PROG_H

/*
 * read_orig_prog copies prog's orig_prog, at most ST_MAX_INSNS
 * instructions, into insns and returns how many: 0 when the kernel kept
 * none (no CHECKPOINT_RESTORE before 5.11) or the read failed.
 */
static __always_inline __u32 read_orig_prog(struct bpf_prog *prog, struct st_insn *insns)
{
	struct sock_fprog_kern *orig = prog ? BPF_CORE_READ(prog, orig_prog) : NULL;
	struct sock_filter *filter;
	__u32 len;

	if (!orig)
		return 0;
	filter = BPF_CORE_READ(orig, filter);
	len = BPF_CORE_READ(orig, len);
	if (len > ST_MAX_INSNS)
		len = ST_MAX_INSNS;
	if (len && bpf_probe_read_kernel(insns, len * sizeof(struct st_insn), filter))
		return 0;
	return len;
}

#endif /* ST_ORIG_PROG_H */
