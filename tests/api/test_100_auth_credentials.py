# SPDX-License-Identifier: Apache-2.0
"""Issue 12, credentials (docs/security.md "Principals and credentials"): the authenticate hook,
API keys (CLI and admin API), users and POST /auth/token, the session cookie with CSRF, and the
credential cache."""
import glob
import json
import os
import re
import subprocess
import time

import pytest
import requests

from conftest import (BIN, TIMEOUT_MULT, PolisServer, bearer, key_id, login, make_key,
                      make_user, revoke_key, wait_until)

KEY_RE = re.compile(r"^plk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")
UNAUTHORIZED = "urn:polis:error:Unauthorized"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    p = PolisServer(tmp_path_factory.mktemp("authn"), extra_args=["--auth", "on"]).start()
    yield p
    p.check_exit()


def assert_401(resp, error="invalid_token"):
    assert resp.status_code == 401, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["type"] == UNAUTHORIZED, body
    assert body["status"] == 401 and body["title"] and body["detail"]
    www = resp.headers.get("WWW-Authenticate", "")
    assert www.startswith('Bearer realm="polis"'), www
    if error:
        assert f'error="{error}"' in www, www
    return body


def get_entities(srv, headers=None):
    return requests.get(srv.api + "/entities", params={"type": "Thing"}, headers=headers or {},
                        timeout=10)


def test_api_key_text_follows_the_contract(srv):
    key = make_key(srv, "operator", tenant="t1")
    assert KEY_RE.match(key), key
    assert make_key(srv, "operator", tenant="t1") != key


def test_request_without_credential_is_the_public_not_refused(srv):
    assert requests.get(srv.url + "/health", timeout=5).status_code == 200
    assert get_entities(srv).status_code != 401


def test_valid_api_key_is_accepted(srv):
    key = make_key(srv, "operator", tenant="*")
    r = get_entities(srv, bearer(key))
    assert r.status_code == 200, r.text
    # the scheme is case-insensitive (RFC 7235)
    r = get_entities(srv, {"Authorization": "bearer  " + key})
    assert r.status_code == 200, r.text


def test_api_key_is_shown_once_and_stored_hashed(srv):
    r = subprocess.run([BIN, "key", "add", "--role", "agency", "--tenant", "t2", "--types",
                        "Vehicle,Road", "--data", srv.data_dir], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and KEY_RE.match(lines[0]), r.stdout
    key = lines[0]
    secret = key.split("_", 2)[2]
    assert secret not in r.stderr
    # the store holds no copy of the key or its secret
    for f in glob.glob(os.path.join(srv.data_dir, "polis.db*")):
        data = open(f, "rb").read()
        assert secret.encode() not in data, f
    # the listing shows the key's scope but never a secret or a hash
    r = subprocess.run([BIN, "key", "list", "--data", srv.data_dir], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout and '"hash"' not in r.stdout
    assert key_id(key) in r.stdout and '"Vehicle"' in r.stdout
    assert get_entities(srv, bearer(key)).status_code != 401  # authenticated (authz decides)


def test_key_added_on_a_running_server_works_at_once(srv):
    key = make_key(srv, "operator")
    assert get_entities(srv, bearer(key)).status_code == 200


def test_revoked_key_is_refused(srv):
    key = make_key(srv, "operator")
    assert get_entities(srv, bearer(key)).status_code == 200  # now cached
    revoke_key(srv, key)
    # a revocation by the CLI reaches the running server within its cache lifetime (5 s)
    wait_until(lambda: get_entities(srv, bearer(key)).status_code == 401, timeout=15,
               msg="revoked key refused")
    assert_401(get_entities(srv, bearer(key)))


def test_expired_key_is_refused(srv):
    key = make_key(srv, "operator", tenant="t1", expires="1")
    wait_until(lambda: get_entities(srv, bearer(key)).status_code == 401, timeout=10,
               msg="expired key refused")
    assert_401(get_entities(srv, bearer(key)))


def test_truncated_and_oversized_tokens_are_401(srv):
    key = make_key(srv, "operator")
    kid = key_id(key)
    other_secret = make_key(srv, "operator", tenant="t1").split("_", 2)[2]
    bad = [
        key[:-1],                                   # truncated
        key[:20],
        key + "A",                                  # one character too many
        key[:-1] + ("B" if key[-1] != "B" else "C"),  # one character changed
        f"plk_{kid}_{other_secret}",                # the right id with another key's secret
        "plk_000000000000_" + "A" * 43,             # an unknown id
        "plk_" + kid.upper() + key[16:],            # the id in upper case
        "A" * 5000,                                 # not a Polis credential
        "A" * 9000,                                 # longer than any token
        "x.y.z",                                    # JWT-shaped garbage
    ]
    for tok in bad:
        assert_401(get_entities(srv, bearer(tok)))
    # a header far larger than any credential: refused without effect (401 or 431 by MHD)
    r = get_entities(srv, bearer("A" * 60000))
    assert r.status_code in (401, 431), r.status_code
    assert get_entities(srv, bearer(key)).status_code == 200


def test_other_schemes_and_malformed_headers_are_401(srv):
    key = make_key(srv, "operator", tenant="t1")
    assert_401(get_entities(srv, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}),
               error="invalid_request")
    assert_401(get_entities(srv, {"Authorization": "Token " + key}), error="invalid_request")
    assert_401(get_entities(srv, {"Authorization": "Bearer"}), error="invalid_token")
    assert_401(get_entities(srv, {"Authorization": "Bearer " + key + " extra"}))
    assert_401(get_entities(srv, {"Authorization": "Bearer k\u00e9y".encode("utf-8")}))


def test_key_cli_refuses_bad_input_and_prints_no_key(srv):
    for args in (["--role", "boss"], ["--role", "public"], [],
                 ["--role", "operator", "--expires", "P1M"],
                 ["--role", "operator", "--expires", "soon"],
                 ["--role", "operator", "--tenant", "bad tenant"]):
        r = subprocess.run([BIN, "key", "add"] + args + ["--data", srv.data_dir],
                           capture_output=True, text=True)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stdout == "" and r.stderr, args
    r = subprocess.run([BIN, "key", "revoke", "0123456789ab", "--data", srv.data_dir],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout == ""


def test_auth_off_sets_no_principal_and_ignores_credentials(tmp_path):
    p = PolisServer(tmp_path, extra_args=["--auth", "off"]).start()
    try:
        # with auth off (the default) a credential is not even looked at
        r = get_entities(p, bearer("not-a-key"))
        assert r.status_code == 200, r.text
    finally:
        p.check_exit()


# ---- users, POST /auth/token ------------------------------------------------------------------
def token_req(srv, **form):
    return requests.post(srv.url + "/auth/token", data=form, timeout=30)


def assert_oauth_error(r, error):
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert body["error"] == error and body["error_description"], body
    assert body["type"] == "urn:polis:error:" + error and body["status"] == 400 and body["detail"]
    assert r.headers.get("Cache-Control") == "no-store"
    return body


@pytest.fixture(scope="module")
def ana(srv):
    make_user(srv, "ana", "correct horse", "operator")
    return ("ana", "correct horse")


def test_password_grant_gives_a_bearer_access_token_and_refresh_token(srv, ana):
    t = login(srv, *ana)
    assert t["token_type"] == "Bearer" and isinstance(t["expires_in"], int) and t["expires_in"] > 0
    assert t["access_token"].count(".") == 2
    assert re.match(r"^plr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$", t["refresh_token"])
    assert get_entities(srv, bearer(t["access_token"])).status_code == 200
    # a token whose signature was changed is refused
    tampered = t["access_token"][:-2] + ("AA" if t["access_token"][-2:] != "AA" else "BB")
    assert_401(get_entities(srv, bearer(tampered)))


def test_user_password_is_stored_as_argon2id_only(srv, ana):
    for f in glob.glob(os.path.join(srv.data_dir, "polis.db*")):
        data = open(f, "rb").read()
        assert ana[1].encode() not in data
    assert any(b"$argon2id$" in open(f, "rb").read()
               for f in glob.glob(os.path.join(srv.data_dir, "polis.db*")))


def test_password_grant_wrong_user_and_wrong_password_answer_alike(srv, ana):
    wrong_pw = token_req(srv, grant_type="password", username="ana", password="nope")
    no_user = token_req(srv, grant_type="password", username="nobody", password="nope")
    a, b = assert_oauth_error(wrong_pw, "invalid_grant"), assert_oauth_error(no_user, "invalid_grant")
    assert a == b
    assert dict((k, v) for k, v in wrong_pw.headers.items() if k not in ("Date",)) == \
        dict((k, v) for k, v in no_user.headers.items() if k not in ("Date",))


def test_token_request_errors_are_oauth_errors(srv, ana):
    assert_oauth_error(token_req(srv, grant_type="client_credentials"), "unsupported_grant_type")
    assert_oauth_error(token_req(srv, username="ana", password="x"), "invalid_request")
    assert_oauth_error(token_req(srv, grant_type="password", username="ana"), "invalid_request")
    r = requests.post(srv.url + "/auth/token", data="grant_type=password&grant_type=password",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert_oauth_error(r, "invalid_request")
    r = requests.post(srv.url + "/auth/token", json={"grant_type": "password"}, timeout=10)
    assert r.status_code == 415 and r.json()["type"].endswith("UnsupportedMediaType")
    assert_oauth_error(token_req(srv, grant_type="refresh_token", refresh_token="plr_junk"),
                       "invalid_grant")


def test_refresh_token_is_single_use(srv, ana):
    t = login(srv, *ana)
    r = token_req(srv, grant_type="refresh_token", refresh_token=t["refresh_token"])
    assert r.status_code == 200, r.text
    t2 = r.json()
    assert t2["refresh_token"] != t["refresh_token"]
    assert get_entities(srv, bearer(t2["access_token"])).status_code == 200
    # the used one is refused; the new one works once
    assert_oauth_error(token_req(srv, grant_type="refresh_token",
                                 refresh_token=t["refresh_token"]), "invalid_grant")
    assert token_req(srv, grant_type="refresh_token",
                     refresh_token=t2["refresh_token"]).status_code == 200


def test_deleted_user_loses_refresh_tokens_and_access(srv):
    make_user(srv, "bo", "pw-of-bo", "operator")
    t = login(srv, "bo", "pw-of-bo")
    r = subprocess.run([BIN, "user", "del", "bo", "--data", srv.data_dir], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert_oauth_error(token_req(srv, grant_type="refresh_token",
                                 refresh_token=t["refresh_token"]), "invalid_grant")
    wait_until(lambda: get_entities(srv, bearer(t["access_token"])).status_code == 401,
               timeout=15, msg="deleted user's token refused")


def test_expired_access_token_is_refused(tmp_path):
    p = PolisServer(tmp_path, extra_args=["--auth", "on", "--access-token-ttl", "1"]).start()
    try:
        make_user(p, "cy", "pw-of-cy", "operator")
        t = login(p, "cy", "pw-of-cy")
        assert t["expires_in"] == 1
        wait_until(lambda: get_entities(p, bearer(t["access_token"])).status_code == 401,
                   timeout=10, msg="expired token refused")
    finally:
        p.check_exit()


def test_user_cli_refuses_empty_password_and_bad_names(srv):
    for args, stdin in ((["user", "add", "dee", "--role", "operator"], "\n"),
                        (["user", "add", "dee", "--role", "operator"], ""),
                        (["user", "add", "bad name", "--role", "operator"], "pw\n"),
                        (["user", "add", "dee", "--role", "king"], "pw\n")):
        r = subprocess.run([BIN] + args + ["--data", srv.data_dir], input=stdin,
                           capture_output=True, text=True)
        assert r.returncode == 2, (args, r.stderr)
    assert token_req(srv, grant_type="password", username="dee", password="pw").status_code == 400


# ---- browser session --------------------------------------------------------------------------
def open_session(srv, user, password):
    s = requests.Session()
    r = s.post(srv.url + "/auth/session", data={"username": user, "password": password},
               timeout=30)
    assert r.status_code == 200, r.text
    return s, r


def test_session_cookie_is_httponly_samesite_strict(srv, ana):
    s, r = open_session(srv, *ana)
    cookie = r.headers["Set-Cookie"]
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert attrs[0].startswith("polis_session=pls_")
    assert "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs
    assert "secure" not in attrs  # no TLS on this listener
    assert r.json()["csrf_token"] and r.json()["user"] == "ana"
    assert s.get(srv.api + "/entities", params={"type": "Thing"}, timeout=10).status_code == 200


def test_state_change_with_cookie_needs_csrf_token(srv, ana):
    s, r = open_session(srv, *ana)
    csrf = r.json()["csrf_token"]
    ent = {"id": "urn:ngsi-ld:Thing:csrf1", "type": "Thing"}
    r = s.post(srv.api + "/entities", json=ent, timeout=10)
    assert r.status_code == 403 and r.json()["type"] == "urn:polis:error:Forbidden", r.text
    r = s.post(srv.api + "/entities", json=ent, headers={"X-CSRF-Token": "x" * 43}, timeout=10)
    assert r.status_code == 403
    assert requests.get(srv.api + "/entities/" + ent["id"], headers=bearer(
        make_key(srv, "operator")), timeout=10).status_code == 404  # nothing was written
    r = s.post(srv.api + "/entities", json=ent, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 201, r.text


def test_logout_ends_the_session(srv, ana):
    s, r = open_session(srv, *ana)
    csrf = r.json()["csrf_token"]
    cookie = s.cookies.get("polis_session")
    assert s.post(srv.url + "/auth/logout", headers={"X-CSRF-Token": csrf},
                  timeout=10).status_code == 204
    r = requests.get(srv.api + "/entities", params={"type": "Thing"},
                     cookies={"polis_session": cookie}, timeout=10)
    assert_401(r)


# ---- admin API: /polis/v1/users, /polis/v1/keys -----------------------------------------------
def test_admin_api_key_is_shown_once_and_revocation_is_immediate(srv):
    admin = bearer(make_key(srv, "admin"))
    r = requests.post(srv.url + "/polis/v1/keys", headers=admin, timeout=10,
                      json={"role": "device", "tenant": "t9", "entities": ["urn:ngsi-ld:S:1"],
                            "expires": "P1D"})
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert KEY_RE.match(key) and created["id"] == key_id(key) and "hash" not in created
    assert created["entities"] == ["urn:ngsi-ld:S:1"] and created["expiresAt"]
    listed = requests.get(srv.url + "/polis/v1/keys", headers=admin, timeout=10).json()
    mine = [k for k in listed if k["id"] == created["id"]]
    assert mine and "key" not in mine[0] and "hash" not in mine[0]
    assert key.split("_", 2)[2] not in json.dumps(listed)
    op = make_key(srv, "operator")
    assert get_entities(srv, bearer(op)).status_code == 200  # cached now
    r = requests.delete(srv.url + "/polis/v1/keys/" + key_id(op), headers=admin, timeout=10)
    assert r.status_code == 204
    assert_401(get_entities(srv, bearer(op)))  # at once, not after the cache lifetime
    assert requests.delete(srv.url + "/polis/v1/keys/0123456789ab", headers=admin,
                           timeout=10).status_code == 404


def test_admin_api_users_without_hashes_and_deletion(srv):
    admin = bearer(make_key(srv, "admin"))
    r = requests.post(srv.url + "/polis/v1/users", headers=admin, timeout=30,
                      json={"name": "eve", "password": "pw-of-eve", "role": "agency",
                            "tenant": "t1"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "eve" and "hash" not in r.json() and "password" not in r.json()
    assert requests.post(srv.url + "/polis/v1/users", headers=admin, timeout=30, json={
        "name": "eve", "password": "x", "role": "agency"}).status_code == 409
    users = requests.get(srv.url + "/polis/v1/users", headers=admin, timeout=10).json()
    assert any(u["name"] == "eve" for u in users) and not any("hash" in u for u in users)
    t = login(srv, "eve", "pw-of-eve")
    assert requests.delete(srv.url + "/polis/v1/users/eve", headers=admin,
                           timeout=10).status_code == 204
    assert_401(get_entities(srv, bearer(t["access_token"])))
    assert requests.delete(srv.url + "/polis/v1/users/eve", headers=admin,
                           timeout=10).status_code == 404


def test_admin_api_refuses_bad_input_and_non_admins(srv):
    admin = bearer(make_key(srv, "admin"))
    for body in ({"role": "king"}, {"role": "operator", "tenant": "bad tenant"},
                 {"role": "operator", "expires": "P1M"}, {"role": "operator", "types": "X"}):
        r = requests.post(srv.url + "/polis/v1/keys", headers=admin, json=body, timeout=10)
        assert r.status_code == 400 and r.json()["detail"], (body, r.text)
    r = requests.post(srv.url + "/polis/v1/users", headers=admin, timeout=10,
                      json={"name": "x", "password": "", "role": "operator"})
    assert r.status_code == 400
    op = bearer(make_key(srv, "operator", tenant="*"))
    for method, path in (("GET", "/polis/v1/keys"), ("GET", "/polis/v1/users"),
                         ("DELETE", "/polis/v1/users/ana")):
        r = requests.request(method, srv.url + path, headers=op, timeout=10)
        assert r.status_code == 403, (path, r.text)
    assert requests.get(srv.url + "/polis/v1/keys", timeout=10).status_code == 401


def test_admin_of_one_tenant_manages_only_its_tenant(srv):
    ta = dict(bearer(make_key(srv, "admin", tenant="ta")), **{"NGSILD-Tenant": "ta"})
    r = requests.post(srv.url + "/polis/v1/keys", headers=ta, json={"role": "operator",
                                                                    "tenant": "*"}, timeout=10)
    assert r.status_code == 403
    r = requests.post(srv.url + "/polis/v1/keys", headers=ta, json={"role": "operator"},
                      timeout=10)
    assert r.status_code == 201 and r.json()["tenant"] == "ta"
    other = make_key(srv, "operator", tenant="tb")
    assert all(k["tenant"] == "ta" for k in requests.get(
        srv.url + "/polis/v1/keys", headers=ta, timeout=10).json())
    assert requests.delete(srv.url + "/polis/v1/keys/" + key_id(other), headers=ta,
                           timeout=10).status_code == 404
