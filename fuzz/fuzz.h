/*
 * fuzz.h - what every libFuzzer harness of fuzz/ shares: the entry point's
 * prototype, a check that stops the run with a message when a property does
 * not hold, and a NUL-terminated copy of the input.
 *
 * A failed CHECK calls abort(), which libFuzzer reports as a crash and saves
 * the input (scripts/fuzz says where).  Harnesses are built with ASan and
 * UBSan (make fuzz), so memory errors, leaks and undefined behaviour stop the
 * run the same way.
 */
#ifndef CMSD_FUZZ_H
#define CMSD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                           \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,  \
				__LINE__, #cond);                                  \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* A line that says why a property is about to fail; scripts/fuzz shows
 * these lines with the failure. */
#define FUZZ_NOTE(...)                                                             \
	do {                                                                       \
		fprintf(stderr, "note: ");                                         \
		fprintf(stderr, __VA_ARGS__);                                      \
		fputc('\n', stderr);                                               \
	} while (0)

/* data as a C string in a buffer of exactly size + 1 bytes, so that ASan
 * sees any read past its end; stops at the first NUL like C callers do.
 * Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
