/* An ordered pool for scans (pool.c): items pushed by one thread are
 * worked on by a few threads and handed back to the pushing thread in
 * push order, so that what a scan prints or logs does not depend on the
 * threads. Without workers (one CPU, threads refused) each item is worked
 * on and handed back at once, in the caller's thread. */
#ifndef FNG_POOL_H
#define FNG_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* More threads than this gain nothing on one tree: the walk and the
 * in-order hand-back run on one thread. */
#define SUP_POOL_MAX_THREADS 16

struct sup_pool;

/* work runs in a worker thread (index 0..workers-1) or in the pushing
 * thread (index workers: it works too rather than wait, and alone when
 * inline) and must touch only the item and that worker's own state; done
 * runs in the pushing thread, in push order, and releases what the item
 * holds. */
typedef void (*sup_pool_work)(void *ctx, unsigned worker, void *item);
typedef void (*sup_pool_done)(void *ctx, void *item);

/* How many workers a scan should use here: the online CPUs, at most max;
 * 0 on a single CPU (no thread is worth it). */
unsigned sup_pool_workers(unsigned max);

/* Starts up to workers threads (fewer when some cannot be created: none
 * at all falls back to inline work), so work needs workers + 1 states.
 * Items are item_size bytes; at most window of them are in flight. NULL
 * when out of memory. */
struct sup_pool *sup_pool_new(unsigned workers, size_t item_size, size_t window, sup_pool_work work,
			      sup_pool_done done, void *ctx);

/* The number of worker threads running (0: inline). */
unsigned sup_pool_threads(const struct sup_pool *p);

/* The slot for the next item, zeroed; may first hand back finished items
 * (calling done) to make room. Fill it, then sup_pool_push(), which hands
 * back what is done by then. */
void *sup_pool_slot(struct sup_pool *p);

/* Queues the slot's item; ready: it needs no work, only done in turn. */
void sup_pool_push(struct sup_pool *p, bool ready);

/* Hands back every item in turn; the workers stay, waiting for more.
 * Accepts NULL. */
void sup_pool_drain(struct sup_pool *p);

/* Hands back every item in turn, stops the threads, frees p. Accepts NULL. */
void sup_pool_finish(struct sup_pool *p);

#endif
