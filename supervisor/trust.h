/* Whether a file is out of the workload's reach: written before it
 * started and not rewritable by it since. Decides which bytecode caches
 * and verdict caches fnguard may believe. The workload runs with
 * fnguard's own ids and capabilities (NO_NEW_PRIVS: it can only lose
 * some), and mount(2) is refused by the filter. */
#ifndef FNG_TRUST_H
#define FNG_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* True when the file at real (resolved), on device dev, cannot be
 * written through any mount in our mount namespace: the mount it is
 * reached through is read-only and no writable mount of the same
 * filesystem shows it (a Lambda /var/task, docker --read-only or a :ro
 * volume; not a read-only bind mount of a directory whose filesystem is
 * also mounted writable above it). Mount table read once. */
bool trust_read_only(dev_t dev, const char *real);

/* True when st (of a file or directory) cannot be written by a task with
 * user id uid: uid is not root, st is not owned by uid, and it is not
 * group or other writable (a sticky directory may be: its entries stay
 * their owners'). */
bool trust_not_writable_by(const struct stat *st, long uid);

/* Whether the file open as fd, whose resolved path is real, can have
 * been written or replaced by the workload: not when its device is
 * read-only, or when neither it nor any directory above it is writable
 * by fnguard's own ids (and fnguard holds no capabilities). Returns true
 * or false with the reason in why. */
bool trust_out_of_reach(int fd, const char *real, char *why, size_t whylen);

/* Whether neither the file at real (absolute, resolved; st its stat) nor
 * the name real can be changed by a task with euid uid holding no
 * capabilities (uid -1: unknown, counted as root): the file and every
 * directory above it are on read-only mounts or not writable by uid, so
 * the same name reaches the same unchanged file when the task's own open
 * resolves it again. Directory answers are kept for the run: only
 * someone out of the workload's reach can change them. */
bool trust_name_fixed(const char *real, const struct stat *st, long uid);

#endif
