# SPDX-License-Identifier: Apache-2.0
"""Issue 12, outbound guard (docs/security.md "Outbound calls"): every remote @context download
and every notification endpoint goes through one guard. Schemes other than http(s) (mqtt(s) for
notifications) are refused, the RESOLVED address of every connection and redirect hop is
checked against the deny/allow lists, at most 3 redirects are followed, and a huge or
never-ending document is cut at its limit; a refused context is never cached.

Only loopback is used: 127.0.0.5 plays the denied network (--outbound-deny 127.0.0.5/32), and a
broker denying 127.0.0.1/32 and ::1/128 shows that a host NAME is judged by the address it
resolves to at connect time (localhost). The default link-local, metadata and private lists are
tested on the pure matcher only (tests/unit/net/test_guard.c): no connection to them is tried."""
import http.server
import json
import socket
import threading
import time
import uuid

import pytest
import requests

from conftest import Polis, NotifyReceiver, assert_problem, link, wait_until

DENIED = "127.0.0.5"
MAX_CTX = 65536


class Server:
    """Serves @context documents on one loopback address; counts every request.
    /hop/N redirects to /hop/N-1 (/hop/0 serves a context); /to?URL redirects to URL;
    /huge sends more than MAX_CTX bytes (with Content-Length), /huge-chunked the same without
    one; /forever streams a document that never ends; docs[path] serves a document."""

    def __init__(self, host):
        self.host = host
        self.docs = {}
        self.hits = {}
        self.lock = threading.Lock()
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = self.path
                with srv.lock:
                    srv.hits[path] = srv.hits.get(path, 0) + 1
                if path in srv.docs:
                    self.reply(200, json.dumps(srv.docs[path]).encode(),
                               [("Content-Type", "application/ld+json")])
                elif path.startswith("/hop/"):
                    n = int(path.split("/")[2])
                    if n == 0:
                        self.reply(200, json.dumps({"@context": {"hopped": "urn:x:hopped"}})
                                   .encode(), [("Content-Type", "application/ld+json")])
                    else:
                        self.reply(302, b"", [("Location", f"/hop/{n - 1}")])
                elif path.startswith("/to?"):
                    self.reply(302, b"", [("Location", path[4:])])
                elif path == "/huge":
                    body = b'{"@context": {"a": "' + b"x" * (4 * MAX_CTX) + b'"}}'
                    self.reply(200, body, [("Content-Type", "application/ld+json")])
                elif path == "/huge-chunked":
                    self.stream(lambda i: i < 64, b"x" * 8192)
                elif path == "/forever":
                    self.stream(lambda i: True, b" " * 256, pause=0.05)
                else:
                    self.reply(404)

            def stream(self, more, chunk, pause=0.0):
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    first = b'{"@context": {"a": "'
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
                    i = 0
                    deadline = time.time() + 30
                    while more(i) and time.time() < deadline:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        i += 1
                        if pause:
                            time.sleep(pause)
                    end = b'"}}'
                    self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(end), end))
                except OSError:
                    pass  # the broker cut the download: what the test wants
                self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer((host, 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://{self.host}:{self.port}{path}"

    def count(self, path):
        with self.lock:
            return self.hits.get(path, 0)

    def total(self):
        with self.lock:
            return sum(self.hits.values())

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    p = Polis(tmp_path_factory.mktemp("outbound"),
              ["--outbound-deny", f"{DENIED}/32", "--max-context-bytes", str(MAX_CTX)]).start()
    yield p
    p.check_exit()


@pytest.fixture(scope="module")
def allowed_srv():
    s = Server("127.0.0.1")
    yield s
    s.close()


@pytest.fixture(scope="module")
def denied_srv():
    s = Server(DENIED)
    yield s
    s.close()


def get_with_context(p, url):
    return requests.get(p.api + "/entities/urn:ngsi-ld:T:x", headers={"Link": link(url)},
                        timeout=30)


def refused_by_guard(r, *words):
    body = assert_problem(r, 504, "LdContextNotAvailable")
    assert "outbound guard" in body["detail"], body
    for w in words:
        assert w in body["detail"], body
    return body


def cached_urls(p):
    r = requests.get(p.api + "/jsonldContexts", params={"details": "true"})
    assert r.status_code == 200, r.text
    return {d["URL"] for d in r.json()}


def uid():
    return "urn:ngsi-ld:T:" + uuid.uuid4().hex


# ---- @context downloads ------------------------------------------------------------------------

def test_context_on_denied_address_is_refused_without_connecting(guarded, denied_srv):
    denied_srv.docs["/ctx.jsonld"] = {"@context": {"x": "urn:x:"}}
    url = denied_srv.url("/ctx.jsonld")
    refused_by_guard(get_with_context(guarded, url), DENIED, "--outbound-deny")
    # also as the body @context of a write
    r = requests.post(guarded.api + "/entities", json={"id": uid(), "type": "T",
                                                       "@context": url},
                      headers={"Content-Type": "application/ld+json"})
    refused_by_guard(r, DENIED)
    assert denied_srv.total() == 0
    assert url not in cached_urls(guarded)


@pytest.mark.parametrize("url", ["file:///etc/hostname", "ftp://127.0.0.1:21/ctx.jsonld",
                                 "gopher://127.0.0.1:70/_ctx", "dict://127.0.0.1:2628/d:x"])
def test_context_url_with_other_scheme_is_refused(guarded, url):
    body = refused_by_guard(get_with_context(guarded, url), "scheme")
    assert url.split(":")[0] in body["detail"]
    assert url not in cached_urls(guarded)


def test_redirect_from_allowed_to_denied_address_is_refused(guarded, allowed_srv, denied_srv):
    denied_srv.docs["/target.jsonld"] = {"@context": {"x": "urn:x:"}}
    before = denied_srv.total()
    url = allowed_srv.url("/to?" + denied_srv.url("/target.jsonld"))
    refused_by_guard(get_with_context(guarded, url), DENIED)
    assert allowed_srv.count(url[url.index("/to?"):]) == 1
    assert denied_srv.total() == before  # the hop to the denied address was never connected
    assert url not in cached_urls(guarded)


def test_redirect_to_other_scheme_is_refused(guarded, allowed_srv):
    url = allowed_srv.url("/to?file:///etc/hostname")
    refused_by_guard(get_with_context(guarded, url), "redirect")


def test_at_most_three_redirects_are_followed(guarded, allowed_srv):
    ok = get_with_context(guarded, allowed_srv.url("/hop/3"))
    assert ok.status_code in (200, 404), ok.text  # the context resolved: the entity is unknown
    assert ok.status_code == 404 and ok.json()["type"].endswith("ResourceNotFound"), ok.text
    url = allowed_srv.url("/hop/4")
    refused_by_guard(get_with_context(guarded, url), "more than 3 redirects")
    assert url not in cached_urls(guarded)


@pytest.mark.parametrize("path", ["/huge", "/huge-chunked"])
def test_huge_context_is_cut_refused_and_not_cached(guarded, allowed_srv, path):
    url = allowed_srv.url(path)
    body = assert_problem(get_with_context(guarded, url), 504, "LdContextNotAvailable")
    assert f"larger than {MAX_CTX} bytes" in body["detail"], body
    assert url not in cached_urls(guarded)
    # the cause lifted (the document is small now): the next request downloads it again
    hits = allowed_srv.count(path)
    allowed_srv.docs[path] = {"@context": {"small": "urn:x:small"}}
    try:
        r = get_with_context(guarded, url)
        assert r.status_code == 404, r.text  # resolved; the entity does not exist
        assert allowed_srv.count(path) == hits + 1
        assert url in cached_urls(guarded)
    finally:
        del allowed_srv.docs[path]


def test_never_ending_context_is_cut_refused_and_not_cached(guarded, allowed_srv):
    url = allowed_srv.url("/forever")
    body = assert_problem(get_with_context(guarded, url), 504, "LdContextNotAvailable")
    assert "download cut" in body["detail"], body
    assert url not in cached_urls(guarded)
    hits = allowed_srv.count("/forever")
    allowed_srv.docs["/forever"] = {"@context": {"done": "urn:x:done"}}
    try:
        assert get_with_context(guarded, url).status_code == 404
        assert allowed_srv.count("/forever") == hits + 1
    finally:
        del allowed_srv.docs["/forever"]


def test_denied_context_fetched_once_deny_is_lifted(tmp_path, denied_srv):
    """Nothing of a refused download is kept: the same URL on a broker without the deny list
    downloads and caches it."""
    denied_srv.docs["/lift.jsonld"] = {"@context": {"lifted": "urn:x:lifted"}}
    url = denied_srv.url("/lift.jsonld")
    p = Polis(tmp_path, ["--outbound-deny", f"{DENIED}/32"]).start()
    try:
        refused_by_guard(get_with_context(p, url), DENIED)
        assert denied_srv.count("/lift.jsonld") == 0
    finally:
        p.check_exit()
    p = Polis(tmp_path).start()  # same data directory, the deny list lifted
    try:
        assert url not in cached_urls(p)
        assert get_with_context(p, url).status_code == 404
        assert denied_srv.count("/lift.jsonld") == 1
        assert url in cached_urls(p)
    finally:
        p.check_exit()


def test_context_host_name_is_judged_by_its_resolved_address(tmp_path, allowed_srv):
    """localhost resolves to loopback, which this broker denies: refused at connect time,
    although the URL text names no address."""
    allowed_srv.docs["/named.jsonld"] = {"@context": {"n": "urn:x:n"}}
    p = Polis(tmp_path, ["--outbound-deny", "127.0.0.1/32,::1/128"]).start()
    try:
        url = f"http://localhost:{allowed_srv.port}/named.jsonld"
        refused_by_guard(get_with_context(p, url), "is denied by --outbound-deny")
        assert allowed_srv.count("/named.jsonld") == 0
    finally:
        p.check_exit()


def test_bad_outbound_list_refuses_to_start(tmp_path):
    p = Polis(tmp_path, ["--outbound-deny", "127.0.0.5/40"])
    with pytest.raises(RuntimeError) as e:
        p.start()
    assert "--outbound-deny" in str(e.value)


# ---- notification endpoints --------------------------------------------------------------------

def subscription(uri, etype="T"):
    return {"id": "urn:ngsi-ld:Subscription:" + uuid.uuid4().hex, "type": "Subscription",
            "entities": [{"type": etype}], "notification": {"endpoint": {"uri": uri}}}


def post_sub(p, body):
    return requests.post(p.api + "/subscriptions", json=body,
                         headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("uri", [f"http://{DENIED}:9/n", f"https://{DENIED}/n",
                                 f"http://[::ffff:{DENIED}]:9/n",
                                 f"mqtt://{DENIED}:1883/topic", f"mqtts://u:p@{DENIED}/topic"])
def test_subscription_endpoint_on_denied_address_is_400(guarded, uri):
    body = assert_problem(post_sub(guarded, subscription(uri)), 400, "BadRequestData")
    assert "outbound guard" in body["detail"] and DENIED in body["detail"], body
    assert "u:p" not in body["detail"]


@pytest.mark.parametrize("uri", ["file:///tmp/n", "ftp://127.0.0.1/n", "gopher://127.0.0.1:70/_x"])
def test_subscription_endpoint_with_other_scheme_is_400(guarded, uri):
    assert_problem(post_sub(guarded, subscription(uri)), 400, "BadRequestData")


def test_subscription_patch_to_denied_address_is_400_and_keeps_endpoint(guarded):
    body = subscription("http://127.0.0.1:9/ok")
    assert post_sub(guarded, body).status_code == 201
    url = guarded.api + "/subscriptions/" + body["id"]
    r = requests.patch(url, json={"notification": {"endpoint": {"uri": f"http://{DENIED}:9/n"}}},
                       headers={"Content-Type": "application/json"})
    problem = assert_problem(r, 400, "BadRequestData")
    assert "outbound guard" in problem["detail"]
    got = requests.get(url).json()
    assert got["notification"]["endpoint"]["uri"] == "http://127.0.0.1:9/ok"
    assert requests.delete(url).status_code == 204


def metrics_of(p, sid):
    m = requests.get(p.url + "/metrics").json()["notifications"]
    mine = [s for s in m["subscriptions"] if s["id"] == sid]
    return m, (mine[0] if mine else None)


@pytest.fixture
def loopback_denied(tmp_path):
    """A broker whose guard denies loopback (127.0.0.1 and ::1): a host name resolving to it
    passes creation (a name) and is refused at each delivery."""
    p = Polis(tmp_path, ["--outbound-deny", "127.0.0.1/32,::1/128"]).start()
    yield p
    p.check_exit()


def test_delivery_to_name_resolving_to_denied_address_fails_in_status(loopback_denied):
    p = loopback_denied
    recv = NotifyReceiver()
    try:
        etype = "T" + uuid.uuid4().hex[:8]
        body = subscription(f"http://localhost:{recv.port}/n", etype)
        assert post_sub(p, body).status_code == 201
        eid = uid()
        r = requests.post(p.api + "/entities", json={"id": eid, "type": etype,
                                                     "v": {"type": "Property", "value": 1}})
        assert r.status_code == 201, r.text
        url = p.api + "/subscriptions/" + body["id"]
        n = wait_until(lambda: requests.get(url).json()["notification"].get("lastFailure")
                       and requests.get(url).json()["notification"], msg="a failed notification")
        assert n["status"] == "failed"
        assert "lastSuccess" not in n
        m, mine = wait_until(lambda: (lambda m, s: (m, s) if s and s.get("lastError") else None)(
            *metrics_of(p, body["id"])), msg="the failure in /metrics")
        assert "outbound guard" in mine["lastError"] and "127.0.0.1" in mine["lastError"], mine
        assert m["delivery"]["refused"] >= 1
        assert recv.received("/n") == []
    finally:
        recv.close()


def test_mqtt_delivery_to_name_resolving_to_denied_address_fails(loopback_denied):
    p = loopback_denied
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    lsock.settimeout(0.1)
    try:
        etype = "T" + uuid.uuid4().hex[:8]
        body = subscription(f"mqtt://localhost:{lsock.getsockname()[1]}/guarded/topic", etype)
        assert post_sub(p, body).status_code == 201
        r = requests.post(p.api + "/entities", json={"id": uid(), "type": etype,
                                                     "v": {"type": "Property", "value": 1}})
        assert r.status_code == 201, r.text
        m, mine = wait_until(lambda: (lambda m, s: (m, s) if s and s.get("timesFailed") else None)(
            *metrics_of(p, body["id"])), timeout=20, msg="a failed MQTT notification")
        assert "outbound guard" in mine["lastError"], mine
        assert m["delivery"]["refused"] >= 1
        with pytest.raises(socket.timeout):
            lsock.accept()  # the broker's address was never connected to
    finally:
        lsock.close()
