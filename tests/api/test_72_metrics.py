"""GET /metrics: operational counters, and the cause of a subscription's last delivery failure,
which issue 4 wants in the log and metrics but not in the NGSI-LD representation (5.2.12)."""
import requests

from conftest import free_port, wait_until


def test_metrics_show_the_last_delivery_error_outside_the_subscription(api, polis):
    dead = f"http://127.0.0.1:{free_port()}/dead"  # nothing listens there
    sub = {"type": "Subscription", "entities": [{"type": "MetricsProbe"}],
           "notification": {"endpoint": {"uri": dead}}}
    r = requests.post(api + "/subscriptions", json=sub)
    assert r.status_code == 201, r.text
    sid = r.headers["Location"].rsplit("/", 1)[1]
    r = requests.post(api + "/entities", json={"id": "urn:ngsi-ld:MetricsProbe:1",
                                              "type": "MetricsProbe",
                                              "v": {"type": "Property", "value": 1}})
    assert r.status_code == 201, r.text

    def failed():
        m = requests.get(polis.url + "/metrics").json()
        for s in m["notifications"]["subscriptions"]:
            if s["id"].endswith(sid) and s["timesFailed"] >= 1 and s.get("lastError"):
                return s
        return None
    s = wait_until(failed, timeout=60, msg="a failed delivery in /metrics")
    assert s["tenant"] == ""
    m = requests.get(polis.url + "/metrics").json()
    assert m["store"]["commits"] >= 1 and m["notifications"]["changes"] >= 1
    got = requests.get(api + "/subscriptions/" + requests.utils.quote(
        requests.utils.unquote(sid), safe="")).json()
    assert got["notification"]["timesFailed"] >= 1
    assert "lastError" not in got and "lastError" not in got["notification"]
    # the counters reach the store within a flush interval (2 s), and /metrics says so
    wait_until(lambda: any(x["id"].endswith(sid) and x["statusSaved"] for x in requests.get(
        polis.url + "/metrics").json()["notifications"]["subscriptions"]), timeout=10,
        msg="statusSaved")
    m = requests.get(polis.url + "/metrics").json()["notifications"]
    assert m["statusWrites"] >= 1 and m["statusWriteFailures"] == 0
    requests.delete(api + "/subscriptions/" + sid)
