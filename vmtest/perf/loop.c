// SPDX-License-Identifier: Apache-2.0
/*
 * The perf workload: install one seccomp filter, then call getppid N times
 * on each of T threads and print the mean ns per call on stderr (stdout may
 * be a tracer's stream). Built on the host by `make perf`.
 *
 *   loop MODE N [T]
 *   MODE allow     every syscall allowed: the kernel's action cache answers
 *        argcheck  getppid allowed after a check of its first argument: the filter runs
 *        errno     getppid denied with ERRNO(1), no FLAG_LOG: a silent denial
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

static long calls;

static struct sock_filter allow_all[] = {
	RET(SECCOMP_RET_ALLOW),
};

/* Reading an argument makes the filter's result depend on it: no cache. */
static struct sock_filter arg_check[] = {
	LOAD(offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 3),
	LOAD(offsetof(struct seccomp_data, args[0])),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xdead, 0, 1),
	RET(SECCOMP_RET_ERRNO | EPERM),
	RET(SECCOMP_RET_ALLOW),
};

static struct sock_filter errno_getppid[] = {
	LOAD(offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	RET(SECCOMP_RET_ALLOW),
	LOAD(offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
	RET(SECCOMP_RET_ERRNO | 1),
	RET(SECCOMP_RET_ALLOW),
};

static void *run(void *arg)
{
	(void)arg;
	for (long i = 0; i < calls; i++)
		syscall(__NR_getppid);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sock_fprog prog;
	pthread_t tids[64];
	int threads = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: loop allow|argcheck|errno N [THREADS]\n");
		return 2;
	}
	calls = atol(argv[2]);
	if (argc > 3)
		threads = atoi(argv[3]);
	if (calls <= 0 || threads < 1 || threads > 64) {
		fprintf(stderr, "loop: bad N or THREADS\n");
		return 2;
	}
	if (!strcmp(argv[1], "allow"))
		prog = (struct sock_fprog){sizeof(allow_all) / sizeof(allow_all[0]), allow_all};
	else if (!strcmp(argv[1], "argcheck"))
		prog = (struct sock_fprog){sizeof(arg_check) / sizeof(arg_check[0]), arg_check};
	else if (!strcmp(argv[1], "errno"))
		prog = (struct sock_fprog){sizeof(errno_getppid) / sizeof(errno_getppid[0]), errno_getppid};
	else {
		fprintf(stderr, "loop: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		perror("loop: installing the filter");
		return 1;
	}
	double start = now();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, run, NULL)) {
			fprintf(stderr, "loop: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	fprintf(stderr, "loop %s: %ld calls x %d threads: %.0f ns per call\n", argv[1], calls, threads,
		(now() - start) / calls);
	return 0;
}
