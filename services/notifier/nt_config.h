/*
 * nt_config — NOTIFY_CONFIG, the notifier's routing file: which channels
 * exist and which events each one gets, when and how often. The format is
 * in docs/notifier.md; the minimal form
 *
 *   {"channels": [{"name": "ops", "type": "webhook",
 *                  "url": "http://127.0.0.1:9000/hook", "secret": "s3cret",
 *                  "min_severity": "warning"}]}
 *
 * works as written. Validation is strict: an unknown member, a wrong type,
 * a missing setting or a duplicate channel name is an error naming its
 * place ("channels[1].url: required for type ntfy"), so a typo never
 * silently routes nothing.
 */
#ifndef NT_CONFIG_H
#define NT_CONFIG_H

#include <stddef.h>

#include "nt.h"

/** Parse and validate a routing document.
 *  In:  json/len: the file's bytes (need not be NUL-terminated).
 *  Out: *out: the channels (nt_config_free); err: the first problem.
 *  Returns: 0, or -1 (nothing to free then). Thread-safe. */
int nt_config_parse(const char *json, size_t len, nt_config *out, char *err, size_t errlen);

/** Read `path` and nt_config_parse it; err names the file on failure.
 *  Returns: 0 or -1. May block on disk I/O. */
int nt_config_load(const char *path, nt_config *out, char *err, size_t errlen);

/** Free what a config owns; it is then empty. NULL is ok. */
void nt_config_free(nt_config *c);

/** The channel named `name`, or NULL. */
const nt_channel *nt_config_find(const nt_config *c, const char *name);

/** "webhook", "ntfy", "telegram", "email", "mqtt". */
const char *nt_channel_type_name(nt_channel_type t);

#endif
