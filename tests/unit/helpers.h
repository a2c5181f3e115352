/*
 * helpers.h - what several unit suites need around the code under test:
 * capturing what it writes to stderr, and temporary directories.
 */
#ifndef UNIT_HELPERS_H
#define UNIT_HELPERS_H

#include <stdint.h>
#include <time.h>

/* A redirection of fd 1 or 2 into a temporary file, between capture_begin()
 * and capture_end(). */
struct capture {
	int target; /* the descriptor redirected: 1 or 2 */
	int saved;  /* its real file, -1 when not capturing */
	int fd;     /* the temporary file */
};

/* Sends descriptor `target` (stdout's buffer flushed first) to a fresh
 * temporary file; 0, or -1 (nothing changed). */
int capture_begin(struct capture *c, int target);
/* Puts the descriptor back and returns what was written meanwhile,
 * NUL-terminated (caller frees; "" when nothing, NULL only when
 * capture_begin failed). */
char *capture_end(struct capture *c);
/* The number of lines of text (a last line without '\n' counts). */
int count_lines(const char *text);

/* The time of clock `id` (CLOCK_REALTIME, CLOCK_MONOTONIC) in milliseconds. */
int64_t clock_ms(clockid_t id);

/* A new empty directory under $TMPDIR (or /tmp); caller passes it to
 * tmpdir_remove().  NULL on failure. */
char *tmpdir_make(const char *tag);
/* Removes dir and everything below it, and frees the string (NULL is fine). */
void tmpdir_remove(char *dir);
/* dir + "/" + name in a new string (caller frees). */
char *path_join(const char *dir, const char *name);

#endif
