"""Bearer JWTs of a city's identity provider (issue 12, docs/security.md "Connecting Keycloak or
another OIDC provider"): tokens signed here with keys generated here, served to a broker started
with --auth on --jwks FILE --jwt-issuer --jwt-audience. Valid RS256, ES256 and HS256 tokens get
their mapped role and tenant; each token attack is a 401 ProblemDetails with WWW-Authenticate."""
import base64
import json
import os
import signal
import subprocess
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from conftest import BIN, Polis, TIMEOUT_MULT

ISS = "https://idp.example/realms/city"
AUD = "polis"
TENANT = "jwtcity"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Keys:
    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.hs = os.urandom(32)

    def jwks(self):
        r = json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key()))
        r.update(kid="rsa-1", use="sig", alg="RS256")
        e = json.loads(ECAlgorithm.to_jwk(self.ec.public_key()))
        e.update(kid="ec-1", use="sig")
        enc = json.loads(RSAAlgorithm.to_jwk(self.rsa_other.public_key()))
        enc.update(kid="rsa-enc", use="enc", alg="RSA-OAEP")  # as Keycloak publishes it
        return {"keys": [r, e, enc, {"kty": "oct", "kid": "hs-1", "k": b64(self.hs)}]}

    def rsa_public_pem(self):
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def claims(role="operator", tenant=TENANT, **over):
    now = int(time.time())
    c = {"iss": ISS, "aud": ["account", AUD], "sub": "user-" + role, "iat": now - 5,
         "exp": now + 300, "realm_access": {"roles": ["offline_access", role]}}
    if tenant is not None:
        c["tenant"] = tenant
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


@pytest.fixture(scope="module")
def keys():
    return Keys()


def start(tmp_path_factory, keys, *extra):
    d = tmp_path_factory.mktemp("jwt")
    path = os.path.join(str(d), "jwks.json")
    with open(path, "w") as f:
        json.dump(keys.jwks(), f)
    p = Polis(d, ["--auth", "on", "--jwks", path, "--jwt-issuer", ISS, "--jwt-audience", AUD]
              + list(extra)).start()
    p.jwks_path = path
    return p


@pytest.fixture(scope="module")
def srv(tmp_path_factory, keys):
    p = start(tmp_path_factory, keys)
    yield p
    p.check_exit()


def get(srv, token, path="/entities?type=Building", tenant=TENANT):
    h = {"Authorization": "Bearer " + token}
    if tenant:
        h["NGSILD-Tenant"] = tenant
    return requests.get(srv.api + path, headers=h, timeout=10 * TIMEOUT_MULT)


def create(srv, token, eid, etype="Building", tenant=TENANT):
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    if tenant:
        h["NGSILD-Tenant"] = tenant
    body = {"id": eid, "type": etype, "name": {"type": "Property", "value": "x"}}
    return requests.post(srv.api + "/entities", headers=h, data=json.dumps(body),
                         timeout=10 * TIMEOUT_MULT)


def assert_refused(r):
    assert r.status_code == 401, r.text
    assert r.headers["Content-Type"].startswith("application/"), r.headers
    body = r.json()
    assert body["type"] == "urn:polis:error:Unauthorized", body
    assert body.get("title"), body
    www = r.headers.get("WWW-Authenticate", "")
    assert www.startswith("Bearer") and 'realm="polis"' in www, www
    assert 'error="invalid_token"' in www, www


# ---- accepted -------------------------------------------------------------------------------

def test_valid_rs256_es256_hs256_tokens_get_the_mapped_role(srv, keys):
    tokens = {
        "rs256": jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"}),
        "es256": jwt.encode(claims(), keys.ec, algorithm="ES256", headers={"kid": "ec-1"}),
        "hs256": jwt.encode(claims(), keys.hs, algorithm="HS256", headers={"kid": "hs-1"}),
    }
    for name, tok in tokens.items():
        # an operator may write its tenant (the first write creates the tenant) and read it
        r = create(srv, tok, "urn:ngsi-ld:Building:jwt-" + name)
        assert r.status_code == 201, (name, r.text)
        r = get(srv, tok)
        assert r.status_code == 200, (name, r.text)
        assert "urn:ngsi-ld:Building:jwt-" + name in [e["id"] for e in r.json()]
        r = get(srv, tok, "/entities/urn:ngsi-ld:Building:jwt-" + name)
        assert r.status_code == 200, (name, r.text)


def test_token_role_limits_what_it_may_do(srv, keys):
    """A token naming no Polis role is the public: it may not write; a polis- prefixed role
    counts as the role."""
    visitor = jwt.encode(claims(role="uma_authorization"), keys.rsa, algorithm="RS256",
                         headers={"kid": "rsa-1"})
    r = create(srv, visitor, "urn:ngsi-ld:Building:jwt-visitor")
    # the token is valid (never an invalid_token refusal), but the public may not write:
    # authz answers its "authentication required" for the public role
    assert r.status_code in (401, 403), r.text
    assert r.json()["type"] in ("urn:polis:error:Unauthorized", "urn:polis:error:Forbidden")
    assert "invalid_token" not in r.headers.get("WWW-Authenticate", ""), r.headers
    assert requests.get(srv.api + "/entities/urn:ngsi-ld:Building:jwt-visitor",
                        headers={"NGSILD-Tenant": TENANT, "Authorization": "Bearer " + jwt.encode(
                            claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})},
                        timeout=10 * TIMEOUT_MULT).status_code == 404  # nothing was written
    prefixed = jwt.encode(claims(role="polis-operator"), keys.rsa, algorithm="RS256",
                          headers={"kid": "rsa-1"})
    r = create(srv, prefixed, "urn:ngsi-ld:Building:jwt-prefixed")
    assert r.status_code == 201, r.text


def test_token_tenant_claim_binds_the_principal_to_its_tenant(srv, keys):
    tok = jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    assert create(srv, tok, "urn:ngsi-ld:Building:jwt-own").status_code == 201
    r = create(srv, tok, "urn:ngsi-ld:Building:jwt-other", tenant="othercity")
    assert r.status_code == 403, r.text
    r = get(srv, tok, "/entities/urn:ngsi-ld:Building:jwt-own", tenant="othercity")
    assert r.status_code in (403, 404), r.text


# ---- refused --------------------------------------------------------------------------------

def test_token_attacks_are_401_problem_details(srv, keys):
    now = int(time.time())
    pem = keys.rsa_public_pem()
    good = jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    h, p, s = good.split(".")
    none_hdr = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    # HS256 with the RSA public key (PEM) as the HMAC secret: PyJWT refuses to do it, so the
    # signature is computed by hand, as an attacker would.
    import hashlib
    import hmac
    conf_hdr = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    conf_body = b64(json.dumps(claims(role="admin")).encode())
    conf_sig = b64(hmac.new(pem, (conf_hdr + "." + conf_body).encode(), hashlib.sha256).digest())
    attacks = {
        "wrong signature": jwt.encode(claims(), keys.rsa_other, algorithm="RS256",
                                      headers={"kid": "rsa-1"}),
        "tampered payload": h + "." + b64(json.dumps(claims(role="admin")).encode()) + "." + s,
        "alg none": none_hdr + "." + p + ".",
        "alg none with signature": none_hdr + "." + p + "." + s,
        "hs/rs confusion": conf_hdr + "." + conf_body + "." + conf_sig,
        "expired": jwt.encode(claims(exp=now - 3600, iat=now - 7200), keys.rsa,
                              algorithm="RS256", headers={"kid": "rsa-1"}),
        "not yet valid": jwt.encode(claims(nbf=now + 3600), keys.rsa, algorithm="RS256",
                                    headers={"kid": "rsa-1"}),
        "issued in the future": jwt.encode(claims(iat=now + 3600, exp=now + 7200), keys.rsa,
                                           algorithm="RS256", headers={"kid": "rsa-1"}),
        "no exp": jwt.encode(claims(exp=None), keys.rsa, algorithm="RS256",
                             headers={"kid": "rsa-1"}),
        "wrong audience": jwt.encode(claims(aud="other-app"), keys.rsa, algorithm="RS256",
                                     headers={"kid": "rsa-1"}),
        "wrong issuer": jwt.encode(claims(iss="https://idp.example/realms/other"), keys.rsa,
                                   algorithm="RS256", headers={"kid": "rsa-1"}),
        "unknown kid": jwt.encode(claims(), keys.rsa, algorithm="RS256",
                                  headers={"kid": "rsa-9"}),
        "encryption key": jwt.encode(claims(), keys.rsa_other, algorithm="RS256",
                                     headers={"kid": "rsa-enc"}),
        "other alg": jwt.encode(claims(), keys.rsa, algorithm="RS512", headers={"kid": "rsa-1"}),
        "truncated": good[: len(good) - 20],
        "two parts": h + "." + p,
        "oversized": h + "." + "A" * 9000 + "." + s,
        "garbage base64": "e30=.e30+.A/A",
        "padded base64": h + "=." + p + "." + s,
    }
    for name, tok in attacks.items():
        r = get(srv, tok)
        assert r.status_code == 401, (name, r.text)
        assert_refused(r)


def test_clock_skew_accepts_a_token_expired_30s_ago_only_with_skew(srv, keys, tmp_path_factory):
    now = int(time.time())
    late = jwt.encode(claims(exp=now - 30, iat=now - 600), keys.rsa, algorithm="RS256",
                      headers={"kid": "rsa-1"})
    assert get(srv, late).status_code == 200  # default --jwt-clock-skew 60
    strict = start(tmp_path_factory, keys, "--jwt-clock-skew", "0")
    try:
        assert_refused(get(strict, late))
        fresh = jwt.encode(claims(tenant=None), keys.rsa, algorithm="RS256",
                           headers={"kid": "rsa-1"})
        assert get(strict, fresh, tenant=None).status_code == 200  # the default tenant
    finally:
        strict.check_exit()


def test_external_jwt_without_jwks_is_refused(tmp_path_factory, keys):
    p = Polis(tmp_path_factory.mktemp("nojwks"), ["--auth", "on"]).start()
    try:
        tok = jwt.encode(claims(), keys.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
        assert_refused(get(p, tok))
    finally:
        p.check_exit()


def test_unusable_jwks_refuses_to_start(tmp_path):
    only_enc = {"keys": [{"kty": "RSA", "use": "enc", "kid": "x", "n": b64(b"\x01" * 256),
                          "e": "AQAB"}]}
    for name, text in {"missing": None, "not json": "{keys", "no usable key": json.dumps(only_enc)
                       }.items():
        path = os.path.join(str(tmp_path), "jwks-%s.json" % name.replace(" ", "-"))
        if text is not None:
            with open(path, "w") as f:
                f.write(text)
        r = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--data", str(tmp_path), "--no-demo",
                            "--auth", "on", "--jwks", path], capture_output=True, text=True,
                           timeout=20 * TIMEOUT_MULT)
        assert r.returncode == 2, (name, r.stderr)
        assert "--jwks" in r.stderr and path in r.stderr, (name, r.stderr)


def test_sighup_reloads_the_jwks_file(tmp_path_factory, keys):
    p = start(tmp_path_factory, keys)
    try:
        new = ec.generate_private_key(ec.SECP256R1())
        tok = jwt.encode(claims(tenant=None), new, algorithm="ES256", headers={"kid": "ec-2"})
        assert_refused(get(p, tok, tenant=None))
        jwks = keys.jwks()
        k = json.loads(ECAlgorithm.to_jwk(new.public_key()))
        k.update(kid="ec-2")
        jwks["keys"].append(k)
        with open(p.jwks_path + ".tmp", "w") as f:
            json.dump(jwks, f)
        os.replace(p.jwks_path + ".tmp", p.jwks_path)
        p.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 20 * TIMEOUT_MULT
        while get(p, tok, tenant=None).status_code != 200:  # the reload runs on the main thread
            assert time.time() < deadline, "the new key was not loaded on SIGHUP"
            time.sleep(0.05)
        # a broken file on SIGHUP keeps the keys in use
        with open(p.jwks_path, "w") as f:
            f.write("{broken")
        p.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 20 * TIMEOUT_MULT
        while "JWKS not reloaded" not in open(p.log_path).read():
            assert time.time() < deadline
            time.sleep(0.05)
        # a token not seen before (not cached) still verifies with the keys in use
        again = jwt.encode(claims(tenant=None, sub="other"), new, algorithm="ES256",
                           headers={"kid": "ec-2"})
        assert get(p, again, tenant=None).status_code == 200
    finally:
        p.check_exit()
