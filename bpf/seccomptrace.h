/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Wire format of the ring-buffer records, shared by every BPF program and,
 * through bpf2go's generated types, by the Go observer. No `packed`: every
 * field sits at its natural alignment, padding is explicit.
 */
#ifndef SECCOMPTRACE_H
#define SECCOMPTRACE_H

#define ST_COMM_LEN 16
/* Filters copied per decision; deeper stacks set ST_F_STACK_TRUNCATED. */
#define ST_MAX_FILTERS 16

enum st_record_kind {
	ST_REC_DECISION = 1,    /* one __seccomp_filter call, entry to exit, or a strict-mode kill */
	ST_REC_EMISSION = 2,    /* audit_seccomp / __audit_seccomp: "decided to log" */
	ST_REC_SECCOMP_LOG = 3, /* seccomp_log, only on kernels where it is not inlined */
	ST_REC_FILTER = 4,      /* a filter's original cBPF program, sent once per filter */
	ST_REC_SYSCTL = 5,      /* a write to kernel.seccomp.actions_logged returned */
	ST_REC_AUDIT_DROP = 6,  /* audit_log_start refused a SECCOMP/CONFIG_CHANGE record, or audit_log_lost ran */
	ST_REC_CHAIN = 7,       /* a filter stack, sent once per newest filter; decisions name it by that address */
	ST_REC_FILTER_FREE = 8, /* a sent filter was destroyed: forget it, and the chain it headed */
	ST_REC_TASK = 9,        /* who a process is: sent once per tgid (again after an exec), before its first streamed record */
	ST_REC_TASK_GONE = 10,  /* a process whose st_task_info was sent exec'd or exited: forget it (its pid may come back) */
	ST_REC_SYNC = 11,       /* a marker the observer sent itself (sync_mark): every record reserved before it is read before it */
};

enum st_flags {
	ST_F_RECHECK = 1 << 0,         /* recheck_after_trace was true */
	ST_F_SD_FROM_ARG = 1 << 1,     /* seccomp_data copied from the sd argument */
	ST_F_STACK_TRUNCATED = 1 << 2, /* more than ST_MAX_FILTERS filters */
	ST_F_AUDIT_CTX = 1 << 3,       /* current->audit_context != NULL */
	ST_F_AUDIT_DUMMY = 1 << 4,     /* audit_context->dummy != 0 */
	ST_F_CACHE_PRESENT = 1 << 5,   /* kernel has the action cache (5.11+) */
	ST_F_CACHE_HIT = 1 << 6,       /* newest filter's bitmap allows nr (sent only with send_all) */
	ST_F_NO_ORIG_PROG = 1 << 8,    /* filter has no orig_prog (no CHECKPOINT_RESTORE, < 5.11) */
	ST_F_POLICY_READ = 1 << 9,     /* actions_logged / audit_enabled read from kernel memory */
	ST_F_TASK_EXITED = 1 << 10,    /* the task exited inside __seccomp_filter (KILL_THREAD's do_exit) */
	ST_F_STRICT = 1 << 11,         /* a strict-mode (mode 1) kill: no filter ran; sent at the task's exit */
	ST_F_WRITTEN = 1 << 12,        /* st_sysctl.written holds the string written (fexit only) */
	ST_F_POLICY_RACE = 1 << 13,    /* a write to actions_logged was in progress when the decision returned */
	ST_F_EXE_UNKNOWN = 1 << 14,    /* st_task_info: no mm or no exe file (the task is exiting) */
	ST_F_EXE_TRUNCATED = 1 << 15,  /* st_task_info: exe deeper than the probe walks, or longer than ST_EXE_LEN - 1 */
	ST_F_EXE_DELETED = 1 << 16,    /* st_task_info: exe unlinked, or a memfd (d_path adds " (deleted)") */
	ST_F_NO_LOGINUID = 1 << 17,    /* st_task_info: no CONFIG_AUDIT, so no loginuid or sessionid */
};

/* Per-CPU counters, exported by the observer. */
enum st_counter {
	ST_CNT_DECISIONS = 0,         /* __seccomp_filter entries for targeted tasks */
	ST_CNT_CACHED_ALLOW,          /* of those, answered by the action cache: never log, not sent */
	ST_CNT_RB_DROP_DECISION,      /* ring-buffer reservation failed */
	ST_CNT_RB_DROP_EMISSION,
	ST_CNT_RB_DROP_SECCOMP_LOG,
	ST_CNT_INFLIGHT_FULL,         /* in-flight map full: a decision was not followed */
	ST_CNT_EXIT_UNMATCHED,        /* a decision whose exit hook never ran (missed kretprobe): result unknown */
	ST_CNT_EMISSIONS,
	ST_CNT_RB_DROP_FILTER,        /* a filter program could not be sent: its decisions are unknown */
	ST_CNT_RB_DROP_SYSCTL,        /* a sysctl write record was lost: the policy timeline is broken */
	ST_CNT_RB_DROP_AUDIT_DROP,    /* an audit drop record was lost: a loss cannot be attributed */
	ST_CNT_SILENT,                /* decisions the observer marked silent: counted per task and syscall, not sent */
	ST_CNT_SILENT_FULL,           /* silent_counts full: such a decision was sent instead */
	ST_CNT_RB_DROP_CHAIN,         /* a chain record was lost: its decisions are unknown */
	ST_CNT_ALLOW_FULL,            /* allow_counts full (forecast): a cached ALLOW counted only in the total */
	ST_CNT_RB_DROP_TASK,          /* a task record was lost: its process's records are not attributed */
	ST_CNT_RB_DROP_SYNC,          /* a sync marker found the ring full: the observer waited by position instead (no loss) */
	ST_CNT_MAX,
};

struct st_task {
	__u64 ktime_ns;  /* bpf_ktime_get_ns at the event */
	__u64 cgroup_id; /* cgroup v2 id */
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	char comm[ST_COMM_LEN];
};

/* struct seccomp_data as the filter sees it (64 bytes, native byte order). */
struct st_sdata {
	__s32 nr;
	__u32 arch;
	__u64 instruction_pointer;
	__u64 args[6];
};

/*
 * One decision, sent at __seccomp_filter's return (or at the task's exit
 * when it died inside). The filter stack is named by its newest filter's
 * address (`chain`), sent once as an st_chain: a stack never changes under
 * a filter, so the newest one identifies it.
 */
struct st_decision {
	__u32 kind; /* ST_REC_DECISION */
	__u32 flags;
	struct st_task task; /* task.ktime_ns: when __seccomp_filter returned */
	__u64 seq;   /* unique per decision; emissions point at it */
	__u64 chain; /* newest filter (struct seccomp_filter *), 0 for strict mode */
	__u64 ret;   /* raw return of __seccomp_filter: int 0/-1, or bool on 7.3+ */
	struct st_sdata sd;
	__s32 this_syscall;
	__u32 mode_at_exit; /* current->seccomp.mode at exit: 3 = SECCOMP_MODE_DEAD */
	/* seccomp_actions_logged and audit_enabled at the return (ST_F_POLICY_READ). */
	__u32 actions_logged;
	__u32 audit_enabled;
	__u32 silent_gen; /* what a silent mark made from this decision must carry */
	__u32 _pad;
};

struct st_chain {
	__u32 kind;  /* ST_REC_CHAIN */
	__u32 flags; /* ST_F_STACK_TRUNCATED */
	__u64 head;      /* the newest filter: st_decision.chain */
	__u64 head_prog; /* its struct bpf_prog *: with head, the chain's identity */
	__u32 depth;
	__u32 _pad;
	__u64 filter_addr[ST_MAX_FILTERS]; /* newest first, as seccomp_run_filters walks them */
	__u8 filter_log[ST_MAX_FILTERS];
};

struct st_filter_free {
	__u32 kind; /* ST_REC_FILTER_FREE */
	__u32 _pad;
	__u64 addr; /* struct seccomp_filter *, as in st_filter.addr */
};

/* PATH_MAX: the exe path as d_path writes it, without " (deleted)". */
#define ST_EXE_LEN 4096
#define ST_NAME_MAX 255

/*
 * Who a process is (docs/attribution.md): sent once per tgid, before the
 * first decision, emission or silent count of it that the probes send,
 * and again after an exec; read from the task that sends it. Only
 * exe_len bytes of exe are sent.
 */
struct st_task_info {
	__u32 kind;  /* ST_REC_TASK */
	__u32 flags; /* ST_F_EXE_*, ST_F_NO_LOGINUID */
	struct st_task task;
	__u32 ppid;      /* real_parent's tgid (init pid namespace) */
	__u32 loginuid;  /* audit loginuid (auid=), (u32)-1 when unset */
	__u32 sessionid; /* audit session id (ses=), (u32)-1 when unset */
	__u32 mntns;     /* inode number of the mount namespace */
	__u32 pidns;     /* inode number of the task's pid namespace */
	__u32 exe_len;
	__u64 exe_ino;   /* inode number of the exe, 0 when unknown */
	char exe[ST_EXE_LEN]; /* "/usr/bin/x", not NUL-terminated */
};

struct st_task_gone {
	__u32 kind; /* ST_REC_TASK_GONE */
	__u32 tgid;
};

/*
 * A barrier in the stream (Session.Sync): the token the observer put in
 * the packet it ran sync_mark on.
 */
struct st_sync {
	__u32 kind; /* ST_REC_SYNC */
	__u32 _pad;
	__u64 token;
};

/* sync_mark's return values (the observer reads them from BPF_PROG_TEST_RUN). */
enum st_sync_ret {
	ST_SYNC_BAD = 0,     /* no token in the packet: nothing written */
	ST_SYNC_WRITTEN = 1, /* the marker is in the ring */
	ST_SYNC_FULL = 2,    /* the ring was full: sync_prod_pos says where the stream had got to */
};

/* Decisions marked silent by the observer: (chain, arch, nr) -> silent_mark. */
struct st_silent_key {
	__u64 chain;
	__u32 arch;
	__s32 nr;
};

/*
 * Per task, syscall and mark: how many silent decisions were counted, not
 * sent (silent_counts), or, in forecast mode, how many cached ALLOWs
 * (allow_counts, mark 0).
 */
struct st_count_key {
	__u32 tgid;
	__u32 arch;
	__s32 nr;
	__u32 mark; /* silent_mark.mark of the mark that counted it: the observer knows its action */
};

struct st_emission {
	__u32 kind; /* ST_REC_EMISSION or ST_REC_SECCOMP_LOG */
	__u32 flags;
	struct st_task task;
	__u64 decision_seq; /* 0 when no decision was in flight */
	__s64 syscall;
	__s64 signr;
	__u32 code;      /* action (audit_seccomp) */
	__u32 requested; /* seccomp_log only */
};

#define ST_WRITTEN_LEN 64

struct st_sysctl {
	__u32 kind; /* ST_REC_SYSCTL */
	__u32 flags;
	struct st_task task;
	__s64 ret;        /* handler's return: 0 or -errno */
	__u32 write;      /* always 1: reads are not sent */
	__u32 new_value;  /* seccomp_actions_logged after the write (ST_F_POLICY_READ) */
	__u64 start_ns;   /* when the handler was entered, 0 where not seen */
	__u64 written_len; /* bytes written (*lenp), with ST_F_WRITTEN */
	char written[ST_WRITTEN_LEN]; /* what was written, NUL-terminated, truncated to fit */
};

#define ST_REASON_LEN 48

enum st_drop_stage {
	ST_DROP_START_REFUSED = 1, /* audit_log_start returned NULL (audit=0, exclude rule, backlog, ENOMEM) */
	ST_DROP_LOST = 2,          /* audit_log_lost(reason): counted in audit_lost */
};

struct st_audit_drop {
	__u32 kind; /* ST_REC_AUDIT_DROP */
	__u32 stage;
	struct st_task task;
	__u64 decision_seq; /* the decision in flight in this task, else 0 */
	__s32 type;         /* record type for ST_DROP_START_REFUSED */
	__u32 _pad;
	char reason[ST_REASON_LEN]; /* audit_log_lost's message */
};

/* struct sock_filter */
struct st_insn {
	__u16 code;
	__u8 jt;
	__u8 jf;
	__u32 k;
};

#define ST_MAX_INSNS 4096 /* BPF_MAXINSNS */

/* Sent with only `len` instructions; the rest of the array is not transmitted. */
struct st_filter {
	__u32 kind; /* ST_REC_FILTER */
	__u32 flags;
	__u64 addr; /* struct seccomp_filter *, as in st_decision.filter_addr */
	__u64 prog; /* struct bpf_prog *: with addr, the filter's identity */
	__u32 log;  /* SECCOMP_FILTER_FLAG_LOG was set at attach */
	__u32 len;
	struct st_insn insns[ST_MAX_INSNS];
};

#endif /* SECCOMPTRACE_H */
