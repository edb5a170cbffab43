/*
 * worker.c -- see worker.h.
 *
 * Two FIFO lists under one mutex: `todo` (submitted, not run) and `finished`
 * (run, waiting for their `done` on the loop thread). The thread pops from
 * todo, runs the job without the lock, appends to finished and writes to an
 * eventfd; the loop's read callback drains finished in order. A job is
 * counted in `pending` from submit until its done has returned.
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

struct worker_job {
	struct worker_job *next;
	void *job;
	worker_run_fn run;
	worker_done_fn done;
};

struct worker {
	char name[32];
	void *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct worker_job *todo_head, *todo_tail;
	struct worker_job *fin_head, *fin_tail;
	bool stopping;
	size_t pending;
	int efd;
	struct event *ev;
};

static void worker_push(struct worker_job **head, struct worker_job **tail,
                        struct worker_job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static struct worker_job *worker_pop(struct worker_job **head,
                                     struct worker_job **tail)
{
	struct worker_job *j = *head;
	if (j) {
		*head = j->next;
		if (!*head)
			*tail = NULL;
	}
	return j;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->todo_head && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stopping)
			break;
		struct worker_job *j = worker_pop(&w->todo_head, &w->todo_tail);
		pthread_mutex_unlock(&w->lock);
		j->run(j->job, w->ctx);
		pthread_mutex_lock(&w->lock);
		worker_push(&w->fin_head, &w->fin_tail, j);
		uint64_t one = 1;
		/* a full eventfd counter still wakes the loop: ignore EAGAIN */
		if (write(w->efd, &one, sizeof one) < 0 && errno != EAGAIN)
			LMS_ERROR("worker %s: could not signal completion: %s",
			          w->name, strerror(errno));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void worker_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t n;
	if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
		LMS_ERROR("worker %s: could not read eventfd: %s", w->name,
		          strerror(errno));
	for (;;) {
		pthread_mutex_lock(&w->lock);
		struct worker_job *j = worker_pop(&w->fin_head, &w->fin_tail);
		pthread_mutex_unlock(&w->lock);
		if (!j)
			break;
		j->done(j->job, false);
		free(j);
		w->pending--;
	}
}

struct worker *worker_new(struct event_base *base, const char *name,
                          void *ctx)
{
	struct worker *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	snprintf(w->name, sizeof w->name, "%s", name);
	w->ctx = ctx;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		goto err_after_alloc;
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, worker_on_event,
	                  w);
	if (!w->ev || event_add(w->ev, NULL) != 0)
		goto err_after_efd;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	int rv = pthread_create(&w->thread, NULL, worker_main, w);
	if (rv != 0) {
		errno = rv;
		goto err_after_sync;
	}
	return w;
err_after_sync:
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
err_after_efd:
	if (w->ev)
		event_free(w->ev);
	close(w->efd);
err_after_alloc:
	free(w);
	return NULL;
}

int worker_submit(struct worker *w, void *job, worker_run_fn run,
                  worker_done_fn done)
{
	struct worker_job *j = malloc(sizeof *j);
	if (!j)
		return -ENOMEM;
	j->job = job;
	j->run = run;
	j->done = done;
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		free(j);
		return -ESHUTDOWN;
	}
	worker_push(&w->todo_head, &w->todo_tail, j);
	w->pending++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

size_t worker_pending(const struct worker *w)
{
	return w->pending;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	/* finished jobs first (they ran), then the ones that never did */
	struct worker_job *j;
	while ((j = worker_pop(&w->fin_head, &w->fin_tail))) {
		j->done(j->job, false);
		free(j);
	}
	while ((j = worker_pop(&w->todo_head, &w->todo_tail))) {
		j->done(j->job, true);
		free(j);
	}
	event_free(w->ev);
	close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
