/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Wire format of the filter inventory (bpf/inventory.bpf.c): one
 * st_inv_task record per task with seccomp on, written to the iterator's
 * seq_file, and one st_inv_filter per filter in the inv_filters map. Shares
 * st_insn, ST_COMM_LEN and ST_MAX_INSNS with the probes' seccomptrace.h.
 */
#ifndef SECCOMPTRACE_INVENTORY_H
#define SECCOMPTRACE_INVENTORY_H

#include "seccomptrace.h"

/* "STI1": every task record starts with it, so a misread stream is caught. */
enum st_inv_magic { ST_INV_MAGIC = 0x31495453 };
/* Filters read per task; a longer chain sets ST_INV_F_TRUNCATED. */
#define ST_INV_MAX_CHAIN 128

enum st_inv_flags {
	ST_INV_F_TRUNCATED = 1 << 0,     /* chain longer than ST_INV_MAX_CHAIN */
	ST_INV_F_EXITING = 1 << 1,       /* PF_EXITING before or after the read: chain not read (it may be freed) */
	ST_INV_F_AUDIT_CTX = 1 << 2,     /* task->audit_context != NULL */
	ST_INV_F_AUDIT_DUMMY = 1 << 3,   /* and its dummy flag */
	ST_INV_F_NO_COUNT = 1 << 4,      /* the kernel has no seccomp.filter_count (before 5.9) */
	ST_INV_F_NOT_STORED = 1 << 5,    /* a filter of the chain could not be stored in inv_filters (full) */
	ST_INV_F_NO_AUDIT_CTX_FIELD = 1 << 6, /* no task->audit_context (no CONFIG_AUDITSYSCALL) */
};

enum st_inv_filter_flags {
	ST_INV_FILTER_NO_ORIG_PROG = 1 << 0, /* prog->orig_prog is NULL (no CHECKPOINT_RESTORE before 5.11) */
};

/* A filter's identity: a freed filter's address can come back (§9), its program's with it or not. */
struct st_inv_ref {
	__u64 addr; /* struct seccomp_filter * */
	__u64 prog; /* its struct bpf_prog * */
};

/* Written as the header (up to refs) and then `depth` refs, newest first. */
struct st_inv_task {
	__u32 magic;
	__u32 flags;
	__u32 tid;
	__u32 tgid;
	__s32 mode;         /* task->seccomp.mode: 1 strict, 2 filter, 3 dead */
	__s32 filter_count; /* task->seccomp.filter_count (5.9+), the /proc Seccomp_filters value */
	__u32 depth;
	__u32 _pad;
	__u64 cgroup_id;    /* the task's cgroup v2 id (the inode of its cgroupfs folder) */
	char comm[ST_COMM_LEN];
	struct st_inv_ref refs[ST_INV_MAX_CHAIN];
};

/* The value of inv_filters, keyed by st_inv_ref. */
struct st_inv_filter {
	__u64 addr;
	__u64 prog;
	__u32 log;   /* filter->log: SECCOMP_FILTER_FLAG_LOG at attach */
	__u32 flags; /* st_inv_filter_flags */
	__u32 len;   /* instructions of orig_prog */
	__u32 _pad;
	struct st_insn insns[ST_MAX_INSNS];
};

#endif /* SECCOMPTRACE_INVENTORY_H */
