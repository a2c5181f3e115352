/*
 * clock.h - the process's monotonic clock, in the unit each caller counts:
 * time spans, deadlines and timeouts (never the wall clock, which moves);
 * and the deadline of a timed wait on a condition, whose clock is the
 * condition's (CLOCK_REALTIME unless it was made on CLOCK_MONOTONIC).
 */
#ifndef CMSD_CLOCK_H
#define CMSD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline int64_t mono_us(void)
{
	return mono_ns() / 1000;
}

static inline int64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

/* The time of clock `clk` ms milliseconds from now: the deadline of a
 * pthread_cond_timedwait() on a condition of that clock (CLOCK_REALTIME
 * unless its attributes said otherwise). */
static inline struct timespec clock_after_ms(clockid_t clk, int ms)
{
	struct timespec t;

	clock_gettime(clk, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

#endif
