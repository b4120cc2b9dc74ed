# SPDX-License-Identifier: Apache-2.0
"""Issue 12, credentials (docs/security.md "Principals and credentials"): the authenticate hook,
API keys (CLI and admin API), users and POST /auth/token, the session cookie with CSRF, and the
credential cache."""
import glob
import os
import re
import subprocess
import time

import pytest
import requests

from conftest import (BIN, TIMEOUT_MULT, PolisServer, bearer, key_id, make_key, revoke_key,
                      wait_until)

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
    p = PolisServer(tmp_path).start()
    try:
        # with auth off (the default) a credential is not even looked at
        r = get_entities(p, bearer("not-a-key"))
        assert r.status_code == 200, r.text
    finally:
        p.check_exit()
