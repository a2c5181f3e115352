/*
 * opts.c - the option parser of cmsctl: tables in, values out, one message
 * per mistake.
 */
#include "opts.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"


static struct opt *find(const struct opts *o, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strlen(o->v[i].spec.name) == len && !strncmp(o->v[i].spec.name, name, len))
			return &o->v[i];
	return NULL;
}

void opts_allow_one(struct opts *o, const char *name, enum opt_kind kind, const char *arg,
		    const char *help)
{
	struct opt *p;

	if (find(o, name, strlen(name)))
		return;
	o->v = xrealloc(o->v, (o->n + 1) * sizeof(*o->v));
	p = &o->v[o->n++];
	memset(p, 0, sizeof(*p));
	p->spec.name = name;
	p->spec.kind = kind;
	p->spec.arg = arg;
	p->spec.help = help;
}

void opts_allow(struct opts *o, const struct optspec *table)
{
	for (; table && table->name; table++)
		opts_allow_one(o, table->name, table->kind, table->arg, table->help);
}

static void push(const char ***arr, size_t *n, const char *s)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
	(*arr)[(*n)++] = s;
}

int opts_parse(struct opts *o, int argc, char **argv, bool keep_unknown, char *err,
	       size_t errlen)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *value = NULL;
		struct opt *p;
		size_t len;

		if (!strcmp(a, "--")) {
			/* kept with what follows, so that the command sees it too */
			if (keep_unknown)
				for (; i < argc; i++)
					push(&o->rest, &o->nrest, argv[i]);
			else
				for (i++; i < argc; i++)
					push(&o->pos, &o->npos, argv[i]);
			break;
		}
		if (!strcmp(a, "-h"))
			a = "--help";
		if (a[0] != '-' || !a[1] || (a[1] != '-' && isdigit((unsigned char)a[1]))) {
			push(keep_unknown ? &o->rest : &o->pos, keep_unknown ? &o->nrest : &o->npos, a);
			continue;
		}
		if (a[1] != '-') {
			/* perhaps the value of a command's option ("--name -x") */
			if (keep_unknown) {
				push(&o->rest, &o->nrest, a);
				continue;
			}
			return strbuf_errf(err, errlen, "unknown option '%s'", a);
		}
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		p = find(o, name, len);
		if (!p) {
			if (keep_unknown) {
				push(&o->rest, &o->nrest, argv[i]);
				continue;
			}
			return strbuf_errf(err, errlen, "unknown option '--%.*s'", (int)len, name);
		}
		if (p->spec.kind == OPT_FLAG) {
			if (eq)
				return strbuf_errf(err, errlen, "--%s takes no value", p->spec.name);
			value = "";
		} else if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			return strbuf_errf(err, errlen, "--%s needs a value (%s)", p->spec.name,
				    p->spec.arg ? p->spec.arg : "VALUE");
		}
		if (p->spec.kind == OPT_VALUE && p->n)
			return strbuf_errf(err, errlen, "--%s given twice", p->spec.name);
		push(&p->values, &p->n, value);
	}
	return 0;
}

const char *opts_get(const struct opts *o, const char *name)
{
	const struct opt *p = find(o, name, strlen(name));

	return p && p->n ? p->values[p->n - 1] : NULL;
}

bool opts_has(const struct opts *o, const char *name)
{
	const struct opt *p = find(o, name, strlen(name));

	return p && p->n;
}

size_t opts_items(const struct opts *o, const char *name, char ***out)
{
	const struct opt *p = find(o, name, strlen(name));
	size_t i, n = 0;

	*out = NULL;
	for (i = 0; p && i < p->n; i++) {
		const char *s = p->values[i];

		while (*s) {
			const char *end = s + strcspn(s, ","), *b = s, *e = end;

			while (b < e && isspace((unsigned char)*b))
				b++;
			while (e > b && isspace((unsigned char)e[-1]))
				e--;
			if (e > b) {
				*out = xrealloc(*out, (n + 1) * sizeof(**out));
				(*out)[n++] = xstrndup(b, (size_t)(e - b));
			}
			s = *end ? end + 1 : end;
		}
	}
	return n;
}

void opts_help(FILE *f, const struct opts *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		const struct optspec *s = &o->v[i].spec;
		struct strbuf left = STRBUF_INIT;

		if (!s->help)
			continue;
		strbuf_addf(&left, "--%s", s->name);
		if (s->kind != OPT_FLAG)
			strbuf_addf(&left, " %s", s->arg ? s->arg : "VALUE");
		fprintf(f, "  %-24s %s\n", left.buf, s->help);
		strbuf_release(&left);
	}
}

void opts_release(struct opts *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->v[i].values);
	free(o->v);
	free(o->pos);
	free(o->rest);
	memset(o, 0, sizeof(*o));
}
