/* SPDX-License-Identifier: Apache-2.0 */
/*
 * credentials.h — the Polis resources of credentials (issue 12, docs/security.md "Principals and
 * credentials"): log-in (api/auth_login.c) and the admin API of users and keys
 * (api/admin_creds.c).
 */
#ifndef PL_API_CREDENTIALS_H
#define PL_API_CREDENTIALS_H

struct pl_req;

/* POST /auth/token (RFC 6749 4.3, 6), POST /auth/session, POST /auth/logout. */
int pl_api_auth_token(struct pl_req *r);
int pl_api_auth_session(struct pl_req *r);
int pl_api_auth_logout(struct pl_req *r);

/* /polis/v1/users and /polis/v1/keys (admin). */
int pl_api_users_list(struct pl_req *r);
int pl_api_user_create(struct pl_req *r);
int pl_api_user_delete(struct pl_req *r);
int pl_api_keys_list(struct pl_req *r);
int pl_api_key_create(struct pl_req *r);
int pl_api_key_revoke(struct pl_req *r);

#endif
