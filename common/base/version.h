/*
 * version — the one version string every binary prints for --version
 * (base/config.h handles the flag) and logs at start.
 *
 * The Makefile sets it from `git describe --tags --always --dirty` when
 * compiling version.c only (so a new commit rebuilds one file), or from
 * `make VERSION=...`; without git it is "unknown".
 */
#ifndef COMMON_VERSION_H
#define COMMON_VERSION_H

/** The build's version, e.g. "v1.2.0-14-g3c9e2a1-dirty".
 *  Returns: a static string, never NULL. Thread-safe. */
const char *version_string(void);

#endif
