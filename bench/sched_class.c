/*
 * Run vigild in the ordinary scheduling class instead of its default SCHED_FIFO, for the
 * benchmarks that compare the two (bench/sched_class.py; BENCHMARKS-daemon.md, seventeenth
 * session). keepalived runs there by default (no vrrp_rt_priority).
 *
 *   VIGIL_CLASS_EXEC=/path/to/vigild [VIGIL_CLASS_NICE=-20] [VIGIL_CLASS_SLICE_NS=100000] \
 *       sched_class ARGS...
 *
 * sets SCHED_OTHER at the given nice value and, when VIGIL_CLASS_SLICE_NS is not 0, the
 * EEVDF slice (sched_attr.sched_runtime, Linux 6.12 and later: a task with a shorter slice may
 * preempt the running one when it wakes), sets VIGIL_NO_REALTIME=1 (vigild then leaves its
 * class alone), and executes VIGIL_CLASS_EXEC with ARGS. A benchmark gives this program as
 * VIGILD, so the lab starts it exactly as it starts vigild.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* struct sched_attr, SCHED_ATTR_SIZE_VER1 (include/uapi/linux/sched/types.h). */
struct sched_attr_v1 {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return dflt;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end) {
		fprintf(stderr, "sched_class: %s=%s is not a number\n", name, v);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *exe = getenv("VIGIL_CLASS_EXEC");
	struct sched_attr_v1 a;

	(void)argc;
	if (!exe || !*exe) {
		fprintf(stderr, "sched_class: VIGIL_CLASS_EXEC (the vigild to run) is not set\n");
		return 2;
	}
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.sched_policy = SCHED_OTHER;
	a.sched_nice = (int32_t)env_long("VIGIL_CLASS_NICE", -20);
	a.sched_runtime = (uint64_t)env_long("VIGIL_CLASS_SLICE_NS", 100000);
	if (syscall(SYS_sched_setattr, 0, &a, 0) != 0) {
		perror("sched_class: sched_setattr");
		return 1;
	}
	if (setenv("VIGIL_NO_REALTIME", "1", 1) != 0) {
		perror("sched_class: setenv");
		return 1;
	}
	argv[0] = (char *)exe;
	execv(exe, argv);
	fprintf(stderr, "sched_class: cannot execute %s: %s\n", exe, strerror(errno));
	return 1;
}
