// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * seccomptrace probes: every seccomp decision (__seccomp_filter entry+exit)
 * and every log emission (audit_seccomp / __audit_seccomp, seccomp_log where
 * the kernel has it). One ELF: fentry/fexit programs and kprobe twins; the Go
 * side deletes the set it does not use before load.
 *
 * Hook facts: docs/kernel-semantics.md §3, §8, §9.
 */
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_tracing.h"
#include "bpf/bpf_core_read.h"
#include "seccomptrace.h"
#include "orig_prog.h"

#if defined(__TARGET_ARCH_x86)
/* x86: TS_COMPAT in thread_info.status marks an ia32 (or x32) syscall. */
#define ST_TS_COMPAT 0x0002
#define ST_AUDIT_ARCH_NATIVE 0xc000003eU /* AUDIT_ARCH_X86_64 */
#define ST_AUDIT_ARCH_COMPAT 0x40000003U /* AUDIT_ARCH_I386 */
/* Mode-1 allow lists (__NR_seccomp_read/write/exit/sigreturn), native and ia32. */
#define ST_NR_READ 0
#define ST_NR_WRITE 1
#define ST_NR_RT_SIGRETURN 15
#define ST_NR_EXIT 60
#define ST_NR32_EXIT 1
#define ST_NR32_READ 3
#define ST_NR32_WRITE 4
#define ST_NR32_SIGRETURN 119
#elif defined(__TARGET_ARCH_arm64)
/* arm64: is_compat_thread() tests TIF_32BIT in thread_info.flags (an AArch32 task). */
#define ST_TIF_32BIT 22
#define ST_AUDIT_ARCH_NATIVE 0xc00000b7U /* AUDIT_ARCH_AARCH64 */
#define ST_AUDIT_ARCH_COMPAT 0x40000028U /* AUDIT_ARCH_ARM */
/* Mode-1 allow lists: asm-generic numbers, and arm64's __NR_compat_* ones. */
#define ST_NR_READ 63
#define ST_NR_WRITE 64
#define ST_NR_RT_SIGRETURN 139
#define ST_NR_EXIT 93
#define ST_NR32_EXIT 1
#define ST_NR32_READ 3
#define ST_NR32_WRITE 4
#define ST_NR32_SIGRETURN 173 /* __NR_compat_rt_sigreturn */

/*
 * vmlinux.h is x86's: arm64's layouts come as CO-RE flavors, relocated
 * against the running kernel's BTF. regs/pc sit in an anonymous union there.
 */
struct pt_regs___st_arm64 {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
	__u64 orig_x0;
	__s32 syscallno;
	__u32 _pad;
} __attribute__((preserve_access_index));

/* uapi, what bpf_tracing.h's PT_REGS_PARM* read on arm64 (a kprobe's ctx). */
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
#else
#error "seccomptrace probes: only x86 (amd64) and arm64 are supported"
#endif
/* The kernel stack (16 KiB on x86_64 and arm64 without KASAN); used only where bpf_task_pt_regs is missing (< 5.15). */
#define ST_THREAD_SIZE (16384)
#define ST_SECCOMP_MODE_STRICT 1
#define ST_SECCOMP_MODE_DEAD 3
#define ST_SIGKILL 9
/* Audit record types (uapi audit.h): a refused audit_log_start is reported only for these. */
#define ST_AUDIT_SECCOMP 1326
#define ST_AUDIT_CONFIG_CHANGE 1305
/*
 * A bool argument is defined only in its register's low byte: 5.10 passes
 * recheck_after_trace=false with garbage above it. Read it as a u64, mask it.
 */
#define ARG_BOOL(x) (((x) & 0xff) != 0)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Configuration, set by the observer before load. */
const volatile __u8 filter_targets = 0;  /* only tasks whose tgid is in `targets` */
const volatile __u8 follow_forks = 0;    /* children of targets become targets */
const volatile __u8 filter_comm = 0;     /* only tasks whose comm equals target_comm */
const volatile char target_comm[ST_COMM_LEN] = {};
const volatile __u8 send_all = 0;        /* also send cached ALLOWs (normally only counted) */
const volatile __u8 filter_arity = 3;    /* __seccomp_filter parameters (kprobe path) */
/* Addresses from kallsyms (KALLSYMS_ALL): static u32 seccomp_actions_logged, u32 audit_enabled. 0 = unknown. */
const volatile __u64 actions_logged_addr = 0;
const volatile __u64 audit_enabled_addr = 0;
const volatile __u8 kprobe_mode = 0;     /* __seccomp_filter is followed by kprobe+kretprobe */
/* forecast: count cached ALLOWs per (tgid, arch, nr) and name counted tasks; off, the verifier drops it all. */
const volatile __u8 forecast = 0;

/*
 * Shared state, updated with XADD (5.10 has no fetching atomics):
 * writes to actions_logged in progress; the silent generation, one step per
 * write and per destroyed filter (a silent mark of an older one is void: the
 * policy changed, or a new chain may now live at a marked address); and
 * emissions whose decision has not returned yet (an `emitted` entry each).
 */
__u32 sysctl_in_progress = 0;
__u32 silent_gen = 0;
__u32 pending_emissions = 0;
/* One step per process forgotten (exec, exit): voids cpu_state's memo. */
__u32 task_gen = 0;
/* sync_mark's last reading of the ring's producer position (one Sync at a time). */
__u64 sync_prod_pos = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * Per-CPU state: the sequence source (no fetch-atomics needed: 5.10 lacks
 * them), and the process whose st_task_info this CPU last saw sent, with
 * task_gen then: a flood of one process's decisions checks it here, not
 * in sent_tasks.
 */
struct cpu_state {
	__u64 seq;
	__u32 task_tgid;
	__u32 task_gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);  /* tgid */
	__type(value, __u8);
} targets SEC(".maps");

/*
 * The kprobe path's entry arguments, keyed by (tid, nesting): the TRACE
 * re-check calls __seccomp_filter again from inside the outer call (§3),
 * and a kretprobe sees no arguments. The fexit path needs none of this.
 */
struct kprobe_key {
	__u32 tid;
	__u32 nested;
};

struct kprobe_args {
	__u64 sd;
	__s32 this_syscall;
	__u32 recheck;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct kprobe_key);
	__type(value, struct kprobe_args);
} kprobe_entry SEC(".maps");

/*
 * tid -> seq of the decision an emission belongs to, from the emission to
 * the decision's return (or the task's exit): decisions are sent when they
 * return, after their emissions.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} emitted SEC(".maps");

/*
 * A task seccomp killed (SECCOMP_MODE_DEAD) has its decision sent once, from
 * whichever comes first: its return (KILL_PROCESS), the release of its
 * filters in its own context (6.10+: do_exit) or its exit. Exit and release
 * come in either order, the release maybe in another task's context: the
 * later of the two forgets the tid. LRU: a kernel without the release hook
 * only leaves entries to evict.
 */
#define DEAD_SENT 1
#define DEAD_EXITED 2
#define DEAD_RELEASED 4

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} dead_sent SEC(".maps");

/* Note one step of a dead task (tid): sent, exited or released. */
static __always_inline void dead_step(__u32 tid, __u8 st, __u8 step)
{
	st |= step;
	if ((st & (DEAD_EXITED | DEAD_RELEASED)) == (DEAD_EXITED | DEAD_RELEASED))
		bpf_map_delete_elem(&dead_sent, &tid);
	else
		bpf_map_update_elem(&dead_sent, &tid, &st, BPF_ANY);
}

static __always_inline __u8 dead_state(__u32 tid)
{
	__u8 *st = bpf_map_lookup_elem(&dead_sent, &tid);

	return st ? *st : 0;
}

/* A write to actions_logged in the handler: when it entered, and (kprobe
 * set only: a kretprobe has no arguments) the handler's buffer and lenp. */
struct sysctl_entry {
	__u64 start_ns;
	__u64 buffer;
	__u64 lenp;
};

/* tid -> its write to actions_logged in progress. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct sysctl_entry);
} sysctl_start SEC(".maps");

/* Chains already sent: newest filter's address -> its bpf_prog (a reused address gets a new prog). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} sent_chains SEC(".maps");

/*
 * Marked by the observer: (chain, arch, nr) whose result does not depend on
 * the arguments and is silent under policy generation `gen`. Such a decision
 * is counted per task and syscall, not sent, unless it emitted. The
 * counts are never evicted: when they are full, decisions are sent.
 */
struct silent_mark {
	__u32 gen;  /* silent_gen of the decision it was made from */
	__u32 mark; /* the observer's name for this mark, copied into the count keys */
};

/* LRU: marks voided by a newer silent_gen make way for new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_silent_key);
	__type(value, struct silent_mark);
} silent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_count_key);
	__type(value, __u64);
} silent_counts SEC(".maps");

/* Processes whose st_task_info was sent, by tgid; forgotten at exec and exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u8);
} sent_tasks SEC(".maps");

/* Steps of the exe's path walk: its names plus the mounts crossed. */
#define ST_EXE_STEPS 48

/*
 * Where a task record is built: the record, room past its end for the
 * last name copied (so the verifier sees every copy inside the value),
 * and the names of the exe's path, leaf first.
 */
struct task_scratch {
	struct st_task_info rec;
	char slack[ST_NAME_MAX + 1];
	__u64 name[ST_EXE_STEPS]; /* 0 for a step that crossed a mount */
	__u32 len[ST_EXE_STEPS];
	__u32 steps; /* slots the walk filled */
	__u32 off;   /* bytes of exe written so far */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct task_scratch);
} task_scratch SEC(".maps");

/* Forecast mode: cached ALLOWs per (tgid, arch, nr); max_entries 1 otherwise. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_count_key);
	__type(value, __u64);
} allow_counts SEC(".maps");

/* Forecast mode: tgid -> comm when its first count was kept, for tasks never streamed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, char[ST_COMM_LEN]);
} task_comms SEC(".maps");

/* Anchors so that the record types and enums reach BTF, for bpf2go -type. */
const struct st_task_info *unused_task_info __attribute__((unused));
const struct st_task_gone *unused_task_gone __attribute__((unused));
const struct st_emission *unused_emission __attribute__((unused));
const struct st_chain *unused_chain __attribute__((unused));
const struct st_filter_free *unused_filter_free __attribute__((unused));
const struct st_decision *unused_decision __attribute__((unused));
const struct silent_mark *unused_silent_mark __attribute__((unused));
const struct st_filter *unused_filter __attribute__((unused));
const struct st_sysctl *unused_sysctl __attribute__((unused));
const struct st_audit_drop *unused_audit_drop __attribute__((unused));
const enum st_drop_stage *unused_drop_stage __attribute__((unused));
const enum st_record_kind *unused_kind __attribute__((unused));
const enum st_flags *unused_flags __attribute__((unused));
const enum st_counter *unused_counter __attribute__((unused));
const struct st_sync *unused_sync __attribute__((unused));
const enum st_sync_ret *unused_sync_ret __attribute__((unused));

/* Filters already sent: filter address -> bpf_prog address (a reused address gets a new prog). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} sent_filters SEC(".maps");

/* bpf_prog address -> filter address, to forget a filter when its program is destroyed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} sent_progs SEC(".maps");

/* One slot per CPU (the observer sets max_entries): a per-CPU map cannot hold 32 KiB values. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_filter);
} filter_scratch SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline struct cpu_state *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_state, &zero);
}

static __always_inline __u64 next_seq(struct cpu_state *cs)
{
	if (!cs)
		return 0;
	cs->seq += 1;
	/* CPU in the top bits keeps per-CPU sequences disjoint; never 0. */
	return ((__u64)(bpf_get_smp_processor_id() + 1) << 48) | (cs->seq & 0xffffffffffffULL);
}

static __always_inline bool comm_matches(void)
{
	char comm[ST_COMM_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
#pragma unroll
	for (int i = 0; i < ST_COMM_LEN; i++) {
		if (comm[i] != target_comm[i])
			return false;
		if (!comm[i])
			return true;
	}
	return true;
}

static __always_inline bool is_target(__u32 tgid)
{
	if (filter_targets && !bpf_map_lookup_elem(&targets, &tgid))
		return false;
	if (filter_comm && !comm_matches())
		return false;
	return true;
}

static __always_inline void fill_task(struct st_task *t)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ugid = bpf_get_current_uid_gid();

	t->ktime_ns = bpf_ktime_get_ns();
	t->cgroup_id = bpf_get_current_cgroup_id();
	t->tgid = id >> 32;
	t->tid = (__u32)id;
	t->uid = (__u32)ugid;
	t->gid = ugid >> 32;
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

static __always_inline __u32 read_u32(__u64 addr)
{
	__u32 v = 0;

	if (addr)
		bpf_probe_read_kernel(&v, sizeof(v), (void *)(unsigned long)addr);
	return v;
}

static __always_inline bool task_is_compat(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(task, thread_info.status) & ST_TS_COMPAT;
#else
	return (BPF_CORE_READ(task, thread_info.flags) >> ST_TIF_32BIT) & 1;
#endif
}

/* The action cache's answer (docs/kernel-semantics.md §4): newest filter's bitmap only. */
static __always_inline bool cache_allows(struct seccomp_filter *f, int nr, bool compat)
{
	unsigned long word = 0;
	unsigned int bits, idx;
	void *base;

	if (!bpf_core_field_exists(f->cache))
		return false;
	if (nr < 0)
		return false;
	if (compat) {
		bits = bpf_core_field_size(f->cache.allow_compat) * 8;
		base = (void *)f + bpf_core_field_offset(f->cache.allow_compat);
	} else {
		bits = bpf_core_field_size(f->cache.allow_native) * 8;
		base = (void *)f + bpf_core_field_offset(f->cache.allow_native);
	}
	/* The bitmap is rounded up to whole longs; the kernel bounds by NR_syscalls,
	 * but bits past it are never set, so the rounded size is equivalent. */
	if ((unsigned int)nr >= bits)
		return false;
	idx = (unsigned int)nr / 64;
	if (bpf_probe_read_kernel(&word, sizeof(word), base + idx * 8))
		return false;
	return (word >> ((unsigned int)nr % 64)) & 1;
}

/* The current task's user-mode registers (task_pt_regs). */
static __always_inline struct pt_regs *user_regs(struct task_struct *task)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
#if defined(__TARGET_ARCH_x86)
	return (struct pt_regs *)(BPF_CORE_READ(task, stack) + ST_THREAD_SIZE) - 1;
#else
	/* Local sizeof(struct pt_regs) is x86's: take the kernel's. */
	return (struct pt_regs *)(BPF_CORE_READ(task, stack) + ST_THREAD_SIZE -
				  bpf_core_type_size(struct pt_regs___st_arm64));
#endif
}

/* The syscall number the user registers hold now (a tracer may have changed it). */
static __always_inline int regs_syscall_nr(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	return (int)BPF_CORE_READ(user_regs(task), orig_ax);
#else
	return BPF_CORE_READ((struct pt_regs___st_arm64 *)user_regs(task), syscallno);
#endif
}

/* Rebuild seccomp_data the way populate_seccomp_data does (§9), from the task's user registers. */
static __always_inline void sd_from_regs(struct st_sdata *sd, struct task_struct *task, bool compat)
{
	/* One read of the registers up to ip, not one per field: each helper
	 * call is paid on every streamed decision. The field accesses below
	 * are CO-RE relocated into this copy of the kernel's layout. */
#if defined(__TARGET_ARCH_x86)
	struct pt_regs r;

	if (bpf_probe_read_kernel(&r, bpf_core_field_offset(struct pt_regs, ip) + sizeof(r.ip), user_regs(task)))
		__builtin_memset(&r, 0, sizeof(r));
	sd->nr = (int)r.orig_ax;
	sd->arch = compat ? ST_AUDIT_ARCH_COMPAT : ST_AUDIT_ARCH_NATIVE;
	sd->instruction_pointer = r.ip;
	if (compat) {
		sd->args[0] = r.bx;
		sd->args[1] = r.cx;
		sd->args[2] = r.dx;
		sd->args[3] = r.si;
		sd->args[4] = r.di;
		sd->args[5] = r.bp;
	} else {
		sd->args[0] = r.di;
		sd->args[1] = r.si;
		sd->args[2] = r.dx;
		sd->args[3] = r.r10;
		sd->args[4] = r.r8;
		sd->args[5] = r.r9;
	}
#else
	/* arm64's syscall_get_arguments: x0 as it was at entry (orig_x0, since
	 * regs[0] takes the return value), then x1..x5; AArch32 tasks use the
	 * same slots (r0..r5), and syscallno holds the number for both. */
	/* Two reads, not a copy of the whole 288-byte head (the stack of the
	 * kretprobe, send_chain and send_filter would reach 512): x1..x5, and
	 * pc..syscallno, contiguous in every arm64 pt_regs (checked at load). */
	struct pt_regs___st_arm64 *u = (struct pt_regs___st_arm64 *)user_regs(task);
	struct {
		__u64 pc;
		__u64 pstate;
		__u64 orig_x0;
		__s32 syscallno;
		__u32 _pad;
	} t = {};
	__u64 a[5] = {};

	if (bpf_core_field_offset(struct pt_regs___st_arm64, orig_x0) == bpf_core_field_offset(struct pt_regs___st_arm64, pc) + 16 &&
	    bpf_core_field_offset(struct pt_regs___st_arm64, syscallno) == bpf_core_field_offset(struct pt_regs___st_arm64, pc) + 24) {
		bpf_probe_read_kernel(&t, offsetof(typeof(t), _pad), &u->pc);
	} else {
		t.pc = BPF_CORE_READ(u, pc);
		t.orig_x0 = BPF_CORE_READ(u, orig_x0);
		t.syscallno = BPF_CORE_READ(u, syscallno);
	}
	bpf_probe_read_kernel(a, sizeof(a), &u->regs[1]);
	sd->nr = t.syscallno;
	sd->arch = compat ? ST_AUDIT_ARCH_COMPAT : ST_AUDIT_ARCH_NATIVE;
	sd->instruction_pointer = t.pc;
	sd->args[0] = t.orig_x0;
	sd->args[1] = a[0];
	sd->args[2] = a[1];
	sd->args[3] = a[2];
	sd->args[4] = a[3];
	sd->args[5] = a[4];
#endif
}

/* Copy a filter's unmodified user cBPF (orig_prog, §9) to user space once. */
static __noinline int send_filter(struct seccomp_filter *f)
{
	__u64 addr = (__u64)(unsigned long)f, prog_addr;
	struct bpf_prog *prog;
	struct st_filter *out;
	__u64 *sent;
	__u32 cpu = bpf_get_smp_processor_id(), len;

	prog = BPF_CORE_READ(f, prog);
	prog_addr = (__u64)(unsigned long)prog;
	sent = bpf_map_lookup_elem(&sent_filters, &addr);
	if (sent && *sent == prog_addr)
		return 0;
	out = bpf_map_lookup_elem(&filter_scratch, &cpu);
	if (!out)
		return 0;
	out->kind = ST_REC_FILTER;
	out->flags = 0;
	out->addr = addr;
	out->prog = prog_addr;
	out->log = BPF_CORE_READ(f, log);
	len = read_orig_prog(prog, out->insns);
	if (!len)
		out->flags |= ST_F_NO_ORIG_PROG;
	out->len = len;
	if (bpf_ringbuf_output(&events, out, offsetof(struct st_filter, insns) + len * sizeof(struct st_insn), 0)) {
		count(ST_CNT_RB_DROP_FILTER);
		return 0;
	}
	bpf_map_update_elem(&sent_filters, &addr, &prog_addr, BPF_ANY);
	bpf_map_update_elem(&sent_progs, &prog_addr, &addr, BPF_ANY);
	return 0;
}

/*
 * seccomp_filter_free() destroys the filter's program, then frees the
 * filter: both addresses can come back for a new filter, which must be sent
 * again. Other programs (socket filters) are not in sent_progs.
 */
static __always_inline int on_prog_destroy(__u64 prog_addr)
{
	__u64 *filter = bpf_map_lookup_elem(&sent_progs, &prog_addr);
	struct st_filter_free *r;
	__u64 addr;

	if (!filter)
		return 0;
	addr = *filter;

	bpf_map_delete_elem(&sent_filters, &addr);
	bpf_map_delete_elem(&sent_chains, &addr);
	bpf_map_delete_elem(&sent_progs, &prog_addr);
	/* A new chain can now take a marked chain's address. */
	__sync_fetch_and_add(&silent_gen, 1);
	/* The observer forgets it too; a lost record only keeps it longer. */
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (r) {
		r->kind = ST_REC_FILTER_FREE;
		r->_pad = 0;
		r->addr = addr;
		bpf_ringbuf_submit(r, 0);
	}
	return 0;
}

/* Audited-task state for the pre-4.18 model (§7). */
static __always_inline __u32 audit_flags(struct task_struct *task)
{
	__u32 flags = 0;

	if (bpf_core_field_exists(task->audit_context)) {
		void *actx = BPF_CORE_READ(task, audit_context);
		if (actx) {
			int dummy = 0;
			flags |= ST_F_AUDIT_CTX;
			bpf_probe_read_kernel(&dummy, sizeof(dummy), actx);
			if (dummy)
				flags |= ST_F_AUDIT_DUMMY;
		}
	}
	return flags;
}

static __always_inline void read_policy(struct st_decision *rec)
{
	rec->actions_logged = 0;
	rec->audit_enabled = 0;
	if (actions_logged_addr) {
		rec->flags |= ST_F_POLICY_READ;
		rec->actions_logged = read_u32(actions_logged_addr);
		rec->audit_enabled = read_u32(audit_enabled_addr);
	}
	/* A write in progress may have changed the value seccomp_log read. */
	if (sysctl_in_progress)
		rec->flags |= ST_F_POLICY_RACE;
}

/* The task ever had a filter (5.9+ count them; before, only the pointer tells). */
static __always_inline bool had_filters(struct task_struct *task)
{
	if (bpf_core_field_exists(task->seccomp.filter_count))
		return BPF_CORE_READ(task, seccomp.filter_count.counter) > 0;
	return BPF_CORE_READ(task, seccomp.filter) != NULL;
}

/* A task in strict mode (no filter can be attached there), or killed in it. */
static __always_inline bool strict_task(struct task_struct *task)
{
	int mode = BPF_CORE_READ(task, seccomp.mode);

	if (had_filters(task))
		return false;
	return mode == ST_SECCOMP_MODE_STRICT || mode == ST_SECCOMP_MODE_DEAD;
}

static __always_inline bool strict_allowed(int nr, bool compat)
{
	if (compat)
		return nr == ST_NR32_READ || nr == ST_NR32_WRITE || nr == ST_NR32_EXIT || nr == ST_NR32_SIGRETURN;
	return nr == ST_NR_READ || nr == ST_NR_WRITE || nr == ST_NR_EXIT || nr == ST_NR_RT_SIGRETURN;
}

/*
 * At exit, with no emission pending: did the strict check kill this
 * task? It calls do_exit(SIGKILL); a filter's KILL_PROCESS dies by its SIGSYS.
 * The code is in exit_code, or (where the tracepoint fires before do_exit
 * sets it) in the group exit code, which 6.0+ set first for the last thread.
 * Kernels that set SECCOMP_MODE_DEAD first (§3) need no more; where the mode
 * stays 1, the killed syscall is one off the mode-1 list. (An outside
 * SIGKILL right after prctl(PR_SET_SECCOMP) would look the same there.)
 */
static __always_inline bool strict_killed(struct task_struct *task)
{
	int code, nr;

	if (!strict_task(task))
		return false;
	code = BPF_CORE_READ(task, exit_code) & 0x7f;
	if (!code)
		code = BPF_CORE_READ(task, signal, group_exit_code) & 0x7f;
	if (code != ST_SIGKILL)
		return false;
	if (BPF_CORE_READ(task, seccomp.mode) == ST_SECCOMP_MODE_DEAD)
		return true;
	nr = regs_syscall_nr(task);
	return nr >= 0 && !strict_allowed(nr, task_is_compat(task));
}

/*
 * The current process's exe path, the way d_path (prepend_path) builds it
 * from mm->exe_file: names up to the mount's root, then on from the
 * mountpoint in the parent mount, up to the root of the task's mount
 * namespace. A pseudo file (memfd) is its own name, as simple_dname says.
 * Returns the length written into s->rec.exe.
 *
 * Two loops, for the verifier: the walk keeps each step's name in slot
 * step (0 for a mount crossed) and nothing in registers past the loop, so
 * its exits all look alike; the copy then reads the slots back, root
 * first, at offsets bounded by a mask.
 */
static __always_inline __u32 exe_path(struct task_scratch *s, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct dentry *d, *parent;
	struct vfsmount *vm;
	struct mount *mnt, *up;
	struct file *exe;

	if (!mm) /* a thread past exit_mm: its process's mm, while the leader has it */
		mm = BPF_CORE_READ(task, group_leader, mm);
	exe = mm ? BPF_CORE_READ(mm, exe_file) : NULL;
	if (!exe) {
		s->rec.flags |= ST_F_EXE_UNKNOWN;
		return 0;
	}
	d = BPF_CORE_READ(exe, f_path.dentry);
	vm = BPF_CORE_READ(exe, f_path.mnt);
	mnt = (struct mount *)((void *)vm - bpf_core_field_offset(struct mount, mnt));
	s->rec.exe_ino = BPF_CORE_READ(d, d_inode, i_ino);
	parent = BPF_CORE_READ(d, d_parent);
	/* d_unlinked: unhashed, and not a root. */
	if (!BPF_CORE_READ(d, d_hash.pprev) && parent != d)
		s->rec.flags |= ST_F_EXE_DELETED;

	s->steps = ST_EXE_STEPS;
	s->rec.flags |= ST_F_EXE_TRUNCATED; /* until the walk reaches a root */
	for (int i = 0; i < ST_EXE_STEPS; i++) {
		s->name[i] = 0;
		parent = BPF_CORE_READ(d, d_parent);
		if (d == BPF_CORE_READ(vm, mnt_root)) {
			up = BPF_CORE_READ(mnt, mnt_parent);
			if (up == mnt) { /* the namespace's root, or a detached tree's */
				s->steps = i;
				s->rec.flags &= ~ST_F_EXE_TRUNCATED;
				break;
			}
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vm = (struct vfsmount *)((void *)mnt + bpf_core_field_offset(struct mount, mnt));
			continue;
		}
		if (d == parent && i > 0) { /* a root that is no mount's: d_path stops there too */
			s->steps = i;
			s->rec.flags &= ~ST_F_EXE_TRUNCATED;
			break;
		}
		s->name[i] = (__u64)(unsigned long)BPF_CORE_READ(d, d_name.name);
		s->len[i] = BPF_CORE_READ(d, d_name.len);
		if (d == parent) { /* a pseudo file: "/memfd:NAME (deleted)" */
			s->steps = i + 1;
			s->rec.flags &= ~ST_F_EXE_TRUNCATED;
			s->rec.flags |= ST_F_EXE_DELETED;
			break;
		}
		d = parent;
	}

	/*
	 * Root first: "/" and each name. The length so far lives in the map
	 * value, not in a register: every iteration then starts from one
	 * state, whatever the names copied so far, and the masks bound it.
	 */
	s->off = 0;
	for (int i = ST_EXE_STEPS - 1; i >= 0; i--) {
		__u64 name;
		__u32 len, off;

		if (i >= s->steps)
			continue;
		name = s->name[i];
		if (!name)
			continue; /* a mount crossed */
		len = s->len[i] & ST_NAME_MAX;
		off = *(volatile __u32 *)&s->off; /* a load the compiler cannot forward */
		/* PATH_MAX counts the NUL: at most ST_EXE_LEN - 1 bytes. */
		if (off + 1 + len > ST_EXE_LEN - 1) {
			s->rec.flags |= ST_F_EXE_TRUNCATED;
			break;
		}
		s->rec.exe[off & (ST_EXE_LEN - 1)] = '/';
		if (bpf_probe_read_kernel(&s->rec.exe[(off + 1) & (ST_EXE_LEN - 1)], len, (void *)(unsigned long)name))
			s->rec.flags |= ST_F_EXE_TRUNCATED;
		s->off = off + 1 + len;
	}
	if (!*(volatile __u32 *)&s->off) {
		s->rec.exe[0] = '/';
		s->off = 1;
	}
	return *(volatile __u32 *)&s->off;
}

/* The inode number of the task's pid namespace (task_active_pid_ns). */
static __always_inline __u32 pidns_of(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid *up;

	up = (struct upid *)((void *)pid + bpf_core_field_offset(struct pid, numbers) +
			     (level & 63) * bpf_core_type_size(struct upid));
	return BPF_CORE_READ(up, ns, ns.inum);
}

/*
 * Who the current process is, sent once per tgid (docs/attribution.md):
 * its parent, audit login and session, namespaces and exe. Only the first
 * streamed record of a process comes here; the lookup in send_task is
 * what every streamed record pays.
 */
static __noinline int send_task_info(__u32 tgid)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_scratch *s;
	__u32 zero = 0, len;
	__u8 one = 1;

	s = bpf_map_lookup_elem(&task_scratch, &zero);
	if (!s)
		return 0; /* not sent */
	s->rec.kind = ST_REC_TASK;
	s->rec.flags = 0;
	fill_task(&s->rec.task);
	s->rec.ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (bpf_core_field_exists(task->loginuid)) {
		s->rec.loginuid = BPF_CORE_READ(task, loginuid.val);
		s->rec.sessionid = BPF_CORE_READ(task, sessionid);
	} else {
		s->rec.loginuid = s->rec.sessionid = (__u32)-1;
		s->rec.flags |= ST_F_NO_LOGINUID;
	}
	s->rec.mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	s->rec.pidns = pidns_of(task);
	s->rec.exe_ino = 0;
	/* At most ST_EXE_LEN - 1: the mask only shows the verifier so. */
	len = exe_path(s, task) & (ST_EXE_LEN - 1);
	s->rec.exe_len = len;
	if (bpf_ringbuf_output(&events, &s->rec, offsetof(struct st_task_info, exe) + len, 0)) {
		count(ST_CNT_RB_DROP_TASK);
		return 0;
	}
	bpf_map_update_elem(&sent_tasks, &tgid, &one, BPF_ANY);
	return 1;
}

/*
 * Send the process's st_task_info unless it was sent since its exec: a
 * compare when this CPU's last one was this process, else a lookup.
 * task_gen is read first, so a process forgotten meanwhile is not
 * remembered as sent.
 */
static __always_inline void send_task(struct cpu_state *cs, __u32 tgid)
{
	__u32 gen = task_gen;

	if (cs && cs->task_tgid == tgid && cs->task_gen == gen)
		return;
	if (!bpf_map_lookup_elem(&sent_tasks, &tgid) && !send_task_info(tgid))
		return;
	if (cs) {
		cs->task_tgid = tgid;
		cs->task_gen = gen;
	}
}

/* The process forgets its st_task_info (exec, exit): the observer too. */
static __always_inline void forget_task(__u32 tgid)
{
	struct st_task_gone *g;

	if (bpf_map_delete_elem(&sent_tasks, &tgid))
		return; /* never sent */
	/* After the delete: a CPU that remembers it as sent now looks again. */
	__sync_fetch_and_add(&task_gen, 1);
	g = bpf_ringbuf_reserve(&events, sizeof(*g), 0);
	if (!g)
		return; /* the observer keeps it longer; a new record replaces it */
	g->kind = ST_REC_TASK_GONE;
	g->tgid = tgid;
	bpf_ringbuf_submit(g, 0);
}

/*
 * Send the task's filter stack once, named by its newest filter: each
 * filter's address and FLAG_LOG bit, newest first as seccomp_run_filters
 * walks it (§4), and each filter's program. The walk is unrolled and bounded
 * by ST_MAX_FILTERS so the verifier accepts it; a deeper stack is flagged
 * truncated rather than walked.
 */
static __noinline int send_chain(struct seccomp_filter *head)
{
	__u64 addr = (__u64)(unsigned long)head, head_prog;
	struct seccomp_filter *f = head;
	struct st_chain *c;
	__u64 *sent;

	if (!head)
		return 0;
	head_prog = (__u64)(unsigned long)BPF_CORE_READ(head, prog);
	sent = bpf_map_lookup_elem(&sent_chains, &addr);
	if (sent && *sent == head_prog)
		return 0;
	c = bpf_ringbuf_reserve(&events, sizeof(*c), 0);
	if (!c) {
		count(ST_CNT_RB_DROP_CHAIN);
		return 0;
	}
	__builtin_memset(c, 0, sizeof(*c));
	c->kind = ST_REC_CHAIN;
	c->head = addr;
	c->head_prog = head_prog;
#pragma unroll
	for (int i = 0; i < ST_MAX_FILTERS; i++) {
		if (!f)
			break;
		c->filter_addr[i] = (__u64)(unsigned long)f;
		c->filter_log[i] = BPF_CORE_READ(f, log);
		send_filter(f);
		c->depth = i + 1;
		f = BPF_CORE_READ(f, prev);
	}
	if (f)
		c->flags |= ST_F_STACK_TRUNCATED;
	bpf_ringbuf_submit(c, 0);
	bpf_map_update_elem(&sent_chains, &addr, &head_prog, BPF_ANY);
	return 0;
}

/* The seq an emission of this task gave its decision, taken (0: none pending). */
static __always_inline __u64 take_emitted(__u32 tid)
{
	__u64 *s, seq;

	if (!pending_emissions)
		return 0;
	s = bpf_map_lookup_elem(&emitted, &tid);
	if (!s)
		return 0;
	seq = *s;
	bpf_map_delete_elem(&emitted, &tid);
	__sync_fetch_and_add(&pending_emissions, -1);
	return seq;
}

/* The seq of the decision this task is inside, if it has emitted (for audit drops). */
static __always_inline __u64 peek_emitted(__u32 tid)
{
	__u64 *s;

	if (!pending_emissions)
		return 0;
	s = bpf_map_lookup_elem(&emitted, &tid);
	return s ? *s : 0;
}

static __always_inline __u32 arch_of(bool compat)
{
	return compat ? ST_AUDIT_ARCH_COMPAT : ST_AUDIT_ARCH_NATIVE;
}

/* Forecast mode, first count of a task: keep its name (it may never be streamed). */
static __always_inline void name_task(__u32 tgid)
{
	char comm[ST_COMM_LEN];

	if (bpf_get_current_comm(comm, sizeof(comm)))
		return;
	bpf_map_update_elem(&task_comms, &tgid, comm, BPF_NOEXIST);
}

/*
 * The flood path: a decision the observer marked silent under the policy in
 * force is counted per (task, syscall) instead of sent. False (send it) when
 * it is not marked, the mark is of an older policy or another chain at the
 * same address, or the count cannot be kept.
 */
static __always_inline bool count_silent(struct seccomp_filter *f, int nr, bool compat, __u32 tgid)
{
	struct st_silent_key k = {.chain = (__u64)(unsigned long)f, .arch = arch_of(compat), .nr = nr};
	struct st_count_key ck = {.tgid = tgid, .arch = k.arch, .nr = nr};
	struct silent_mark *m;
	__u64 *n, one = 1;

	m = bpf_map_lookup_elem(&silent, &k);
	if (!m || m->gen != silent_gen)
		return false;
	ck.mark = m->mark;
	n = bpf_map_lookup_elem(&silent_counts, &ck);
	if (n)
		*n += 1;
	else if (bpf_map_update_elem(&silent_counts, &ck, &one, BPF_NOEXIST)) {
		count(ST_CNT_SILENT_FULL);
		return false;
	} else {
		/* A new count: the report names its process. */
		send_task(NULL, tgid);
		if (forecast)
			name_task(tgid);
	}
	count(ST_CNT_SILENT);
	return true;
}

/* Forecast mode: a cached ALLOW counted per (task, syscall), not only in the total. */
static __always_inline void count_allow(int nr, bool compat, __u32 tgid)
{
	struct st_count_key ck = {.tgid = tgid, .arch = arch_of(compat), .nr = nr};
	__u64 *n, one = 1;

	n = bpf_map_lookup_elem(&allow_counts, &ck);
	if (n) {
		*n += 1;
		return;
	}
	if (bpf_map_update_elem(&allow_counts, &ck, &one, BPF_NOEXIST)) {
		/* Another CPU may have made the entry just now. */
		n = bpf_map_lookup_elem(&allow_counts, &ck);
		if (n)
			*n += 1;
		else
			count(ST_CNT_ALLOW_FULL);
		return;
	}
	name_task(tgid);
}

/*
 * One decision, sent when __seccomp_filter returns (arguments as it was
 * called; sd NULL where the kernel rebuilds it from the registers) or, for a
 * task that died inside it, from its exit. The common cases cost a counter:
 * untargeted tasks, ALLOWs the action cache answered (§4), and decisions
 * marked silent. Any decision that emitted is sent.
 */
static __always_inline int decide(int this_syscall, const void *sd, bool recheck, __u64 ret, __u32 flags)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct seccomp_filter *f;
	struct st_decision *rec;
	struct cpu_state *cs;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 mode, gen = silent_gen;
	__u64 seq;
	bool compat;

	if (!is_target(id >> 32))
		return 0;
	count(ST_CNT_DECISIONS);
	f = BPF_CORE_READ(task, seccomp.filter);
	compat = task_is_compat(task);
	seq = take_emitted((__u32)id);
	if (!seq && f && !(flags & ST_F_TASK_EXITED)) {
		if (cache_allows(f, this_syscall, compat)) {
			/* Common case: an ALLOW the kernel answers from its cache never logs (§3). */
			count(ST_CNT_CACHED_ALLOW);
			if (forecast)
				count_allow(this_syscall, compat, id >> 32);
			if (!send_all)
				return 0;
			flags |= ST_F_CACHE_HIT;
		} else if (count_silent(f, this_syscall, compat, id >> 32)) {
			return 0;
		}
	}
	cs = this_cpu();
	if (!seq)
		seq = next_seq(cs);
	send_chain(f);
	send_task(cs, id >> 32);

	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count(ST_CNT_RB_DROP_DECISION);
		return 0;
	}
	rec->kind = ST_REC_DECISION;
	rec->flags = flags | audit_flags(task);
	if (recheck)
		rec->flags |= ST_F_RECHECK;
	if (bpf_core_field_exists(f->cache))
		rec->flags |= ST_F_CACHE_PRESENT;
	fill_task(&rec->task);
	rec->seq = seq;
	rec->chain = (__u64)(unsigned long)f;
	rec->ret = ret;
	if (sd && !bpf_probe_read_kernel(&rec->sd, sizeof(rec->sd), sd)) {
		rec->flags |= ST_F_SD_FROM_ARG;
	} else {
		sd_from_regs(&rec->sd, task, compat);
		/* The filters saw this number: a tracer may have rewritten orig_ax/syscallno since (§3). */
		if (!(flags & ST_F_TASK_EXITED))
			rec->sd.nr = this_syscall;
	}
	rec->this_syscall = rec->sd.nr;
	mode = BPF_CORE_READ(task, seccomp.mode);
	rec->mode_at_exit = mode;
	rec->silent_gen = gen;
	rec->_pad = 0;
	read_policy(rec);
	bpf_ringbuf_submit(rec, 0);
	if (mode == ST_SECCOMP_MODE_DEAD && !(flags & ST_F_TASK_EXITED))
		/* KILL_PROCESS returns and dies by its signal: its exit must not send it again. */
		dead_step((__u32)id, dead_state((__u32)id), DEAD_SENT);
	return 0;
}

/*
 * audit_seccomp (the kernel decided to log) or seccomp_log: give the
 * decision in flight its seq now, since it is sent only when it returns.
 */
static __always_inline int on_emission(__u32 kind, long syscall, long signr, __u32 code, __u32 requested)
{
	__u64 id = bpf_get_current_pid_tgid(), seq;
	struct cpu_state *cs = NULL;
	__u32 tid = (__u32)id;
	struct st_emission *e;

	if (!is_target(id >> 32))
		return 0;
	cs = this_cpu();
	seq = peek_emitted(tid);
	if (!seq) {
		seq = next_seq(cs);
		if (bpf_map_update_elem(&emitted, &tid, &seq, BPF_ANY))
			count(ST_CNT_INFLIGHT_FULL);
		else
			__sync_fetch_and_add(&pending_emissions, 1);
	}
	if (kind == ST_REC_EMISSION)
		count(ST_CNT_EMISSIONS);
	send_task(cs, id >> 32);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(kind == ST_REC_EMISSION ? ST_CNT_RB_DROP_EMISSION : ST_CNT_RB_DROP_SECCOMP_LOG);
		return 0;
	}
	e->kind = kind;
	e->flags = 0;
	fill_task(&e->task);
	e->decision_seq = seq;
	e->syscall = syscall;
	e->signr = signr;
	e->code = code;
	e->requested = requested;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ---- fentry/fexit set ---------------------------------------------------- */

/*
 * One fexit on __seccomp_filter: its arguments are there at the return, so
 * no entry program runs on the hot path (under TCG the fexit trampoline
 * costs about what the pair does; an fentry would add its body to every
 * syscall of every filtered task).
 */

/* __seccomp_filter(int this_syscall, const struct seccomp_data *sd, const bool recheck_after_trace): 4.14–6.14 */
SEC("fexit/__seccomp_filter")
int BPF_PROG(fexit_filter3, int this_syscall, const void *sd, __u64 recheck, long ret)
{
	return decide(this_syscall, sd, ARG_BOOL(recheck), ret, 0);
}

/* __seccomp_filter(int this_syscall, const bool recheck_after_trace): 6.15+, bool return from 7.3 */
SEC("fexit/__seccomp_filter")
int BPF_PROG(fexit_filter2, int this_syscall, __u64 recheck, long ret)
{
	return decide(this_syscall, NULL, ARG_BOOL(recheck), ret, 0);
}

/* audit_seccomp(unsigned long syscall, long signr, int code); the Go side retargets it to __audit_seccomp before 4.18. */
SEC("fentry/audit_seccomp")
int BPF_PROG(fentry_audit_seccomp, unsigned long syscall, long signr, int code)
{
	return on_emission(ST_REC_EMISSION, syscall, signr, code, 0);
}

/* seccomp_log(unsigned long syscall, long signr, u32 action, bool requested): only where not inlined. */
SEC("fentry/seccomp_log")
int BPF_PROG(fentry_seccomp_log, unsigned long syscall, long signr, __u32 action, __u64 requested)
{
	return on_emission(ST_REC_SECCOMP_LOG, syscall, signr, action, ARG_BOOL(requested));
}

/* A write to actions_logged entered the handler (write is 1; a read is never marked). */
/* buffer and lenp are kernel memory (proc_sys_call_handler copies the user's
 * bytes and NUL-terminates them, 5.8+); kept for the kretprobe, NULL for the fexit. */
static __always_inline void on_sysctl_enter(const void *buffer, const void *lenp)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sysctl_entry e = {
		.start_ns = bpf_ktime_get_ns(),
		.buffer = (__u64)(unsigned long)buffer,
		.lenp = (__u64)(unsigned long)lenp,
	};

	if (!bpf_map_update_elem(&sysctl_start, &tid, &e, BPF_ANY))
		__sync_fetch_and_add(&sysctl_in_progress, 1);
	else
		count(ST_CNT_INFLIGHT_FULL); /* the kretprobe will not send this write */
}

static __always_inline int on_sysctl(__u32 write, long ret, const char *buffer, const __u64 *lenp)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sysctl_entry *start = bpf_map_lookup_elem(&sysctl_start, &tid);
	__u64 start_ns = 0;
	struct st_sysctl *s;

	if (start) {
		start_ns = start->start_ns;
		bpf_map_delete_elem(&sysctl_start, &tid);
		__sync_fetch_and_add(&sysctl_in_progress, -1);
	}
	/* Silent marks were made under the old value: void them before anything is decided under the new. */
	__sync_fetch_and_add(&silent_gen, 1);
	s = bpf_ringbuf_reserve(&events, sizeof(*s), 0);
	if (!s) {
		count(ST_CNT_RB_DROP_SYSCTL);
		return 0;
	}
	s->start_ns = start_ns;
	s->kind = ST_REC_SYSCTL;
	s->flags = actions_logged_addr ? ST_F_POLICY_READ : 0;
	fill_task(&s->task);
	s->ret = ret;
	s->write = write;
	s->new_value = read_u32(actions_logged_addr);
	s->written_len = 0;
	s->written[0] = 0;
	if (buffer && lenp && !bpf_probe_read_kernel(&s->written_len, sizeof(s->written_len), lenp) &&
	    bpf_probe_read_kernel_str(s->written, sizeof(s->written), buffer) >= 0)
		s->flags |= ST_F_WRITTEN;
	bpf_ringbuf_submit(s, 0);
	return 0;
}

/* A write is in progress from here to the return: decisions that return meanwhile may have read either value. */
SEC("fentry/seccomp_actions_logged_handler")
int BPF_PROG(fentry_actions_logged, const void *table, int write)
{
	if (write)
		on_sysctl_enter(NULL, NULL); /* the fexit has the buffer itself */
	return 0;
}

/* seccomp_actions_logged_handler(table, int write, buffer, lenp, ppos): every write attempt returns here. */
SEC("fexit/seccomp_actions_logged_handler")
int BPF_PROG(fexit_actions_logged, const void *table, int write, void *buffer, void *lenp, void *ppos, int ret)
{
	if (!write)
		return 0;
	return on_sysctl(1, ret, buffer, lenp);
}

/* The same without touching buffer and lenp: lenp is a size_t *, which a
 * tracing program may read only from 6.4 (5.10's verifier refuses it). */
SEC("fexit/seccomp_actions_logged_handler")
int BPF_PROG(fexit_actions_logged_nobuf, const void *table, int write)
{
	if (!write)
		return 0;
	return on_sysctl(1, (int)ctx[5], NULL, NULL);
}

SEC("fentry/bpf_prog_destroy")
int BPF_PROG(fentry_prog_destroy, struct bpf_prog *fp)
{
	return on_prog_destroy((__u64)(unsigned long)fp);
}

/* ---- where a decided record dies (docs/kernel-semantics.md §6) ------------------- */

static __always_inline int on_audit_drop(__u32 stage, int type, const char *reason)
{
	struct st_audit_drop *d;

	d = bpf_ringbuf_reserve(&events, sizeof(*d), 0);
	if (!d) {
		count(ST_CNT_RB_DROP_AUDIT_DROP);
		return 0;
	}
	d->kind = ST_REC_AUDIT_DROP;
	d->stage = stage;
	fill_task(&d->task);
	/* Inside audit_seccomp the decision already has its seq (on_emission). */
	d->decision_seq = peek_emitted((__u32)bpf_get_current_pid_tgid());
	d->type = type;
	d->_pad = 0;
	d->reason[0] = 0;
	if (reason)
		bpf_probe_read_kernel_str(d->reason, sizeof(d->reason), reason);
	bpf_ringbuf_submit(d, 0);
	return 0;
}

/* audit_log_start(ctx, gfp_mask, type): NULL means the record was never built. */
SEC("fexit/audit_log_start")
int BPF_PROG(fexit_audit_log_start, void *actx, unsigned int gfp, int type, void *ret)
{
	if (ret || (type != ST_AUDIT_SECCOMP && type != ST_AUDIT_CONFIG_CHANGE))
		return 0;
	return on_audit_drop(ST_DROP_START_REFUSED, type, NULL);
}

/* audit_log_lost(const char *message): backlog, rate limit, hold queue, ENOMEM. */
SEC("fentry/audit_log_lost")
int BPF_PROG(fentry_audit_log_lost, const char *message)
{
	return on_audit_drop(ST_DROP_LOST, 0, message);
}

/* ---- kprobe set (no BTF trampolines) -------------------------------------- */

SEC("kprobe/__seccomp_filter")
int BPF_KPROBE(kprobe_filter, long a0, long a1, long a2)
{
	struct kprobe_key key = {.tid = (__u32)bpf_get_current_pid_tgid()};
	struct kprobe_args args = {.this_syscall = (int)a0};

	if (!is_target(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (filter_arity == 2) {
		args.recheck = ARG_BOOL(a1);
	} else {
		args.sd = a1;
		args.recheck = ARG_BOOL(a2);
	}
	key.nested = args.recheck;
	if (!key.nested && bpf_map_lookup_elem(&kprobe_entry, &key))
		/* Only the TRACE re-check nests; an entry left over lost its kretprobe. */
		count(ST_CNT_EXIT_UNMATCHED);
	if (bpf_map_update_elem(&kprobe_entry, &key, &args, BPF_ANY))
		count(ST_CNT_INFLIGHT_FULL);
	return 0;
}

SEC("kretprobe/__seccomp_filter")
int BPF_KRETPROBE(kretprobe_filter, long ret)
{
	struct kprobe_key key = {.tid = (__u32)bpf_get_current_pid_tgid(), .nested = 1};
	struct kprobe_args *args = bpf_map_lookup_elem(&kprobe_entry, &key);
	struct kprobe_args a;

	if (!args) {
		key.nested = 0;
		args = bpf_map_lookup_elem(&kprobe_entry, &key);
	}
	if (!args)
		return 0; /* entry filtered out, or attached mid-call */
	a = *args;
	bpf_map_delete_elem(&kprobe_entry, &key);
	return decide(a.this_syscall, (const void *)(unsigned long)a.sd, a.recheck, ret, 0);
}

SEC("kprobe/audit_seccomp")
int BPF_KPROBE(kprobe_audit_seccomp, unsigned long syscall, long signr, int code)
{
	return on_emission(ST_REC_EMISSION, syscall, signr, code, 0);
}

SEC("kretprobe/audit_log_start")
int BPF_KRETPROBE(kretprobe_audit_log_start, void *ret)
{
	/* The type argument is gone at return: report every refusal inside audit_seccomp. */
	if (ret || !peek_emitted((__u32)bpf_get_current_pid_tgid()))
		return 0;
	return on_audit_drop(ST_DROP_START_REFUSED, 0, NULL);
}

SEC("kprobe/audit_log_lost")
int BPF_KPROBE(kprobe_audit_log_lost, const char *message)
{
	return on_audit_drop(ST_DROP_LOST, 0, message);
}

SEC("kprobe/bpf_prog_destroy")
int BPF_KPROBE(kprobe_prog_destroy, struct bpf_prog *fp)
{
	return on_prog_destroy((__u64)(unsigned long)fp);
}

SEC("kprobe/seccomp_actions_logged_handler")
int BPF_KPROBE(kprobe_actions_logged, const void *table, int write, void *buffer, void *lenp)
{
	if (write)
		on_sysctl_enter(buffer, lenp);
	return 0;
}

/* A kretprobe cannot see `write` or the buffer: the kprobe marked a write's
 * entry and kept them. A read must not be sent: where the policy is read
 * back from the sysctl (no kernel address), the reader's own read-back
 * would come back here, again and again. The buffer is still the
 * handler's at its return (proc_sys_call_handler frees it after). */
SEC("kretprobe/seccomp_actions_logged_handler")
int BPF_KRETPROBE(kretprobe_actions_logged, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sysctl_entry *e = bpf_map_lookup_elem(&sysctl_start, &tid);

	if (!e)
		return 0;
	return on_sysctl(1, ret, (const char *)(unsigned long)e->buffer, (const __u64 *)(unsigned long)e->lenp);
}

SEC("kprobe/seccomp_log")
int BPF_KPROBE(kprobe_seccomp_log, unsigned long syscall, long signr, __u32 action, __u64 requested)
{
	return on_emission(ST_REC_SECCOMP_LOG, syscall, signr, action, ARG_BOOL(requested));
}

/* ---- target following ----------------------------------------------------- */

/*
 * A kill can call do_exit() inside __seccomp_filter (§3: KILL_THREAD with
 * other threads alive; every kill before about 5.15), and strict mode kills
 * without entering it: no return hook runs, so the decision is sent from
 * here, rebuilt from the registers, with the seq its emission gave it.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(task_exit, struct task_struct *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bool has_filter = BPF_CORE_READ(task, seccomp.filter) != NULL;
	bool dead = BPF_CORE_READ(task, seccomp.mode) == ST_SECCOMP_MODE_DEAD;
	bool sent = false;

	if (kprobe_mode) {
		/* Entries whose kretprobe will never run. */
		struct kprobe_key key = {.tid = tid};

		bpf_map_delete_elem(&kprobe_entry, &key);
		key.nested = 1;
		bpf_map_delete_elem(&kprobe_entry, &key);
	}
	if (dead) {
		__u8 st = dead_state(tid);

		/* Before 6.10 the filter is released after the exit: still here. */
		if (!(st & DEAD_SENT) && has_filter) {
			decide(-1, NULL, false, (__u64)-1, ST_F_TASK_EXITED);
			st |= DEAD_SENT;
		}
		dead_step(tid, st, DEAD_EXITED);
		sent = st & DEAD_SENT;
	}
	if (!sent && !has_filter && !had_filters(task) && is_target(bpf_get_current_pid_tgid() >> 32) &&
	    (peek_emitted(tid) || strict_killed(task)))
		decide(-1, NULL, false, (__u64)-1, ST_F_TASK_EXITED | ST_F_STRICT);
	/* The last thread: the process's pid may come back for another. */
	if (!BPF_CORE_READ(task, signal, live.counter))
		forget_task(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/* After an exec the process is another program: send it again. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(task_exec, struct task_struct *p)
{
	forget_task(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/*
 * From 6.10 do_exit releases the filters (seccomp_filter_release) before
 * sched_process_exit: a kill inside the filter is sent from here, while the
 * stack is still attached. Where the release comes later (release_task,
 * free_task: another task's context), the exit hook sends it.
 */
static __always_inline int on_filter_release(struct task_struct *tsk)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tid = BPF_CORE_READ(tsk, pid);
	__u8 st;

	if (BPF_CORE_READ(tsk, seccomp.mode) != ST_SECCOMP_MODE_DEAD)
		return 0;
	st = dead_state(tid);
	/* In its own context, with the stack still attached: send it now. */
	if (!(st & DEAD_SENT) && tsk == task && BPF_CORE_READ(task, seccomp.filter)) {
		decide(-1, NULL, false, (__u64)-1, ST_F_TASK_EXITED);
		st |= DEAD_SENT;
	}
	dead_step(tid, st, DEAD_RELEASED);
	return 0;
}

SEC("fentry/seccomp_filter_release")
int BPF_PROG(fentry_filter_release, struct task_struct *tsk)
{
	return on_filter_release(tsk);
}

SEC("kprobe/seccomp_filter_release")
int BPF_KPROBE(kprobe_filter_release, struct task_struct *tsk)
{
	return on_filter_release(tsk);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(follow_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid;
	__u8 one = 1;

	if (!follow_forks)
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ptgid != ctgid && bpf_map_lookup_elem(&targets, &ptgid))
		bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
	return 0;
}

/*
 * A barrier through the ring (Session.Sync), never attached: the observer
 * runs it with BPF_PROG_TEST_RUN on a packet whose last 8 bytes are a
 * token (a socket filter's test run wants an Ethernet header first, which
 * it pulls; reading from the end does not depend on that). The marker is
 * reserved after every record a probe reserved before the run, and the
 * reader reads in reservation order, stopping at a record not yet
 * committed: once it has read the marker it has read every one of them,
 * whatever came after. Ring-buffer helpers are base helpers (5.8+), open
 * to socket filters. When the ring is full the marker cannot go in, but
 * the producer position read after the failed write is as good a barrier:
 * every earlier record lies below it, and the observer counts the bytes
 * it reads (no program discards a reservation, so the reader's position
 * is the sum of what it read).
 */
SEC("socket")
int sync_mark(struct __sk_buff *skb)
{
	struct st_sync rec = {.kind = ST_REC_SYNC};
	__u32 len = skb->len;
	long err;

	if (len < sizeof(rec.token) || bpf_skb_load_bytes(skb, len - sizeof(rec.token), &rec.token, sizeof(rec.token)))
		return ST_SYNC_BAD;
	err = bpf_ringbuf_output(&events, &rec, sizeof(rec), 0);
	sync_prod_pos = bpf_ringbuf_query(&events, BPF_RB_PROD_POS);
	if (err) {
		count(ST_CNT_RB_DROP_SYNC);
		return ST_SYNC_FULL;
	}
	return ST_SYNC_WRITTEN;
}
