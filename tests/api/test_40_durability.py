# SPDX-License-Identifier: Apache-2.0
"""Durability and concurrency: acknowledged writes survive kill -9; parallel PATCHes of
different attributes of one entity never lose an update; SIGTERM stops cleanly; the demo city
loads only into an empty store."""
import os
import signal
import subprocess
import threading

import requests

from conftest import BIN, ROOT, Polis


def test_acknowledged_writes_survive_kill_9(fresh_polis):
    p = fresh_polis.start()
    ids = []
    for i in range(200):
        eid = f"urn:ngsi-ld:Durable:{i}"
        r = requests.post(p.api + "/entities", json={
            "id": eid, "type": "Durable", "n": {"type": "Property", "value": i}})
        assert r.status_code == 201
        ids.append(eid)
    r = requests.patch(p.api + "/entities/urn:ngsi-ld:Durable:7/attrs",
                       json={"n": {"type": "Property", "value": 777}})
    assert r.status_code == 204
    p.proc.send_signal(signal.SIGKILL)
    p.proc.wait()
    p.log.close()
    p.start()
    for i, eid in enumerate(ids):
        r = requests.get(p.api + "/entities/" + eid)
        assert r.status_code == 200, eid
        assert r.json()["n"]["value"] == (777 if i == 7 else i)


def test_parallel_patches_of_different_attributes_lose_nothing(polis):
    api = polis.api
    eid = "urn:ngsi-ld:Concurrent:1"
    n_attrs, rounds = 16, 20
    body = {"id": eid, "type": "C"}
    body.update({f"a{i}": {"type": "Property", "value": 0} for i in range(n_attrs)})
    assert requests.post(api + "/entities", json=body).status_code == 201
    errors = []

    def worker(i):
        s = requests.Session()
        for k in range(1, rounds + 1):
            r = s.patch(f"{api}/entities/{eid}/attrs/a{i}", json={"value": k})
            if r.status_code != 204:
                errors.append(r.text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_attrs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = requests.get(api + "/entities/" + eid, params={"options": "keyValues"}).json()
    assert all(got[f"a{i}"] == rounds for i in range(n_attrs)), got


def test_parallel_appends_of_new_attributes_all_land(polis):
    api = polis.api
    eid = "urn:ngsi-ld:Concurrent:2"
    assert requests.post(api + "/entities", json={"id": eid, "type": "C"}).status_code == 201

    def worker(i):
        s = requests.Session()
        for k in range(10):
            r = s.post(f"{api}/entities/{eid}/attrs",
                       json={f"w{i}_{k}": {"type": "Property", "value": k}})
            assert r.status_code == 204

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = requests.get(api + "/entities/" + eid).json()
    assert sum(1 for k in got if k.startswith("w")) == 80


def test_sigterm_stops_cleanly_and_keeps_data(fresh_polis):
    p = fresh_polis.start()
    assert requests.post(p.api + "/entities", json={"id": "urn:a:1", "type": "T"}).status_code == 201
    assert p.stop(signal.SIGTERM) == 0
    assert "stopped cleanly" in open(p.log_path).read()
    p.start()
    assert requests.get(p.api + "/entities/urn:a:1").status_code == 200
    assert p.stop(signal.SIGINT) == 0


def test_demo_loads_only_into_empty_store(tmp_path):
    p = Polis(tmp_path, demo=True).start()
    try:
        dongsi = p.api + "/entities/urn:ngsi-ld:AirQualityObserved:Beijing-Dongsi"
        r = requests.get(dongsi)
        assert r.status_code == 200
        assert r.json()["type"] == "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
        kpi = requests.get(p.api + "/entities/urn:ngsi-ld:KeyPerformanceIndicator:kpi-2016-Ciudad-containers-faults")
        assert kpi.status_code == 200
        assert requests.delete(dongsi).status_code == 204
        p.stop()
        p.start()
        dongsi = p.api + "/entities/urn:ngsi-ld:AirQualityObserved:Beijing-Dongsi"
        # The store was not empty at the second start: the demo was not loaded again.
        assert requests.get(dongsi).status_code == 404
        log = open(p.log_path).read()
        assert "not loading the demo city" in log
        assert "WARN demo" not in log, log
    finally:
        p.stop()


def test_help_documents_every_option():
    out = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
    for opt in ("--listen", "--data", "--store", "--log-level", "--contexts", "--no-demo",
                "--max-body", "--max-depth", "--max-attrs", "--max-id-len", "POLIS_LISTEN"):
        assert opt in out
    assert subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.startswith("polis ")
    assert subprocess.run([BIN, "--bogus"], capture_output=True).returncode == 2


def test_environment_configures_the_listen_port(tmp_path):
    from conftest import free_port
    port = free_port()
    env = dict(os.environ, POLIS_LISTEN=f"127.0.0.1:{port}", POLIS_DATA=str(tmp_path),
               POLIS_NO_DEMO="1")
    proc = subprocess.Popen([BIN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time
        for _ in range(200):
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        else:
            raise AssertionError("not listening on the POLIS_LISTEN port")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
