/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.h — HTTPS on the listener (issue 12): the certificate and key files, loaded with GnuTLS
 * and handed to libmicrohttpd through its certificate callback, so that a reload (SIGHUP)
 * swaps them without closing the listener or any connection.
 *
 * Each handshake takes a reference to the credentials current at that moment and keeps it for
 * its connection's lifetime (attached to the connection's state, http/deadline.h): a reload
 * never frees what a live session still points at, and the old credentials go with the last
 * connection that used them. A reload that fails (unreadable file, bad PEM, a key that is not
 * the certificate's) keeps the current credentials and says why.
 */
#ifndef PL_HTTP_TLS_H
#define PL_HTTP_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "base/err.h"

struct pl_http_tls;
struct pl_http_watch;

/* Loads `cert_file` (PEM, the server certificate first, then its chain) and `key_file` (PEM
 * private key) for connections tracked by `watch` (borrowed, must outlive the object). 0 and
 * *out (pl_http__tls_free), or PL_EBADREQUESTDATA / PL_ENOMEM with err filled. */
int pl_http__tls_new(const char *cert_file, const char *key_file, struct pl_http_watch *watch,
                     struct pl_http_tls **out, struct pl_err *err);
/* Releases the holder's reference to the current credentials (connections keep theirs).
 * Call after the daemon stopped. NULL ignored. */
void pl_http__tls_free(struct pl_http_tls *t);

/* Serves `t` for the listener bound to `port` (the GnuTLS callback has no closure: it finds its
 * server by the local port of the connection's socket). -1 when the table is full. */
int pl_http__tls_register(struct pl_http_tls *t, int port);
void pl_http__tls_unregister(struct pl_http_tls *t);

/* Loads the files again and, when they are good, serves them to every later handshake (and
 * logs the new certificate's subject and expiry). 0, or an error with err filled (the current
 * credentials stay). Any thread. */
int pl_http__tls_reload(struct pl_http_tls *t, struct pl_err *err);

/* The gnutls_certificate_retrieve_function2 given to MHD_OPTION_HTTPS_CERT_CALLBACK: the
 * current credentials of the session's listener, one reference attached to its connection. */
int pl_http__tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                          const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                          gnutls_pcert_st **pcert, unsigned int *pcert_length,
                          gnutls_privkey_t *pkey);

#endif
