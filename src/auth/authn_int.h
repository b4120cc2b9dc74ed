/* SPDX-License-Identifier: Apache-2.0 */
/* authn_int.h — what the files of the authentication service share (authn.c, login.c). */
#ifndef PL_AUTH_AUTHN_INT_H
#define PL_AUTH_AUTHN_INT_H

#include <pthread.h>

#include "auth/authn.h"
#include "auth/token.h"

#define PL_AUTH_WORKERS   2  /* log-in threads (each Argon2id hash takes 64 MiB while it runs) */
#define PL_AUTH_QUEUE_MAX 64 /* log-ins waiting beyond which 429 */

struct pl_auth {
    struct pl_store *store;      /* borrowed */
    struct pl_auth_cache *cache; /* owned */
    int tls;
    int access_ttl_s, refresh_ttl_s, session_ttl_s;
    unsigned char key[PL_TOKEN_KEY_BYTES]; /* the token secret (store kind "secret") */

    /* the log-in workers (login.c) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pl_auth_job *head, *tail;
    int queued, stopping, n_workers;
    pthread_t workers[PL_AUTH_WORKERS];
};

int pl_auth__workers_start(struct pl_auth *a);
void pl_auth__workers_stop(struct pl_auth *a);
/* Session cookie of the hook (login.c): 0 and *p (NEW) / 1 answered (401/403) / -1 none. */
int pl_auth__session(struct pl_auth *a, struct pl_req *r, struct pl_principal **p);

#endif
