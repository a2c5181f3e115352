/*
 * probe.c - when the machine stops running this process's threads, for
 * bench/perf --probe: the paced run's tail beside the machine's own stalls.
 *
 *     probe -d SECONDS [-l LATE_US]
 *
 * One thread per CPU this process may run on, pinned to it, real-time
 * (SCHED_FIFO, so that no thread of the guest's own may keep it waiting),
 * wakes every millisecond on an absolute CLOCK_MONOTONIC deadline (after a
 * late one, a millisecond from then).  A wake-up later than LATE_US
 * (default 1000) means that for that long the CPU ran nothing of the
 * guest's that a real-time thread could preempt: a section of the kernel
 * with interrupts or preemption off, or a virtual CPU that the host did not
 * run.  Each such wake-up is printed as "<cpu> <deadline ns> <late us>",
 * one a line, flushed as it happens; the first line is "# fifo 1" (or
 * "# fifo 0" when the thread could not be made real-time: then it waits
 * behind the guest's own threads too, and says less), and each thread says
 * "# cpu N" once it watches CPU N.  Costs 1,000 wake-ups a second on each
 * CPU.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int64_t end_ns, late_ns = 1000000;
static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *watch(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct sched_param sp = { .sched_priority = 10 };
	cpu_set_t set;
	int64_t next = now_ns();

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		return NULL; /* no "# cpu" line: not watched */
	(void)pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp); /* main said if not */
	pthread_mutex_lock(&out);
	printf("# cpu %d\n", cpu);
	fflush(stdout);
	pthread_mutex_unlock(&out);
	while (next < end_ns) {
		struct timespec t;
		int64_t now;

		next += 1000000;
		t.tv_sec = next / 1000000000;
		t.tv_nsec = next % 1000000000;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		now = now_ns();
		if (now - next > late_ns) {
			pthread_mutex_lock(&out);
			printf("%d %lld %lld\n", cpu, (long long)next,
			       (long long)(now - next) / 1000);
			fflush(stdout);
			pthread_mutex_unlock(&out);
			next = now; /* the next deadline after a late one: from now */
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 0;
	cpu_set_t mine;
	pthread_t *t;
	int opt, fifo = 1, n = 0, i, cpu;

	while ((opt = getopt(argc, argv, "d:l:")) != -1) {
		switch (opt) {
		case 'd': seconds = atof(optarg); break;
		case 'l': late_ns = atoll(optarg) * 1000; break;
		default: goto usage;
		}
	}
	if (seconds <= 0 || late_ns <= 0 || sched_getaffinity(0, sizeof(mine), &mine))
		goto usage;
	end_ns = now_ns() + (int64_t)(seconds * 1e9);
	t = calloc(CPU_SETSIZE, sizeof(*t));
	if (!t)
		return 1;
	/* whether SCHED_FIFO is allowed, said before any wake-up is */
	{
		struct sched_param sp = { .sched_priority = 10 };

		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			fifo = 0;
		sp.sched_priority = 0;
		sched_setscheduler(0, SCHED_OTHER, &sp);
	}
	printf("# fifo %d\n", fifo);
	fflush(stdout);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &mine) && pthread_create(&t[n++], NULL, watch, (void *)(intptr_t)cpu))
			return 1;
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	return 0;
usage:
	fprintf(stderr, "usage: probe -d SECONDS [-l LATE_US]\n");
	return 2;
}
