/*
 * clock.h - the process's monotonic clock, in the unit each caller counts:
 * time spans, deadlines and timeouts (never the wall clock, which moves).
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

#endif
