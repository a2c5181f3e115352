/*
 * backup.h - the `cmsd backup` command (backup.c).
 */
#ifndef CMSD_BACKUP_H
#define CMSD_BACKUP_H

/* Run `cmsd backup` with argv[0] == "backup"; returns the exit code (0 done,
 * 1 failed, 2 usage). */
int backup_main(int argc, char **argv);

#endif
