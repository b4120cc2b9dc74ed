# SPDX-License-Identifier: Apache-2.0
"""The edge (issue 12, docs/security.md "The edge: safe by default"): without auth Polis listens
on loopback only and refuses a non-loopback address unless --insecure; TLS with reload on SIGHUP;
rate limits per principal and per address (429 + Retry-After); connections per address; header
and body deadlines against slow clients. Every server here listens on loopback: a non-loopback
address is only ever given to check that Polis refuses to start."""
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
    p = Polis(tmp_path).start()
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
    p = Polis(tmp_path, ["--rate-limit-addr", "1", "--rate-burst-addr", "3"]).start()
    try:
        # (127.0.0.4: a client of its own; the start-up health checks came from 127.0.0.1)
        statuses, h, b = burst_until_429("127.0.0.4", p)
        assert statuses[:3] == [200, 200, 200], statuses
        assert statuses[-1] == 429, statuses
        assert_429(429, h, b)
        # another client address has its own bucket
        st, _, body = get_from("127.0.0.2", p)
        assert st == 200, body
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
    held = []
    try:
        for _ in range(4):
            held.append(socket.create_connection(("127.0.0.1", p.port), timeout=10))
        time.sleep(0.2 * TIMEOUT_MULT)  # let the server accept them (not a timing assertion)
        extra = socket.create_connection(("127.0.0.1", p.port), timeout=10)
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
        s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
        out = request_on(s)
        s.close()
        if out.startswith(b"HTTP/1.1 200"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the address was not served again after closing its connections")
    p.check_exit()
