# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the API tests: a real `polis` (POLIS_BIN, default build/polis) started on a free
loopback port with a temporary data directory, and a small HTTP server that serves @context
documents (and misbehaves on purpose) for the remote-context tests."""
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
