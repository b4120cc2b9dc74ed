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
