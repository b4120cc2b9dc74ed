# SPDX-License-Identifier: Apache-2.0
"""Bad input at the connection level never hangs or crashes the server: garbage bytes, stalled
uploads and abrupt disconnects leave every other client served."""
import socket
import threading
import time

import requests


def raw(polis, data, read=True, timeout=5):
    s = socket.create_connection(("127.0.0.1", polis.port), timeout=timeout)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
    s.close()
    return out


def healthy(polis):
    return requests.get(polis.url + "/health", timeout=5).status_code == 200


def test_garbage_bytes_get_an_http_error_and_the_server_lives_on(polis):
    out = raw(polis, b"\x00\xff\xfe garbage \r\n\r\n")
    assert out == b"" or out.startswith(b"HTTP/1.1 4")
    out = raw(polis, b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n")
    assert out == b"" or out.startswith(b"HTTP/1.1 ")
    assert healthy(polis)


def test_stalled_upload_does_not_block_other_clients(polis):
    s = socket.create_connection(("127.0.0.1", polis.port))
    s.sendall(b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000\r\n\r\n{\"id\": \"urn:a")
    try:
        for i in range(20):
            r = requests.post(polis.api + "/entities",
                              json={"id": f"urn:ngsi-ld:Stall:{i}", "type": "T"}, timeout=5)
            assert r.status_code == 201
    finally:
        s.close()
    assert requests.get(polis.api + "/entities/urn:a").status_code in (400, 404)


def test_clients_vanishing_mid_request_leave_no_damage(polis):
    def vanish(i):
        body = ('{"id":"urn:ngsi-ld:Vanish:%d","type":"T","a":{"type":"Property","value":1}}' % i)
        req = ("POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n%s" % (len(body), body[: len(body) // 2]))
        raw(polis, req.encode(), read=False)

    threads = [threading.Thread(target=vanish, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert healthy(polis)
    # Half a body was never a request: nothing was created.
    for i in range(32):
        assert requests.get(polis.api + f"/entities/urn:ngsi-ld:Vanish:{i}").status_code == 404


def test_many_keep_alive_requests_on_one_connection(polis):
    s = requests.Session()
    for i in range(200):
        r = s.post(polis.api + "/entities", json={"id": f"urn:ngsi-ld:KA:{i}", "type": "T"})
        assert r.status_code == 201
        assert s.get(polis.api + f"/entities/urn:ngsi-ld:KA:{i}").status_code == 200
