# SPDX-License-Identifier: Apache-2.0
"""The edge (issue 12, docs/security.md "The edge: safe by default"): without auth Polis listens
on loopback only and refuses a non-loopback address unless --insecure; TLS with reload on SIGHUP;
rate limits per principal and per address (429 + Retry-After); connections per address; header
and body deadlines against slow clients. Every server here listens on loopback: a non-loopback
address is only ever given to check that Polis refuses to start."""
import json
import os
import subprocess

import requests

from conftest import BIN, ROOT, TIMEOUT_MULT, Polis, free_port


def run_briefly(args, tmp_path):
    """Runs polis with `args` expecting it to exit at once (a refused configuration)."""
    return subprocess.run([BIN, "--data", str(tmp_path), "--no-demo"] + args,
                          capture_output=True, text=True, timeout=20 * TIMEOUT_MULT)


# ------------------------------------------------------------------------------------------------
# Protected mode
# ------------------------------------------------------------------------------------------------
def test_auth_off_refuses_to_listen_on_a_non_loopback_address(tmp_path):
    for host in ("0.0.0.0", "[::]"):
        p = run_briefly(["--listen", f"{host}:{free_port()}"], tmp_path)
        assert p.returncode != 0, (host, p.stdout, p.stderr)
        err = p.stderr
        assert "refusing to listen" in err and host in err, err
        assert "--insecure" in err and "--auth on" in err, err


def test_auth_off_listens_on_loopback_and_says_so(tmp_path):
    p = Polis(tmp_path, ["--auth", "off"]).start()  # also under POLIS_TEST_AUTH=operator
    try:
        assert requests.get(p.url + "/health", timeout=5).status_code == 200
    finally:
        p.check_exit()
    log = open(p.log_path).read()
    assert "auth is off: listening on loopback only (127.0.0.1)" in log, log


def test_localhost_and_any_127_address_count_as_loopback(tmp_path):
    port = free_port()
    proc = subprocess.Popen([BIN, "--listen", f"localhost:{port}", "--data", str(tmp_path),
                             "--no-demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        assert proc.wait(timeout=20 * TIMEOUT_MULT) == 0
    p = Polis(tmp_path / "b")
    os.makedirs(p.data_dir, exist_ok=True)
    # 127.0.0.5 is loopback too (127.0.0.0/8): Polis starts there without --insecure
    port = free_port()
    proc = subprocess.Popen([BIN, "--listen", f"127.0.0.5:{port}", "--data", p.data_dir,
                             "--no-demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_healthy(f"http://127.0.0.5:{port}", proc)
    finally:
        proc.terminate()
        assert proc.wait(timeout=20 * TIMEOUT_MULT) == 0


def wait_healthy(url, proc, verify=True):
    import time
    deadline = time.time() + 20 * TIMEOUT_MULT
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if requests.get(url + "/health", timeout=1, verify=verify).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return False


# ------------------------------------------------------------------------------------------------
# Helpers: requests from another loopback source address (127.0.0.2 is a different client)
# ------------------------------------------------------------------------------------------------
def get_from(source, polis, path="/ngsi-ld/v1/types", headers=None):
    """GET over a fresh connection whose source address is `source` (a loopback address).
    Returns (status, headers dict with lower-case names, body bytes)."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", polis.port, timeout=10 * TIMEOUT_MULT,
                                   source_address=(source, 0))
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def assert_429(status, headers, body):
    import json
    assert status == 429, (status, body)
    retry = headers.get("retry-after")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, headers
    p = json.loads(body)
    assert p["type"] == "urn:polis:error:TooManyRequests", p
    assert p["status"] == 429 and p["title"] and p["detail"], p


def burst_until_429(source, polis, n=30, **kw):
    """Sends up to n requests from `source`; returns the statuses up to and including the first
    429 and that 429's (headers, body)."""
    statuses = []
    for _ in range(n):
        st, h, b = get_from(source, polis, **kw)
        statuses.append(st)
        if st == 429:
            return statuses, h, b
    return statuses, None, None


# ------------------------------------------------------------------------------------------------
# Rate limits
# ------------------------------------------------------------------------------------------------
def test_rate_limit_per_address_answers_429_with_retry_after_and_spares_other_addresses(
        tmp_path):
    # auth off also under POLIS_TEST_AUTH=operator: the raw clients below send no credential
    p = Polis(tmp_path, ["--rate-limit-addr", "1", "--rate-burst-addr", "3",
                         "--auth", "off"]).start()
    try:
        # (127.0.0.4: a client of its own; the start-up health checks came from 127.0.0.1)
        statuses, h, b = burst_until_429("127.0.0.4", p)
        assert statuses[:3] == [200, 200, 200], statuses
        assert statuses[-1] == 429, statuses
        assert_429(429, h, b)
        # another client address has its own bucket
        st, _, body = get_from("127.0.0.2", p)
        assert st == 200, body
        st, _, body = get_from("127.0.0.2", p, "/metrics")
        assert st == 200 and json.loads(body)["edge"]["rateLimited"] >= 1, body
    finally:
        p.check_exit()


def test_rate_limit_per_principal_without_credential_keys_on_the_address(tmp_path):
    # auth off: no principal, so the per-principal bucket is the client address's
    p = Polis(tmp_path, ["--rate-limit", "1", "--rate-burst", "2"]).start()
    try:
        statuses, h, b = burst_until_429("127.0.0.4", p)
        assert statuses[:2] == [200, 200] and statuses[-1] == 429, statuses
        assert_429(429, h, b)
        assert get_from("127.0.0.3", p)[0] == 200
    finally:
        p.check_exit()


def test_rate_limit_per_principal_spares_another_principal_on_the_same_address(tmp_path):
    from conftest import bearer, make_key
    p = Polis(tmp_path, ["--auth", "on", "--rate-limit", "1", "--rate-burst", "3"]).start()
    try:
        a = make_key(p, "operator")
        b = make_key(p, "operator")
        statuses, h, body = burst_until_429("127.0.0.1", p, headers=bearer(a))
        assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429, statuses
        assert_429(429, h, body)
        assert "for this principal" in json.loads(body)["detail"]
        # the other key, from the same address, has its own bucket
        st, _, out = get_from("127.0.0.1", p, headers=bearer(b))
        assert st == 200, out
        # and a request without a credential is counted per address (a bucket of its own)
        st, _, out = get_from("127.0.0.7", p)
        assert st == 200, out
    finally:
        p.check_exit()


def test_rate_limits_are_off_by_default(polis):
    # the default configuration lets a burst through (the test suites rely on it)
    for _ in range(60):
        assert get_from("127.0.0.1", polis)[0] == 200


# ------------------------------------------------------------------------------------------------
# Connections per client address
# ------------------------------------------------------------------------------------------------
def request_on(sock):
    """Sends a GET /health on a connected socket; returns the response bytes (b'' when the
    server closed the connection instead of answering)."""
    import socket
    sock.settimeout(10 * TIMEOUT_MULT)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return out
            out += chunk
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return b""


def test_connections_per_address_are_limited_and_other_addresses_still_served(tmp_path):
    import socket
    import time
    p = Polis(tmp_path, ["--max-conns-per-addr", "4"]).start()
    # 127.0.0.6: a client of its own (the start-up health checks' connections, from 127.0.0.1,
    # may not all be closed yet on the server side)
    me = ("127.0.0.6", 0)
    held = []
    try:
        for _ in range(4):
            held.append(socket.create_connection(("127.0.0.1", p.port), timeout=10,
                                                 source_address=me))
        time.sleep(0.2 * TIMEOUT_MULT)  # let the server accept them (not a timing assertion)
        extra = socket.create_connection(("127.0.0.1", p.port), timeout=10, source_address=me)
        assert request_on(extra) == b"", "a 5th connection from one address was served"
        extra.close()
        # another address is not affected
        assert get_from("127.0.0.2", p, "/health")[0] == 200
        # one of the four still works
        assert request_on(held[0]).startswith(b"HTTP/1.1 200")
    finally:
        for s in held:
            s.close()
    # once they are closed, the address is served again
    deadline = time.time() + 10 * TIMEOUT_MULT
    while time.time() < deadline:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10, source_address=me)
        out = request_on(s)
        s.close()
        if out.startswith(b"HTTP/1.1 200"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the address was not served again after closing its connections")
    p.check_exit()


# ------------------------------------------------------------------------------------------------
# Slow clients: header and body deadlines
# ------------------------------------------------------------------------------------------------
class Trickler:
    """One connection that sends `head` at once, then `data` one byte at a time, a byte every
    `gap` seconds, and records whether the server closed it."""

    def __init__(self, port, data, gap, head=b""):
        import socket
        import threading
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if head:
            self.sock.sendall(head)
        self.data, self.gap = data, gap
        self.closed_by_server = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        import select
        for i in range(len(self.data)):
            if self.stop.is_set():
                return
            try:
                self.sock.send(self.data[i:i + 1])
            except OSError:
                self.closed_by_server.set()
                return
            # a closed connection shows as readable with nothing to read
            r, _, _ = select.select([self.sock], [], [], self.gap)
            if r:
                try:
                    if self.sock.recv(4096) == b"":
                        self.closed_by_server.set()
                        return
                except OSError:
                    self.closed_by_server.set()
                    return

    def close(self):
        self.stop.set()
        self.thread.join(timeout=30)
        self.sock.close()


SLOW_HEAD = (b"GET /ngsi-ld/v1/types HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 400 +
             b"\r\n\r\n")


def test_slow_header_senders_are_cut_while_a_normal_client_is_served(tmp_path):
    p = Polis(tmp_path, ["--header-timeout", "2", "--max-conns-per-addr", "0"]).start()
    slow = []
    try:
        for _ in range(50):
            slow.append(Trickler(p.port, SLOW_HEAD, 0.2))
        # the normal client is answered while the 50 trickle
        with requests.Session() as s:
            for i in range(20):
                r = s.get(p.api + "/types", timeout=10 * TIMEOUT_MULT)
                assert r.status_code == 200
        # every slow sender is disconnected after the header deadline (2 s; 400 bytes at one
        # byte every 0.2 s would take 80 s). Generous bound: no timing assertion.
        for t in slow:
            assert t.closed_by_server.wait(30 * TIMEOUT_MULT), "a slow client was not cut"
        assert requests.get(p.url + "/health", timeout=10).status_code == 200
        edge = requests.get(p.url + "/metrics", timeout=10).json()["edge"]
        assert edge["deadlineCuts"] >= 50, edge
    finally:
        for t in slow:
            t.close()
    log = open(p.log_path).read()
    assert "the request headers did not arrive within 2 s" in log
    p.check_exit()


def test_slow_body_senders_are_cut_after_the_body_deadline(tmp_path):
    body = b'{"id":"urn:ngsi-ld:Slow:1","type":"T","a":{"type":"Property","value":"' + \
        b"x" * 300 + b'"}}'
    head = (b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    p = Polis(tmp_path, ["--body-timeout", "2"]).start()
    t = Trickler(p.port, body, 0.2, head=head)  # the headers at once: only the body trickles
    try:
        assert t.closed_by_server.wait(30 * TIMEOUT_MULT), "the slow body was not cut"
        # nothing was created from half a body
        r = requests.get(p.api + "/entities/urn:ngsi-ld:Slow:1", timeout=10)
        assert r.status_code == 404
    finally:
        t.close()
    assert "the body did not arrive within 2 s" in open(p.log_path).read()
    p.check_exit()


def test_a_prompt_client_on_keep_alive_is_not_cut(tmp_path):
    import time
    p = Polis(tmp_path, ["--header-timeout", "2"]).start()
    try:
        with requests.Session() as s:
            # requests spread over more than the deadline on one connection: each one's headers
            # arrive at once, so none is cut
            for _ in range(6):
                assert s.get(p.api + "/types", timeout=10).status_code == 200
                time.sleep(0.5)
    finally:
        p.check_exit()


# ------------------------------------------------------------------------------------------------
# TLS: HTTPS with the certificate reloaded on SIGHUP
# ------------------------------------------------------------------------------------------------
def make_cert(path_cert, path_key, cn):
    """A self-signed certificate for 127.0.0.1 (EC P-256: fast to make) written to the paths."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(path_key), "-out",
                    str(path_cert), "-days", "2", "-subj", "/CN=" + cn, "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)


def served_fingerprint(port):
    """SHA-256 of the certificate the server presents (read without verifying it)."""
    import hashlib
    import socket
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10 * TIMEOUT_MULT) as raw_sock:
        with ctx.wrap_socket(raw_sock) as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def hashlib_of(der):
    import hashlib
    return hashlib.sha256(der).hexdigest()


def file_fingerprint(path):
    import hashlib
    import ssl
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(path).read())).hexdigest()


class TlsPolis(Polis):
    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"


def start_tls(tmp_path, monkeypatch, cert, key, extra=()):
    p = TlsPolis(tmp_path / "data", ["--tls-cert", str(cert), "--tls-key", str(key)] +
                 list(extra))
    os.makedirs(p.data_dir, exist_ok=True)
    # the start-up health checks trust the first certificate
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    p.start()
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    return p


def wait_for(cond, what):
    import time
    deadline = time.time() + 20 * TIMEOUT_MULT
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def test_tls_serves_https_and_reloads_the_certificate_on_sighup(tmp_path, monkeypatch):
    import shutil
    import signal
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make_cert(cert, key, "polis-one")
    first = file_fingerprint(cert)
    p = start_tls(tmp_path, monkeypatch, cert, key)
    try:
        # HTTPS, verified against the certificate
        r = requests.get(p.url + "/health", verify=str(cert), timeout=10)
        assert r.status_code == 200
        assert served_fingerprint(p.port) == first
        # a keep-alive connection opened before the reload
        import http.client
        import ssl
        old_conn = http.client.HTTPSConnection(
            "127.0.0.1", p.port, timeout=10 * TIMEOUT_MULT,
            context=ssl.create_default_context(cafile=str(cert)))
        old_conn.request("GET", "/ngsi-ld/v1/types")
        r = old_conn.getresponse()
        assert r.status == 200
        r.read()

        # new files at the same paths, then SIGHUP: later handshakes get the new certificate
        make_cert(tmp_path / "c2.pem", tmp_path / "k2.pem", "polis-two")
        shutil.copy(tmp_path / "c2.pem", cert)
        shutil.copy(tmp_path / "k2.pem", key)
        second = file_fingerprint(cert)
        assert second != first
        p.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: served_fingerprint(p.port) == second, "the new certificate")
        r = requests.get(p.url + "/health", verify=str(cert), timeout=10)
        assert r.status_code == 200
        # nothing was dropped: the connection from before the reload still works, on the
        # certificate of its handshake
        old_conn.request("GET", "/ngsi-ld/v1/types")
        r = old_conn.getresponse()
        assert r.status == 200
        r.read()
        assert hashlib_of(old_conn.sock.getpeercert(binary_form=True)) == first
        old_conn.close()
    finally:
        p.check_exit()
    log = open(p.log_path).read()
    assert "tls: reloaded" in log and "polis-two" in log, log


def test_tls_reload_with_bad_files_keeps_the_current_certificate(tmp_path, monkeypatch):
    import signal
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make_cert(cert, key, "polis-keep")
    good = file_fingerprint(cert)
    good_pem = cert.read_bytes()
    p = start_tls(tmp_path, monkeypatch, cert, key)
    try:
        # 1. not a certificate at all
        cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n")
        p.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: open(p.log_path).read().count("reload failed") >= 1, "a failed reload")
        assert served_fingerprint(p.port) == good
        # 2. a good certificate whose key is another one
        make_cert(tmp_path / "c3.pem", tmp_path / "k3.pem", "polis-other")
        cert.write_bytes((tmp_path / "c3.pem").read_bytes())
        p.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: open(p.log_path).read().count("reload failed") >= 2, "a second failure")
        assert served_fingerprint(p.port) == good
        cert.write_bytes(good_pem)
        assert requests.get(p.url + "/health", verify=str(cert), timeout=10).status_code == 200
        edge = requests.get(p.url + "/metrics", verify=str(cert), timeout=10).json()["edge"]
        assert edge["tlsReloadFailures"] == 2 and edge["tlsReloads"] == 0, edge
    finally:
        p.check_exit()
    log = open(p.log_path).read()
    assert "is not the key of the certificate" in log, log


def test_plain_http_to_the_tls_port_fails_cleanly_and_https_goes_on(tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make_cert(cert, key, "polis-plain")
    p = start_tls(tmp_path, monkeypatch, cert, key)
    try:
        for _ in range(5):
            out = raw_exchange(p.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" not in out and b'"ok"' not in out
        with pytest_raises_request_error():
            requests.get(f"http://127.0.0.1:{p.port}/health", timeout=10)
        assert requests.get(p.url + "/health", verify=str(cert), timeout=10).status_code == 200
    finally:
        p.check_exit()


def test_tls_with_a_bad_certificate_refuses_to_start(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("garbage")
    key.write_text("garbage")
    proc = run_briefly(["--listen", f"127.0.0.1:{free_port()}", "--tls-cert", str(cert),
                        "--tls-key", str(key)], tmp_path)
    assert proc.returncode != 0
    assert "not a PEM certificate" in proc.stdout + proc.stderr


def raw_exchange(port, data):
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=10 * TIMEOUT_MULT)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out
            out += chunk
    except (ConnectionResetError, socket.timeout):
        return out
    finally:
        s.close()


def pytest_raises_request_error():
    import pytest
    return pytest.raises(requests.RequestException)
