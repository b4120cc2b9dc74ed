/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.c — certificate and key for the HTTPS listener, reloadable (see tls.h).
 */
#include "http/tls.h"

#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "base/log.h"
#include "http/deadline.h"

#define MAX_CHAIN 16 /* certificates in one chain file */

/* One loaded certificate chain and key: immutable, reference counted. */
struct cred {
    atomic_int refs;                   /* the holder's and one per connection using it */
    gnutls_pcert_st pcerts[MAX_CHAIN]; /* the chain, server certificate first */
    unsigned n_pcerts;                 /* how many */
    gnutls_privkey_t key;              /* the private key */
};

struct pl_http_tls {
    pthread_mutex_t lock;        /* guards `current` */
    struct cred *current;        /* served to new handshakes (one reference held here) */
    char cert_file[1024];        /* the files, read again on reload */
    char key_file[1024];
    struct pl_http_watch *watch; /* connection states, where each handshake's credentials go */
    pthread_mutex_t stray_lock;  /* guards strays */
    struct cred *strays[64];     /* credentials of handshakes without a connection state (out of
                                    memory), kept until the end */
    int n_strays;
};

static void cred_free(struct cred *c)
{
    for (unsigned i = 0; i < c->n_pcerts; i++)
        gnutls_pcert_deinit(&c->pcerts[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    free(c);
}

static void cred_unref(void *p)
{
    struct cred *c = p;
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        cred_free(c);
}

/* 1 when the private key belongs to the certificate: same public key. */
static int key_matches(gnutls_privkey_t key, gnutls_pubkey_t cert_pub)
{
    gnutls_pubkey_t pub;
    if (gnutls_pubkey_init(&pub) < 0)
        return 0;
    gnutls_datum_t a = {NULL, 0}, b = {NULL, 0};
    int ok = gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
             gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) >= 0 &&
             gnutls_pubkey_export2(cert_pub, GNUTLS_X509_FMT_DER, &b) >= 0 && a.size == b.size &&
             memcmp(a.data, b.data, a.size) == 0;
    gnutls_free(a.data);
    gnutls_free(b.data);
    gnutls_pubkey_deinit(pub);
    return ok;
}

/* "CN=..., valid until 2027-01-01" of the chain's first certificate. */
static void describe(const struct cred *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "?");
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return;
    if (gnutls_x509_crt_import(crt, &c->pcerts[0].cert, GNUTLS_X509_FMT_DER) >= 0) {
        gnutls_datum_t dn = {NULL, 0};
        time_t until = gnutls_x509_crt_get_expiration_time(crt);
        struct tm tm;
        char day[32] = "?";
        if (until != (time_t)-1 && gmtime_r(&until, &tm))
            strftime(day, sizeof day, "%Y-%m-%d %H:%M:%SZ", &tm);
        if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0)
            snprintf(buf, cap, "%.*s, valid until %s%s", (int)(dn.size > 200 ? 200 : dn.size),
                     (const char *)dn.data, day, until < time(NULL) ? " (EXPIRED)" : "");
        gnutls_free(dn.data);
    }
    gnutls_x509_crt_deinit(crt);
}

/* Loads both files into a new cred (one reference). */
static int load(const char *cert_file, const char *key_file, struct cred **out,
                struct pl_err *err)
{
    struct cred *c = calloc(1, sizeof *c);
    if (!c)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    atomic_init(&c->refs, 1);
    gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
    int rc = gnutls_load_file(cert_file, &cd);
    if (rc < 0) {
        pl_err_set(err, PL_EBADREQUESTDATA, "cannot read the certificate %s: %s", cert_file,
                   gnutls_strerror(rc));
        goto fail;
    }
    c->n_pcerts = MAX_CHAIN;
    rc = gnutls_pcert_list_import_x509_raw(c->pcerts, &c->n_pcerts, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || c->n_pcerts == 0) {
        c->n_pcerts = 0;
        pl_err_set(err, PL_EBADREQUESTDATA, "%s is not a PEM certificate (chain of at most %d): %s",
                   cert_file, MAX_CHAIN, rc < 0 ? gnutls_strerror(rc) : "empty");
        goto fail;
    }
    rc = gnutls_load_file(key_file, &kd);
    if (rc < 0) {
        pl_err_set(err, PL_EBADREQUESTDATA, "cannot read the key %s: %s", key_file,
                   gnutls_strerror(rc));
        goto fail;
    }
    if ((rc = gnutls_privkey_init(&c->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        pl_err_set(err, PL_EBADREQUESTDATA, "%s is not a PEM private key: %s", key_file,
                   gnutls_strerror(rc));
        goto fail;
    }
    if (!key_matches(c->key, c->pcerts[0].pubkey)) {
        pl_err_set(err, PL_EBADREQUESTDATA, "the key %s is not the key of the certificate %s",
                   key_file, cert_file);
        goto fail;
    }
    gnutls_memset(kd.data, 0, kd.size); /* the key's text does not linger in freed memory */
    gnutls_free(kd.data);
    gnutls_free(cd.data);
    *out = c;
    return 0;
fail:
    if (kd.data)
        gnutls_memset(kd.data, 0, kd.size);
    gnutls_free(kd.data);
    gnutls_free(cd.data);
    cred_free(c);
    return err->code;
}

int pl_http__tls_new(const char *cert_file, const char *key_file, struct pl_http_watch *watch,
                     struct pl_http_tls **out, struct pl_err *err)
{
    if (strlen(cert_file) >= 1024 || strlen(key_file) >= 1024)
        return pl_err_set(err, PL_EBADREQUESTDATA, "TLS file name too long");
    struct pl_http_tls *t = calloc(1, sizeof *t);
    if (!t)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    memcpy(t->cert_file, cert_file, strlen(cert_file) + 1);
    memcpy(t->key_file, key_file, strlen(key_file) + 1);
    t->watch = watch;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->stray_lock, NULL);
    int rc = load(cert_file, key_file, &t->current, err);
    if (rc != 0) {
        pl_http__tls_free(t);
        return rc;
    }
    char what[300];
    describe(t->current, what, sizeof what);
    pl_log_info("tls: serving %s (%s)", cert_file, what);
    *out = t;
    return 0;
}

void pl_http__tls_free(struct pl_http_tls *t)
{
    if (!t)
        return;
    pl_http__tls_unregister(t);
    cred_unref(t->current);
    for (int i = 0; i < t->n_strays; i++)
        cred_unref(t->strays[i]);
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->stray_lock);
    free(t);
}

int pl_http__tls_reload(struct pl_http_tls *t, struct pl_err *err)
{
    struct cred *c;
    int rc = load(t->cert_file, t->key_file, &c, err);
    if (rc != 0) {
        pl_log_error("tls: reload failed, still serving the previous certificate: %s",
                     err->detail);
        return rc;
    }
    pthread_mutex_lock(&t->lock);
    struct cred *old = t->current;
    t->current = c;
    pthread_mutex_unlock(&t->lock);
    cred_unref(old); /* freed when the last connection using it closes */
    char what[300];
    describe(c, what, sizeof what);
    pl_log_info("tls: reloaded %s (%s)", t->cert_file, what);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The GnuTLS callback. It gets only the session, so it finds its server through a small table
 * by the local port of the session's socket (MHD gives GnuTLS the socket itself).
 * ------------------------------------------------------------------------------------------ */
#define MAX_LISTENERS 8

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int port;
    struct pl_http_tls *tls;
} reg[MAX_LISTENERS];

int pl_http__tls_register(struct pl_http_tls *t, int port)
{
    int rc = -1;
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < MAX_LISTENERS && rc != 0; i++) {
        if (!reg[i].tls) {
            reg[i].port = port;
            reg[i].tls = t;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

void pl_http__tls_unregister(struct pl_http_tls *t)
{
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < MAX_LISTENERS; i++) {
        if (reg[i].tls == t)
            reg[i].tls = NULL;
    }
    pthread_mutex_unlock(&reg_lock);
}

static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
    return -1;
}

int pl_http__tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                          const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                          gnutls_pcert_st **pcert, unsigned int *pcert_length,
                          gnutls_privkey_t *pkey)
{
    (void)req_ca_rdn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    int fd = gnutls_transport_get_int(session);
    int port = local_port(fd);
    struct pl_http_tls *t = NULL;
    pthread_mutex_lock(&reg_lock);
    for (int i = 0; i < MAX_LISTENERS && !t; i++) {
        if (reg[i].tls && reg[i].port == port)
            t = reg[i].tls;
    }
    /* Take the reference under the table's lock: tls_free unregisters first. */
    struct cred *c = NULL;
    if (t) {
        pthread_mutex_lock(&t->lock);
        c = t->current;
        atomic_fetch_add(&c->refs, 1);
        pthread_mutex_unlock(&t->lock);
    }
    pthread_mutex_unlock(&reg_lock);
    if (!c)
        return -1; /* no server for this socket: the handshake fails */
    if (pl_http__conn_attach(t->watch, fd, c, cred_unref) != 0) {
        /* No connection state (it could not be allocated): keep the reference until the end
         * rather than free what the session uses; beyond the table, fail the handshake. */
        pl_log_warn("tls: a handshake on a connection without state (out of memory?)");
        pthread_mutex_lock(&t->stray_lock);
        int kept = t->n_strays < (int)(sizeof t->strays / sizeof t->strays[0]);
        if (kept)
            t->strays[t->n_strays++] = c;
        pthread_mutex_unlock(&t->stray_lock);
        if (!kept) {
            cred_unref(c);
            return -1;
        }
    }
    *pcert = c->pcerts;
    *pcert_length = c->n_pcerts;
    *pkey = c->key;
    return 0;
}
