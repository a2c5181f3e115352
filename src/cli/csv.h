/*
 * csv.h - one line of a CSV file into fields (RFC 4180 quoting, one record
 * per line), for `cmsctl mapping import`.
 */
#ifndef CMSCTL_CSV_H
#define CMSCTL_CSV_H

#include <stddef.h>

/*
 * Split line (len bytes, without its newline; a trailing CR is ignored) at
 * commas.  Each field is trimmed of surrounding spaces and tabs; a field may
 * be quoted with '"', where '""' stands for one '"' and commas are kept.
 * Returns the number of fields, with new strings in *fields (free them with
 * csv_free), or -1 with *err set to a static message (an unterminated
 * quote, text after a closing quote).
 */
int csv_split(const char *line, size_t len, char ***fields, const char **err);

void csv_free(char **fields, int n);

#endif
