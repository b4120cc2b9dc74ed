/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deadline.c — connection states and the watchdog of the header/body deadlines (deadline.h).
 */
#include "http/deadline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "base/log.h"

/* How often the watchdog looks: deadlines are whole seconds, a quarter second is precise
 * enough and costs nothing (one walk of the open connections). */
#define TICK_MS 250

struct pl_http_conn {
    struct pl_http_conn *prev, *next; /* the watch's list of open connections */
    int fd;                           /* the socket (owned by MHD) */
    atomic_ullong state;              /* (monotonic ms since the phase began) << 2 | phase */
    void *obj;                        /* attached object or NULL */
    void (*release)(void *);          /* its release */
};

struct pl_http_watch {
    pthread_mutex_t lock;      /* guards the list, obj/release and `stop` */
    pthread_cond_t wake;       /* signals `stop` */
    struct pl_http_conn *head; /* open connections */
    uint64_t header_ms;        /* header deadline (0: off) */
    uint64_t body_ms;          /* body deadline (0: off) */
    int stop;                  /* the watchdog must end */
    int has_thread;            /* the watchdog runs */
    pthread_t thread;          /* the watchdog */
    atomic_ulong cuts;         /* connections cut */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void peer_of(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    buf[0] = '\0';
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&ss)->sin_addr, buf, (socklen_t)cap);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr, buf,
                  (socklen_t)cap);
}

/* One walk: cuts the connections past their deadline. Under the lock. */
static void sweep(struct pl_http_watch *w)
{
    uint64_t now = now_ms();
    for (struct pl_http_conn *c = w->head; c; c = c->next) {
        unsigned long long st = atomic_load(&c->state);
        enum pl_conn_phase ph = (enum pl_conn_phase)(st & 3u);
        uint64_t since = st >> 2;
        uint64_t limit = ph == PL_CONN_WAIT_HEADERS ? w->header_ms
                         : ph == PL_CONN_WAIT_BODY  ? w->body_ms
                                                    : 0;
        if (!limit || now < since || now - since < limit)
            continue;
        /* Only this thread sets CUT here; a network thread may have moved the phase on
         * meanwhile, and then the connection is not cut. */
        if (!atomic_compare_exchange_strong(&c->state, &st, (now << 2) | PL_CONN_CUT))
            continue;
        char who[64];
        peer_of(c->fd, who, sizeof who);
        /* SHUT_RDWR wakes MHD's epoll: its next read sees the end and it closes the
         * connection (and tells us, in pl_http__conn_close). */
        shutdown(c->fd, SHUT_RDWR);
        atomic_fetch_add(&w->cuts, 1);
        pl_log_info("http: closed a connection from %s: the %s did not arrive within %u s",
                    who[0] ? who : "?", ph == PL_CONN_WAIT_HEADERS ? "request headers" : "body",
                    (unsigned)(limit / 1000));
    }
}

static void *watchdog(void *arg)
{
    struct pl_http_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&w->wake, &w->lock, &ts);
        if (rc == ETIMEDOUT && !w->stop)
            sweep(w);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int pl_http__watch_new(unsigned header_s, unsigned body_s, struct pl_http_watch **out)
{
    struct pl_http_watch *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    w->header_ms = (uint64_t)header_s * 1000u;
    w->body_ms = (uint64_t)body_s * 1000u;
    atomic_init(&w->cuts, 0);
    if (header_s || body_s) {
        if (pthread_create(&w->thread, NULL, watchdog, w) != 0) {
            pl_http__watch_free(w);
            return -1;
        }
        w->has_thread = 1;
    }
    *out = w;
    return 0;
}

void pl_http__watch_free(struct pl_http_watch *w)
{
    if (!w)
        return;
    if (w->has_thread) {
        pthread_mutex_lock(&w->lock);
        w->stop = 1;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
    }
    while (w->head)
        pl_http__conn_close(w, w->head);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

struct pl_http_conn *pl_http__conn_open(struct pl_http_watch *w, int fd)
{
    struct pl_http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    atomic_init(&c->state, (unsigned long long)(now_ms() << 2) | PL_CONN_WAIT_HEADERS);
    pthread_mutex_lock(&w->lock);
    c->next = w->head;
    if (w->head)
        w->head->prev = c;
    w->head = c;
    pthread_mutex_unlock(&w->lock);
    return c;
}

void pl_http__conn_close(struct pl_http_watch *w, struct pl_http_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&w->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    void *obj = c->obj;
    void (*release)(void *) = c->release;
    pthread_mutex_unlock(&w->lock);
    if (obj && release)
        release(obj);
    free(c);
}

void pl_http__conn_phase(struct pl_http_conn *c, enum pl_conn_phase phase)
{
    if (!c)
        return;
    unsigned long long st = atomic_load(&c->state);
    unsigned long long next = (unsigned long long)(now_ms() << 2) | phase;
    while ((st & 3u) != PL_CONN_CUT && !atomic_compare_exchange_weak(&c->state, &st, next))
        ;
}

int pl_http__conn_attach(struct pl_http_watch *w, int fd, void *obj, void (*release)(void *))
{
    void *old = NULL;
    void (*old_release)(void *) = NULL;
    int rc = -1;
    pthread_mutex_lock(&w->lock);
    for (struct pl_http_conn *c = w->head; c; c = c->next) {
        if (c->fd == fd) {
            old = c->obj;
            old_release = c->release;
            c->obj = obj;
            c->release = release;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (old && old_release)
        old_release(old);
    return rc;
}

unsigned long pl_http__watch_cuts(struct pl_http_watch *w)
{
    return atomic_load(&w->cuts);
}
