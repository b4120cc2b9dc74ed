/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deadline.h — per-connection state of the listener and the header/body deadlines that stop
 * slow clients (issue 12). libmicrohttpd's connection timeout is an idle timeout: it restarts
 * on every byte, so a client that trickles one byte every few seconds holds a connection (and
 * a slot of --max-conns-per-addr) forever. Here every connection records when it began waiting
 * for a request's headers (at accept, and again after each response) and for its body (once
 * the headers are complete); a watchdog thread cuts (shutdown(2)) the connections that miss
 * their deadline, and libmicrohttpd then closes them as if the client had gone.
 *
 * A connection also carries one object for its lifetime (the TLS credentials its handshake
 * used, http/tls.c), released when the connection is closed.
 *
 * The state is created in MHD's "connection started" notification and destroyed in "connection
 * closed", which MHD calls before it closes the socket: the watchdog only ever shuts down a
 * socket that is still this connection's (both hold the watch's lock).
 */
#ifndef PL_HTTP_DEADLINE_H
#define PL_HTTP_DEADLINE_H

struct pl_http_watch;
struct pl_http_conn;

/* What a connection is waiting for. */
enum pl_conn_phase {
    PL_CONN_WAIT_HEADERS = 0, /* a request's headers (the header deadline runs) */
    PL_CONN_WAIT_BODY,        /* the body of a request whose headers are in (the body deadline) */
    PL_CONN_BUSY,             /* the server is handling or answering: no deadline */
    PL_CONN_CUT               /* missed its deadline: shut down, MHD closes it */
};

/* Starts watching with these deadlines in seconds (0: that deadline is off; both 0: no
 * watchdog thread, the connection state is still kept). 0 and *out (pl_http__watch_free), or
 * -1 when out of memory or the thread cannot start. */
int pl_http__watch_new(unsigned header_s, unsigned body_s, struct pl_http_watch **out);
/* Stops the watchdog and releases every connection state left. Call after the daemon stopped.
 * NULL ignored. */
void pl_http__watch_free(struct pl_http_watch *w);

/* A new connection on socket `fd`, waiting for headers from now. NULL when out of memory (the
 * connection then has no deadline). Any network thread. */
struct pl_http_conn *pl_http__conn_open(struct pl_http_watch *w, int fd);
/* The connection is closing: releases its attached object and its state. NULL ignored. */
void pl_http__conn_close(struct pl_http_watch *w, struct pl_http_conn *c);
/* The connection now waits for `phase` (from now). NULL ignored; a cut connection stays cut. */
void pl_http__conn_phase(struct pl_http_conn *c, enum pl_conn_phase phase);

/* Attaches `obj` to the open connection on socket `fd`, released with release(obj) when it
 * closes (or when another object is attached). Returns 0, or -1 when no open connection has
 * that socket (the caller keeps obj). */
int pl_http__conn_attach(struct pl_http_watch *w, int fd, void *obj, void (*release)(void *));

/* Connections cut for a missed deadline since the start. */
unsigned long pl_http__watch_cuts(struct pl_http_watch *w);

#endif
