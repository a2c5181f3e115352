/*
 * store_sqlite_vfs.h - SQLite's unix VFS with a WAL commit's frames written
 * in one system call instead of two a frame (see store_sqlite_vfs.c).
 */
#ifndef STORE_SQLITE_VFS_H
#define STORE_SQLITE_VFS_H

#include <stdbool.h>

/* Registers the VFS as SQLite's default, once per process; false when it
 * could not be (SQLite's own then serves, as it would without it). */
bool store_sqlite_vfs_install(void);

#endif
