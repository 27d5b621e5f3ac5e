/* The ordered pool: a ring of window slots. The pushing thread fills the
 * slot at tail, workers claim slots in order at next, and the pushing
 * thread hands slots back in order at head once they are done; a full
 * ring makes the pusher wait for head, which bounds memory on any tree.
 * One mutex guards the indices: an item is a whole file, so the lock is
 * taken a few times per file, not per byte. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

struct sup_pool {
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* workers: an item was pushed, or closing */
	pthread_cond_t done_cv; /* pusher: an item was done */
	unsigned char *slots;
	bool *ready; /* per slot: done, or needs no work */
	size_t item_size, window;
	size_t head, next, tail; /* running counts; slot = count % window */
	bool closing;
	sup_pool_work work;
	sup_pool_done done;
	void *ctx;
	pthread_t tid[SUP_POOL_MAX_THREADS];
	unsigned n_threads;
};

struct worker_arg {
	struct sup_pool *p;
	unsigned index;
};

static void *slot_at(struct sup_pool *p, size_t count)
{
	return p->slots + (count % p->window) * p->item_size;
}

/* Under p->mu: claims the next item that needs work, works on it in the
 * calling thread (worker w) and marks it done; false when there is none. */
static bool work_one(struct sup_pool *p, unsigned w)
{
	while (p->next != p->tail) {
		size_t mine = p->next++;

		if (p->ready[mine % p->window])
			continue;
		pthread_mutex_unlock(&p->mu);
		p->work(p->ctx, w, slot_at(p, mine));
		pthread_mutex_lock(&p->mu);
		p->ready[mine % p->window] = true;
		if (mine == p->head)
			pthread_cond_signal(&p->done_cv);
		return true;
	}
	return false;
}

static void *worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct sup_pool *p = wa->p;
	unsigned index = wa->index;

	free(wa);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (work_one(p, index))
			continue;
		if (p->closing)
			break;
		pthread_cond_wait(&p->work_cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

unsigned sup_pool_workers(unsigned max)
{
	cpu_set_t set;
	/* The CPUs this process may run on (a container's cpuset), not the
	 * machine's. */
	long n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
							      : sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return 0;
	return (unsigned long)n < max ? (unsigned)n : max;
}

/* Workers must not take the caller's signals (the supervisor reads them
 * from a signalfd in its own thread): they start with every signal
 * blocked. */
static void start_threads(struct sup_pool *p, unsigned workers)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < workers && i < SUP_POOL_MAX_THREADS; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));

		if (!wa)
			break;
		wa->p = p;
		wa->index = p->n_threads;
		if (pthread_create(&p->tid[p->n_threads], NULL, worker_main, wa) != 0) {
			free(wa);
			break;
		}
		p->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

struct sup_pool *sup_pool_new(unsigned workers, size_t item_size, size_t window, sup_pool_work work,
			      sup_pool_done done, void *ctx)
{
	struct sup_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->item_size = item_size;
	p->window = window ? window : 1;
	p->slots = calloc(p->window, item_size);
	p->ready = calloc(p->window, sizeof(*p->ready));
	if (!p->slots || !p->ready) {
		free(p->slots);
		free(p->ready);
		free(p);
		return NULL;
	}
	p->work = work;
	p->done = done;
	p->ctx = ctx;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	start_threads(p, workers);
	return p;
}

unsigned sup_pool_threads(const struct sup_pool *p)
{
	return p ? p->n_threads : 0;
}

/* Hands back the item at head once it is done; while it is not, the
 * pushing thread works on queued items itself rather than sleep (a
 * sleep and a wake-up per file cost more than the scan of a small one). */
static void hand_back(struct sup_pool *p)
{
	void *item = slot_at(p, p->head);

	pthread_mutex_lock(&p->mu);
	while (!p->ready[p->head % p->window])
		if (!work_one(p, p->n_threads))
			pthread_cond_wait(&p->done_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	p->done(p->ctx, item);
	pthread_mutex_lock(&p->mu);
	p->ready[p->head % p->window] = false;
	p->head++;
	/* An item that needed no work can go back before a worker passed
	 * it: no worker may claim its slot, now the next item's, by it. */
	if (p->next < p->head)
		p->next = p->head;
	pthread_mutex_unlock(&p->mu);
}

/* Whether the item at head is done, without waiting. */
static bool head_ready(struct sup_pool *p)
{
	bool ready;

	pthread_mutex_lock(&p->mu);
	ready = p->head != p->tail && p->ready[p->head % p->window];
	pthread_mutex_unlock(&p->mu);
	return ready;
}

void *sup_pool_slot(struct sup_pool *p)
{
	void *item;

	if (p->tail - p->head == p->window)
		hand_back(p);
	item = slot_at(p, p->tail);
	memset(item, 0, p->item_size);
	return item;
}

void sup_pool_push(struct sup_pool *p, bool ready)
{
	pthread_mutex_lock(&p->mu);
	p->ready[p->tail % p->window] = ready;
	p->tail++;
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	if (!p->n_threads)
		hand_back(p); /* inline: worked on and handed back at once */
	/* What is done goes out while the walk goes on. */
	while (head_ready(p))
		hand_back(p);
}

void sup_pool_drain(struct sup_pool *p)
{
	while (p && p->head != p->tail)
		hand_back(p);
}

void sup_pool_finish(struct sup_pool *p)
{
	if (!p)
		return;
	sup_pool_drain(p);
	pthread_mutex_lock(&p->mu);
	p->closing = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->tid[i], NULL);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->mu);
	free(p->slots);
	free(p->ready);
	free(p);
}
