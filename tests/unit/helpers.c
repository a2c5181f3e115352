/*
 * helpers.c - stderr capture and temporary directories for the unit suites
 * (see helpers.h).
 */
#include "helpers.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"
#include "xalloc.h"

int capture_begin(struct capture *c, int target)
{
	FILE *f = tmpfile();

	c->target = target;
	c->saved = -1;
	c->fd = -1;
	if (!f)
		return -1;
	c->fd = dup(fileno(f));
	fclose(f);
	if (c->fd < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	c->saved = dup(target);
	if (c->saved < 0 || dup2(c->fd, target) < 0) {
		if (c->saved >= 0)
			close(c->saved);
		close(c->fd);
		c->saved = c->fd = -1;
		return -1;
	}
	return 0;
}

char *capture_end(struct capture *c)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[4096];
	ssize_t n;

	if (c->saved < 0)
		return NULL;
	fflush(stdout);
	fflush(stderr);
	dup2(c->saved, c->target);
	close(c->saved);
	c->saved = -1;
	if (lseek(c->fd, 0, SEEK_SET) == 0)
		while ((n = read(c->fd, chunk, sizeof(chunk))) > 0)
			strbuf_add(&sb, chunk, (size_t)n);
	close(c->fd);
	c->fd = -1;
	return strbuf_detach(&sb);
}

int count_lines(const char *text)
{
	int n = 0;

	for (; text && *text; text++)
		if (*text == '\n' || !text[1])
			n++;
	return n;
}

int64_t clock_ms(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

char *tmpdir_make(const char *tag)
{
	const char *base = getenv("TMPDIR");
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s/cmsd-unit-%s.XXXXXX", base && *base ? base : "/tmp", tag);
	if (!mkdtemp(sb.buf)) {
		perror("mkdtemp");
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tmpdir_remove(char *dir)
{
	if (dir && nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS))
		perror(dir);
	free(dir);
}

char *path_join(const char *dir, const char *name)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s/%s", dir, name);
	return strbuf_detach(&sb);
}
