// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * The filter inventory: a task iterator (iter/task, 5.8+) that reads every
 * task's seccomp state, now, without ptrace and without stopping anyone.
 * Per task with seccomp on, one st_inv_task record goes to the seq_file;
 * each filter's program goes once per walk into the inv_filters map, keyed
 * by the filter's and its program's address.
 *
 * Programs travel in a map, not in the seq_file: bpf_seq_read() fails a
 * read with E2BIG when one task's output does not fit its buffer (8 pages,
 * 1 before 5.10), and one 4096-instruction program is 32 KiB already.
 *
 * Structures: docs/kernel-semantics.md §9.
 */
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_tracing.h"
#include "bpf/bpf_core_read.h"
#include "inventory.h"
#include "orig_prog.h"

/* include/linux/sched.h: the task is in do_exit(); its filters go at release_task(). */
#define ST_PF_EXITING 0x00000004

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Filters of this walk. No prealloc: 32 KiB values, most slots unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct st_inv_ref);
	__type(value, struct st_inv_filter);
} inv_filters SEC(".maps");

/* One reader runs the program at a time (the seq_file's lock): one slot each. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_inv_filter);
} inv_filter_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_inv_task);
} inv_task_scratch SEC(".maps");

/* Anchors so that the record types reach BTF, for bpf2go -type. */
const enum st_inv_flags *unused_inv_flags __attribute__((unused));
const enum st_inv_filter_flags *unused_inv_filter_flags __attribute__((unused));
const enum st_inv_magic *unused_inv_magic __attribute__((unused));

/* Copy the filter's unmodified user cBPF (orig_prog, §9) into inv_filters, once. */
static __noinline int store_filter(__u64 addr, __u64 prog_addr)
{
	struct st_inv_ref key = { .addr = addr, .prog = prog_addr };
	struct seccomp_filter *f = (struct seccomp_filter *)(unsigned long)addr;
	struct bpf_prog *prog = (struct bpf_prog *)(unsigned long)prog_addr;
	struct st_inv_filter *out;
	__u32 zero = 0, len;

	if (bpf_map_lookup_elem(&inv_filters, &key))
		return 0;
	out = bpf_map_lookup_elem(&inv_filter_scratch, &zero);
	if (!out)
		return 1;
	out->addr = addr;
	out->prog = prog_addr;
	out->log = BPF_CORE_READ(f, log);
	out->flags = 0;
	out->_pad = 0;
	len = read_orig_prog(prog, out->insns);
	if (!len)
		out->flags |= ST_INV_FILTER_NO_ORIG_PROG;
	out->len = len;
	/* The whole 32 KiB value is copied; instructions past len are stale and ignored. */
	if (bpf_map_update_elem(&inv_filters, &key, out, BPF_NOEXIST))
		return 1;
	return 0;
}

static __always_inline bool exiting(struct task_struct *task)
{
	return (BPF_CORE_READ(task, flags) & ST_PF_EXITING) || BPF_CORE_READ(task, exit_state);
}

SEC("iter/task")
int inventory(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct seccomp_filter *f;
	struct st_inv_task *rec;
	__u32 zero = 0, depth = 0, n;
	int mode, i;

	if (!task)
		return 0;
	mode = BPF_CORE_READ(task, seccomp.mode);
	f = BPF_CORE_READ(task, seccomp.filter);
	if (!mode && !f)
		return 0;
	rec = bpf_map_lookup_elem(&inv_task_scratch, &zero);
	if (!rec)
		return 0;
	rec->magic = ST_INV_MAGIC;
	rec->flags = 0;
	rec->tid = BPF_CORE_READ(task, pid);
	rec->tgid = BPF_CORE_READ(task, tgid);
	rec->mode = mode;
	rec->_pad = 0;
	/* What bpf_get_current_cgroup_id gives the probes, for another task. */
	rec->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&rec->comm, task, comm);
	if (bpf_core_field_exists(task->seccomp.filter_count)) {
		rec->filter_count = BPF_CORE_READ(task, seccomp.filter_count.counter);
	} else {
		rec->filter_count = -1;
		rec->flags |= ST_INV_F_NO_COUNT;
	}
	if (bpf_core_field_exists(task->audit_context)) {
		void *actx = BPF_CORE_READ(task, audit_context);

		if (actx) {
			int dummy = 0;

			rec->flags |= ST_INV_F_AUDIT_CTX;
			bpf_probe_read_kernel(&dummy, sizeof(dummy), actx);
			if (dummy)
				rec->flags |= ST_INV_F_AUDIT_DUMMY;
		}
	} else {
		rec->flags |= ST_INV_F_NO_AUDIT_CTX_FIELD;
	}

	/* A task in do_exit() may release its filters while we read them: say so, read nothing. */
	if (exiting(task)) {
		rec->flags |= ST_INV_F_EXITING;
		f = NULL;
	}
	for (i = 0; i < ST_INV_MAX_CHAIN && f; i++) {
		__u64 prog = (__u64)(unsigned long)BPF_CORE_READ(f, prog);

		rec->refs[i].addr = (__u64)(unsigned long)f;
		rec->refs[i].prog = prog;
		if (store_filter((__u64)(unsigned long)f, prog))
			rec->flags |= ST_INV_F_NOT_STORED;
		depth = i + 1;
		f = BPF_CORE_READ(f, prev);
	}
	if (f)
		rec->flags |= ST_INV_F_TRUNCATED;
	if (!(rec->flags & ST_INV_F_EXITING) && exiting(task)) {
		rec->flags |= ST_INV_F_EXITING;
		depth = 0;
	}
	rec->depth = depth;

	/* An overflow here makes the seq_file drop this task's output and show it again. */
	if (bpf_seq_write(seq, rec, offsetof(struct st_inv_task, refs)))
		return 0;
	n = depth * sizeof(struct st_inv_ref);
	if (n > sizeof(rec->refs))
		n = sizeof(rec->refs);
	if (n)
		bpf_seq_write(seq, rec->refs, n);
	return 0;
}
