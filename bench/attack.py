#!/usr/bin/env python3
"""A bounded attack on a fresh `podpromo serve` (127.0.0.1 only), as issue 16's bar asks.

For ATTACK_SECONDS (default 20), from SOURCES loopback addresses (127.0.0.2 ... ; default 200), at once:
  - slow request heads: connections that send one byte of a head every second (SLOW per address, default 2);
  - header floods (200 KB of headers), compressed and chunked bodies, made-up paths, Range spam;
  - event streams opened and held.
Meanwhile 127.0.0.1 asks GET /livez every 100 ms. Prints the /livez latency (median, p99, max), how many probes
failed, what the attackers were answered, the server's peak RSS and the growth of /metrics; then stops the server
(SIGTERM), starts it again on the same data directory and checks that it answers. Exits non-zero when a bar is missed:
/livez within 1 s throughout, peak RSS under 1 GB, the server up throughout and after a restart.

Usage: bench/attack.sh (builds the server first), or bench/attack.py BUILD/podpromo.
"""
import collections
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SECONDS = float(os.environ.get("ATTACK_SECONDS", "20"))
SOURCES = int(os.environ.get("SOURCES", "200"))
SLOW = int(os.environ.get("SLOW", "2"))


METRICS_TOKEN = "attack-bench-metrics-token"


def start(binary, data):
    # /metrics answers the scrape token (every other private endpoint would answer the floods 401 before the rest).
    env = dict(os.environ, METRICS_TOKEN=METRICS_TOKEN)
    proc = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", data],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(data, "..", "serve.err"), "ab"),
                            text=True, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line or "")
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
    raise SystemExit("the server did not start")


def request(port, raw, source="127.0.0.1", timeout=5.0):
    """Sends raw bytes, returns the status code of the first answer (0 when none)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as s:
            s.sendall(raw)
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            m = re.match(rb"HTTP/1\.1 (\d{3})", data)
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


def probe_livez(port, stop, latencies, failures):
    while not stop.is_set():
        t0 = time.monotonic()
        code = request(port, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5.0)
        latencies.append(time.monotonic() - t0)
        if code != 200:
            failures.append(code)
        time.sleep(0.1)


def slow_heads(port, stop, answers):
    """SLOW connections per source address, each sending one byte of a head every second."""
    sel = selectors.DefaultSelector()
    head = b"GET /api/v1/episodes HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    conns = {}

    def open_one(source):
        try:
            s = socket.socket()
            s.setblocking(False)
            s.bind((source, 0))
            s.connect_ex(("127.0.0.1", port))
            conns[s] = [source, 0]
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            answers["slow: could not connect"] += 1

    for i in range(SOURCES):
        for _ in range(SLOW):
            open_one(f"127.0.0.{2 + i % 250}")
    next_tick = time.monotonic()
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            m = re.match(rb"HTTP/1\.1 (\d{3})", data)
            answers[f"slow: {m.group(1).decode() if m else 'closed'}"] += 1
            source = conns.pop(s)[0]
            sel.unregister(s)
            s.close()
            open_one(source)  # and again, as an attacker would
        if time.monotonic() >= next_tick:
            next_tick += 1.0
            for s, state in list(conns.items()):
                try:
                    s.send(head[state[1] % len(head):state[1] % len(head) + 1])
                    state[1] += 1
                except OSError:
                    pass
    for s in conns:
        s.close()


def floods(port, stop, answers):
    """Requests that must each get a clean 4xx, from rotating source addresses."""
    kinds = {
        "header flood": lambda: b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-%d: %s\r\n" % (i, b"v" * 1900) for i in range(105)) + b"\r\n",
        "gzip body": lambda: b"POST /api/v1/episodes HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                             b"Content-Length: 10\r\n\r\n" + os.urandom(10),
        "chunked json": lambda: b"POST /api/v1/admin/cleanup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                b"\r\n5\r\nhello\r\n0\r\n\r\n",
        "made-up path": lambda: b"GET /x/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % random.getrandbits(48),
        "range spam": lambda: b"GET /api/v1/episodes HTTP/1.1\r\nHost: x\r\nRange: bytes=" + b",".join(
            b"%d-%d" % (i, i + 1) for i in range(500)) + b"\r\nConnection: close\r\n\r\n",
    }
    i = 0
    while not stop.is_set():
        for name, make in kinds.items():
            code = request(port, make(), source=f"127.0.0.{2 + i % 250}", timeout=15.0)
            answers[f"{name}: {code}"] += 1
            i += 1


def streams(port, stop, answers):
    held = []
    for i in range(min(SOURCES, 100)):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(f"127.0.0.{2 + i}", 0))
            s.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
            data = s.recv(64)
            m = re.match(rb"HTTP/1\.1 (\d{3})", data)
            answers[f"event stream: {m.group(1).decode() if m else 'closed'}"] += 1
            held.append(s)
        except OSError:
            answers["event stream: no answer"] += 1
    stop.wait()
    for s in held:
        s.close()


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def metrics_bytes(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
                  + METRICS_TOKEN.encode() + b"\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return len(data)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/podpromo"
    work = tempfile.mkdtemp(prefix="podpromo-attack-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    proc, port = start(binary, data)
    time.sleep(0.5)
    metrics_before = metrics_bytes(port)
    stop = threading.Event()
    latencies, failures = [], []
    answers = collections.Counter()
    threads = [threading.Thread(target=probe_livez, args=(port, stop, latencies, failures))]
    threads += [threading.Thread(target=f, args=(port, stop, answers)) for f in (slow_heads, floods, floods, streams)]
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join()
    alive = proc.poll() is None
    rss = peak_rss_mb(proc.pid) if alive else 0
    metrics_after = metrics_bytes(port) if alive else 0
    proc.send_signal(signal.SIGTERM)
    exit_code = proc.wait(timeout=30)
    proc2, port2 = start(binary, data)
    restarted = request(port2, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 200 and \
        request(port2, b"GET /api/v1/episodes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 200
    proc2.send_signal(signal.SIGTERM)
    proc2.wait(timeout=30)

    lat = sorted(latencies)
    ms = lambda x: f"{1000 * x:.1f} ms"
    print(f"attack: {SECONDS:.0f} s from {SOURCES} addresses ({SLOW} slow heads each), {len(lat)} /livez probes")
    print(f"/livez latency: median {ms(lat[len(lat) // 2])}, p99 {ms(lat[int(len(lat) * 0.99)])}, max {ms(lat[-1])}; "
          f"failed {len(failures)}")
    for name, n in sorted(answers.items()):
        print(f"  {name}: {n}")
    print(f"server: up throughout {alive}, exit on SIGTERM {exit_code}, peak RSS {rss:.0f} MB, "
          f"/metrics {metrics_before} -> {metrics_after} bytes, restart answers {restarted}")
    ok = alive and restarted and exit_code == 0 and not failures and lat[-1] < 1.0 and rss < 1024
    print("bars (/livez < 1 s, no failed probe, RSS < 1 GB, up, clean restart):", "met" if ok else "MISSED")
    subprocess.run(["rm", "-rf", work])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
