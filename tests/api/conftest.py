# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the API tests: a real `polis` (POLIS_BIN, default build/polis) started on a free
loopback port with a temporary data directory, and a small HTTP server that serves @context
documents (and misbehaves on purpose) for the remote-context tests.

Credentials (issue 12, tests/api/test_100_auth_credentials.py): a server with auth on and the
principals to talk to it:

    srv = PolisServer(tmp_path, extra_args=["--auth", "on"]).start()   # PolisServer is Polis
    key = make_key(srv, "operator", tenant="t1", types=["Vehicle"])    # runs `polis key add`
    requests.get(srv.api + "/entities?type=Vehicle", headers=bearer(key))
    make_key(srv, "device", tenant="t1", entities=["urn:ngsi-ld:Sensor:1"], expires="PT1H")
    make_key(srv, "admin")            # an admin key of every tenant (tenant="*" for others)
    make_user(srv, "ana", "secret", "operator", tenant="t1")           # runs `polis user add`
    token = login(srv, "ana", "secret")["access_token"]                # POST /auth/token

POLIS_TEST_AUTH=operator (scripts/test.sh, second run): every Polis started without its own
--auth runs with --auth on, and every request to it made through `requests` carries an
operator key of every tenant (an admin key for what only admins may: purge, @context
deletion, /polis/v1/); the receivers and context servers never see it.
"""
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("POLIS_BIN", os.path.join(ROOT, "build", "polis"))
TIMEOUT_MULT = float(os.environ.get("POLIS_TEST_TIMEOUT_MULT", "1"))
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TEST_AUTH = os.environ.get("POLIS_TEST_AUTH", "")
_AUTH_BY_PORT = {}  # POLIS_TEST_AUTH=operator: port -> (operator key, admin key)


def _needs_admin(method, path):
    """What an operator may not do (docs/security.md Roles): purge, @context deletion, the admin
    API, and /metrics (whose per-subscription details are an admin's)."""
    path = path.split("?")[0].rstrip("/")
    return (method == "DELETE" and path.endswith("/ngsi-ld/v1/entities")) or \
        (method == "DELETE" and "/ngsi-ld/v1/jsonldContexts" in path) or \
        path.startswith("/polis/v1") or path == "/metrics"


def _install_auth_hook():
    """Adds the test principal's Authorization to requests for a POLIS_TEST_AUTH server."""
    import urllib.parse
    orig = requests.Session.request

    def request(self, method, url, *a, **kw):
        u = urllib.parse.urlsplit(url)
        keys = _AUTH_BY_PORT.get(u.port) if u.hostname == "127.0.0.1" else None
        if keys:
            headers = dict(kw.get("headers") or {})
            if not any(k.lower() == "authorization" for k in headers):
                key = keys[1] if _needs_admin(method.upper(), u.path) else keys[0]
                headers["Authorization"] = "Bearer " + key
                kw["headers"] = headers
        return orig(self, method, url, *a, **kw)

    requests.Session.request = request


if TEST_AUTH == "operator":
    _install_auth_hook()


def run_auth_header(server, admin=False):
    """The Authorization header POLIS_TEST_AUTH=operator adds to requests for `server` ({} in
    the normal run): for tests that talk to it with something other than `requests`."""
    keys = _AUTH_BY_PORT.get(server.port)
    return {"Authorization": "Bearer " + keys[1 if admin else 0]} if keys else {}


def run_principal(server):
    """(principal name, role) of the requests of the run: ("", "") with auth off."""
    keys = _AUTH_BY_PORT.get(server.port)
    return ("key:" + keys[0].split("_")[1], "operator") if keys else ("", "")


class Polis:
    """One running broker process."""

    def __init__(self, data_dir, extra_args=(), env=None, demo=False):
        self.demo = demo
        self.data_dir = str(data_dir)
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.data_dir, "polis.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self):
        return self.url + "/ngsi-ld/v1"

    def start(self):
        self.port = free_port()
        args = [BIN, "--listen", f"127.0.0.1:{self.port}", "--data", self.data_dir,
                "--contexts", os.path.join(ROOT, "data", "contexts", "preload"),
                "--fetch-timeout", "2000"] + self.extra_args
        if TEST_AUTH == "operator" and "--auth" not in self.extra_args:
            args += ["--auth", "on"]
            if not getattr(self, "_test_keys", None):
                os.makedirs(self.data_dir, exist_ok=True)
                self._test_keys = (make_key(self, "operator", tenant="*"),
                                   make_key(self, "admin", tenant="*"))
            _AUTH_BY_PORT[self.port] = self._test_keys
        args += ["--demo", os.path.join(ROOT, "data", "demo")] if self.demo else ["--no-demo"]
        env = dict(os.environ)
        env.update(self.env or {})
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + 20 * TIMEOUT_MULT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("polis exited at start: " + open(self.log_path).read())
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("polis did not become healthy")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=20 * TIMEOUT_MULT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
                raise RuntimeError("polis did not stop on signal")
            self.log.close()
            return rc
        return self.proc.returncode if self.proc else None

    def check_exit(self):
        """A sanitizer report or a crash makes the process exit non-zero: fail loudly."""
        rc = self.stop()
        assert rc == 0, "polis exited with %r:\n%s" % (rc, open(self.log_path).read()[-4000:])


PolisServer = Polis  # the name the issue-12 helpers use


def _cli(server_or_dir, args, stdin=None):
    data_dir = getattr(server_or_dir, "data_dir", server_or_dir)
    return subprocess.run([BIN] + args + ["--data", str(data_dir)], input=stdin,
                          capture_output=True, text=True, timeout=60 * TIMEOUT_MULT)


def make_key(server, role, tenant=None, types=None, entities=None, expires=None):
    """Creates an API key with `polis key add` on the server's data directory (works while it
    runs) and returns the key text ("plk_<id>_<secret>"). types / entities: lists (or a
    comma-separated string); tenant "*": every tenant; expires: ISO 8601 or seconds."""
    args = ["key", "add", "--role", role]
    if tenant is not None:
        args += ["--tenant", tenant]
    for opt, v in (("--types", types), ("--entities", entities)):
        if v:
            args += [opt, v if isinstance(v, str) else ",".join(v)]
    if expires is not None:
        args += ["--expires", str(expires)]
    r = _cli(server, args)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()[0]


def key_id(key):
    """The id of an API key ("plk_<id>_<secret>" -> "<id>")."""
    return key.split("_")[1]


def revoke_key(server, key_or_id):
    """`polis key revoke ID` on the server's data directory."""
    kid = key_id(key_or_id) if key_or_id.startswith("plk_") else key_or_id
    r = _cli(server, ["key", "revoke", kid])
    assert r.returncode == 0, r.stderr


def make_user(server, name, password, role, tenant=None):
    """Creates a user with `polis user add` (the password on standard input)."""
    args = ["user", "add", name, "--role", role] + (["--tenant", tenant] if tenant else [])
    r = _cli(server, args, stdin=password + "\n")
    assert r.returncode == 0, r.stderr


def login(server, name, password):
    """POST /auth/token with the password grant; returns the token response (asserts 200)."""
    r = requests.post(server.url + "/auth/token", data={
        "grant_type": "password", "username": name, "password": password}, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def bearer(key):
    """The Authorization header of a bearer credential (API key, access token, JWT)."""
    return {"Authorization": "Bearer " + key}


@pytest.fixture(scope="session")
def polis(tmp_path_factory):
    p = Polis(tmp_path_factory.mktemp("polis")).start()
    yield p
    p.check_exit()


@pytest.fixture
def fresh_polis(tmp_path):
    """A broker of its own (for restart and crash tests)."""
    p = Polis(tmp_path)
    yield p
    if p.proc and p.proc.poll() is None:
        p.stop()


@pytest.fixture
def api(polis):
    return polis.api


class ContextServer:
    """Serves JSON-LD documents on loopback; paths starting /slow, /404, /bad misbehave."""

    def __init__(self):
        self.docs = {}
        self.hits = {}
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.hits[self.path] = srv.hits.get(self.path, 0) + 1
                if self.path.startswith("/slow"):
                    time.sleep(5)
                if self.path in srv.docs:
                    body = srv.docs[self.path]
                    if not isinstance(body, bytes):
                        body = json.dumps(body).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/ld+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", self.path)  # a loop
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def ctx_server():
    s = ContextServer()
    yield s
    s.close()


def link(url):
    return f"<{url}>; {LINK_REL}"


def assert_problem(resp, status, type_suffix):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    assert "Link" not in resp.headers
    body = resp.json()
    assert body["type"] == "https://uri.etsi.org/ngsi-ld/errors/" + type_suffix, body
    assert body["title"] and isinstance(body["title"], str)
    assert isinstance(body.get("detail"), str) and body["detail"]
    assert body.get("status") == status
    return body


# ------------------------------------------------------------------------------------------------
# Notification receivers (subscription tests)
# ------------------------------------------------------------------------------------------------
class NotifyReceiver:
    """A real HTTP endpoint for notifications on 127.0.0.1 (HTTP/1.1, keep-alive). Records the
    method, path, headers, body and answered status of every POST and answers 204. Paths
    starting "/fail" answer 500; paths starting "/hang" do not answer until close() (or 30 s).
    `mode[path] = "fail"` or "hang" does the same for one exact path; `mode[path] = N` (an int)
    answers 500 to the next N requests for that path, then 204."""

    def __init__(self):
        self.records = []  # dicts: method, path, headers (lower-case names), raw, time
        self.mode = {}
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.closing = threading.Event()
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                rec = {"method": "POST", "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "raw": raw, "time": time.time()}
                mode = srv.mode.get(self.path)
                if isinstance(mode, int):  # fail that many more requests, then succeed
                    srv.mode[self.path] = mode - 1 if mode > 1 else "ok"
                    mode = "fail"
                if mode is None:
                    mode = "fail" if self.path.startswith("/fail") else \
                        "hang" if self.path.startswith("/hang") else "ok"
                rec["status"] = 500 if mode == "fail" else None if mode == "hang" else 204
                with srv.cond:
                    srv.records.append(rec)
                    srv.cond.notify_all()
                if mode == "hang":
                    srv.closing.wait(30)
                    self.close_connection = True
                    return
                self.send_response(500 if mode == "fail" else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 128
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path):
        """The records for one path (bodies parsed as JSON in "body")."""
        with self.lock:
            recs = [r for r in self.records if r["path"] == path]
        for r in recs:
            if "body" not in r:
                r["body"] = json.loads(r["raw"]) if r["raw"] else None
        return recs

    def wait_for(self, path, n=1, timeout=10, pred=None):
        """Waits until `n` changes have been notified to `path`: entities in the "data" of the
        records (those matching pred(record) when given; a notification may carry several
        changes, notifier.h BATCHING); returns the records (fails the test on timeout)."""
        return self.wait_for_entities(path, n, timeout, pred)

    def wait_for_entities(self, path, n, timeout=10, pred=None):
        """Waits until the notifications for `path` (those matching pred(record) when given)
        carry `n` entities in all (a notification may carry several changes: notifier.h,
        BATCHING); returns the records (fails the test on timeout)."""
        deadline = time.time() + timeout * TIMEOUT_MULT
        while True:
            recs = self.received(path)
            if pred:
                recs = [r for r in recs if pred(r)]
            got = sum(len(r["body"]["data"]) if isinstance(r["body"], dict) and
                      isinstance(r["body"].get("data"), list) else 1 for r in recs)
            if got >= n:
                return recs
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"{got} of {n} entities arrived at {path} in "
                                     f"{len(recs)} notifications")
            with self.cond:
                self.cond.wait(min(left, 0.2))

    def quiet(self, path, seconds=1.0):
        """The records for `path` after waiting `seconds` (to check that nothing more comes)."""
        time.sleep(seconds)
        return self.received(path)

    def close(self):
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def receiver():
    r = NotifyReceiver()
    yield r
    r.close()


@pytest.fixture
def own_receiver():
    """A receiver of its own (an endpoint whose queue no other test shares)."""
    r = NotifyReceiver()
    yield r
    r.close()


def wait_until(fn, timeout=10, interval=0.05, msg="condition"):
    """Polls fn() until it returns a true value (returned); fails the test on timeout."""
    deadline = time.time() + timeout * TIMEOUT_MULT
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {msg} (last: {v!r})")
        time.sleep(interval)


class MqttSubscriber:
    """A minimal MQTT 3.1.1 subscriber over a socket (no client library needed): CONNECT,
    SUBSCRIBE (QoS 2 granted max), then collects PUBLISH packets as (topic, payload, qos),
    acknowledging QoS 1 (PUBACK) and QoS 2 (PUBREC / PUBREL / PUBCOMP)."""

    def __init__(self, port, topic, host="127.0.0.1"):
        self.messages = []
        self.cond = threading.Condition()
        self.sock = socket.create_connection((host, port), timeout=10)
        cid = ("pytest-%d-%d" % (os.getpid(), id(self))).encode()
        var = b"\x00\x04MQTT\x04\x02\x00\x00"  # level 4, clean session, no keep-alive
        self._send(0x10, var + self._str(cid))
        t, body = self._read()
        assert t >> 4 == 2 and body[1] == 0, ("CONNACK", t, body)
        self._send(0x82, b"\x00\x01" + self._str(topic.encode()) + b"\x02")
        t, body = self._read()
        assert t >> 4 == 9 and body[2] in (0, 1, 2), ("SUBACK", t, body)
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @staticmethod
    def _str(b):
        return len(b).to_bytes(2, "big") + b

    def _send(self, first, body):
        n, rl = len(body), bytearray()
        while True:
            d, n = n % 128, n // 128
            rl.append(d | (0x80 if n else 0))
            if not n:
                break
        self.sock.sendall(bytes([first]) + bytes(rl) + body)

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            c = self.sock.recv(n - len(buf))
            if not c:
                raise EOFError
            buf += c
        return buf

    def _read(self):
        first = self._recv(1)[0]
        mult, n = 1, 0
        while True:
            d = self._recv(1)[0]
            n += (d & 0x7F) * mult
            mult *= 128
            if not d & 0x80:
                break
        return first, self._recv(n)

    def _loop(self):
        try:
            while True:
                first, body = self._read()
                kind = first >> 4
                if kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    tl = int.from_bytes(body[:2], "big")
                    topic = body[2:2 + tl].decode()
                    pos = 2 + tl
                    pid = body[pos:pos + 2] if qos else b""
                    payload = body[pos + 2:] if qos else body[pos:]
                    if qos == 1:
                        self._send(0x40, pid)
                    elif qos == 2:
                        self._send(0x50, pid)
                    with self.cond:
                        self.messages.append((topic, payload, qos))
                        self.cond.notify_all()
                elif kind == 6:  # PUBREL
                    self._send(0x70, body[:2])
        except (EOFError, OSError):
            pass

    @staticmethod
    def changes(msg):
        """Entities in the notification of one message (its "body"."data"; several when
        batched, notifier.h BATCHING); 1 for a payload that is not a notification."""
        try:
            data = json.loads(msg[1])["body"]["data"]
            return len(data) if isinstance(data, list) else 1
        except (ValueError, KeyError, TypeError):
            return 1

    def wait_for(self, n, timeout=10):
        """Waits until the messages carry `n` notified changes; returns the messages."""
        deadline = time.time() + timeout * TIMEOUT_MULT
        with self.cond:
            while sum(self.changes(m) for m in self.messages) < n:
                left = deadline - time.time()
                if left <= 0:
                    got = sum(self.changes(m) for m in self.messages)
                    raise AssertionError(f"{got} of {n} changes arrived in "
                                         f"{len(self.messages)} MQTT messages")
                self.cond.wait(min(left, 0.2))
            return list(self.messages)

    def close(self):
        try:
            self._send(0xE0, b"")  # DISCONNECT
        except OSError:
            pass
        self.sock.close()


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory):
    """A throw-away Mosquitto broker (scripts/mosquitto.sh); yields its port."""
    d = str(tmp_path_factory.mktemp("mosquitto"))
    script = os.path.join(ROOT, "scripts", "mosquitto.sh")
    r = subprocess.run([script, "start", d], capture_output=True, text=True)
    if r.returncode == 3:
        pytest.skip("mosquitto is not installed (scripts/install-deps.sh test installs it)")
    assert r.returncode == 0, r.stderr
    yield int(r.stdout.strip())
    subprocess.run([script, "stop", d], capture_output=True)
