/* A persistent code verdict cache: the files a rule set found clean,
 * written by `fnguard scan --write-cache` and read by `run` (policy
 * code.cache) so that a start does not scan the same tree again. Each
 * entry names a file twice: by identity (device, inode, size, mtime,
 * ctime, which user space cannot forge together: ctime is always "now")
 * for hits without reading, and by SHA-256 of its contents for files
 * copied elsewhere (a layer unpacked by Lambda, an image layer). Only
 * clean verdicts are kept: a file with findings is scanned again and
 * reported. A cache the workload could have written is not believed
 * (trust.h). */
#ifndef FNG_VCACHE_H
#define FNG_VCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "rules.h"

#define VCACHE_SHA_LEN 32

struct vcache;

/* Loads path if its rule digest is digest and the workload cannot have
 * written it. 0, or -errno with the reason in why: -ENOENT (absent),
 * -EPERM (within the workload's reach), -ESTALE (other rules or another
 * version), -EINVAL (not a cache file). */
int vcache_load(const char *path, const unsigned char digest[RULES_DIGEST_LEN], struct vcache **out,
		char *why, size_t whylen);
void vcache_free(struct vcache *c); /* accepts NULL */
size_t vcache_count(const struct vcache *c);

/* Lookups; safe from several threads at once. */
bool vcache_has_file(const struct vcache *c, const struct stat *st);
bool vcache_has_content(const struct vcache *c, const unsigned char sha[VCACHE_SHA_LEN]);

void vcache_sha(const void *buf, size_t len, unsigned char out[VCACHE_SHA_LEN]);

/* Collects clean verdicts and writes them atomically (a new file renamed
 * over path, mode 0644). */
struct vcache_writer;
struct vcache_writer *vcache_writer_new(void);
void vcache_writer_free(struct vcache_writer *w); /* accepts NULL */
int vcache_writer_add(struct vcache_writer *w, const struct stat *st,
		      const unsigned char sha[VCACHE_SHA_LEN]); /* 0 or -ENOMEM */
size_t vcache_writer_count(const struct vcache_writer *w);
int vcache_writer_save(struct vcache_writer *w, const char *path,
		       const unsigned char digest[RULES_DIGEST_LEN], char *err, size_t errlen);

#endif
