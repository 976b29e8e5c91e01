#!/usr/bin/env python3
"""The durability test: PodPromo on many hosts, with faults while jobs run.

Five hosts, each a network namespace of its own joined to this one by a veth pair: two `podpromo serve` (API only)
and three `podpromo worker`. PostgreSQL runs here, in the root namespace, and listens on the veth addresses; every host
shares one storage root, as an NFS mount would be shared. A fake Whisper server answers the workers at once, so the
load (uploads, renders asked for in the browser's way, a transcript import) is light enough for two cores.

While the jobs run: a worker is killed (-9) in a job; another is paused (SIGSTOP) in a job past its lease and then
woken; every database session is terminated; a worker's scratch disk fills; PostgreSQL restarts. Afterwards, in SQL
and on disk: every job ended in exactly one terminal state, within its attempts; no clip twice; no clip row without
its files and no clip file without its row; the paused worker's writes were fenced off (counted) and changed nothing;
both serves' event streams saw every job end; a clip made on one host is served by a serve on another; and when the
serve that runs the scheduled cleanup dies, the other takes the duty over.

Usage: run.py PODPROMO_BINARY SOURCE_DIR. Needs root (namespaces, mounts); exits 77 (ctest: skipped) without it.
Bounded: every wait has a deadline, and the whole run stops itself after DEADLINE seconds.
"""
import http.client
import http.server
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

DEADLINE = 420  # seconds for the whole run
LEASE = 3  # JOB_LEASE_SECONDS on every host (the faults here come far closer together than in life)
TERMINAL = {"succeeded", "failed", "cancelled"}
UPLOADS = 4  # episodes uploaded, half through each serve (with the renders and the import: 8 jobs for 3 workers)
START = time.monotonic()


def log(*args):
    print(f"[{time.monotonic() - START:6.1f}s]", *args, flush=True)


def fail(message):
    log("FAIL:", message)
    raise SystemExit(1)


def wait_for(what, predicate, seconds, every=0.2):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        value = predicate()
        if value:
            return value
        if time.monotonic() - START > DEADLINE:
            fail(f"the run passed its {DEADLINE} s deadline waiting for {what}")
        time.sleep(every)
    fail(f"timed out after {seconds} s waiting for {what}")


def run(*argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
    if check and r.returncode != 0:
        fail(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
    return r


class Network:
    """Namespaces pp<tag>-<i>, i = 1..n, each with 10.<b>.<i>.2/30 on its eth0 and this side's 10.<b>.<i>.1, where
    10.<b>.0.0/16 is a block no address of this host is in.

    A run killed before it could clean up (a CI job stopped, kill -9) leaves its namespaces and their addresses
    behind; a later run on the same block then sent its database connections into a dead namespace and waited. So each
    run first removes what dead runs left (their owner file names a process that is gone, or there is none), and
    takes a block that is free.
    """

    OWNERS = pathlib.Path("/run/podpromo-durability")
    octet = 231  # b: set by the constructor

    def __init__(self, n):
        self.OWNERS.mkdir(parents=True, exist_ok=True)
        self.tag = f"{random.randrange(16**4):04x}"
        (self.OWNERS / self.tag).write_text(str(os.getpid()))  # before any namespace: a sweep never takes a live one
        self.sweep()
        Network.octet = self.free_block()
        self.made = []
        for i in range(1, n + 1):
            ns, outer = f"pp{self.tag}-{i}", f"pp{self.tag}o{i}"
            run("ip", "netns", "add", ns)
            self.made.append((ns, outer))
            run("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
            run("ip", "addr", "add", f"{self.outer(i)}/30", "dev", outer)
            run("ip", "link", "set", outer, "up")
            run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{self.inner(i)}/30", "dev", "eth0")
            run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        log(f"hosts on 10.{self.octet}.0.0/16")

    def sweep(self):
        """Removes the namespaces, links and processes of runs whose owner is gone."""
        for ns in run("ip", "netns", "list").stdout.split():
            m = re.fullmatch(r"pp([0-9a-f]{4})-(\d+)", ns)
            if not m or self.alive(m.group(1)):
                continue
            for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            run("ip", "link", "del", f"pp{m.group(1)}o{m.group(2)}", check=False)
            run("ip", "netns", "del", ns, check=False)
            log(f"removed {ns}, left by a run that was killed")
        for owner in self.OWNERS.iterdir():
            if not self.alive(owner.name):
                owner.unlink(missing_ok=True)

    def alive(self, tag):
        try:
            os.kill(int((self.OWNERS / tag).read_text()), 0)
            return True
        except (OSError, ValueError):
            return False

    @staticmethod
    def free_block():
        used = set(int(b) for b in re.findall(r"\binet 10\.(\d+)\.", run("ip", "-4", "addr").stdout))
        used |= set(int(b) for b in re.findall(r"^10\.(\d+)\.", run("ip", "-4", "route").stdout, re.M))
        free = [b for b in range(200, 251) if b not in used]
        if not free:
            fail("no free 10.b.0.0/16 block for the hosts (200 <= b <= 250)")
        return random.choice(free)

    def ns(self, i):
        return f"pp{self.tag}-{i}"

    @staticmethod
    def inner(i):
        return f"10.{Network.octet}.{i}.2"

    @staticmethod
    def outer(i):
        return f"10.{Network.octet}.{i}.1"

    def remove(self):
        for ns, outer in self.made:
            run("ip", "link", "del", outer, check=False)
            run("ip", "netns", "del", ns, check=False)
        (self.OWNERS / self.tag).unlink(missing_ok=True)


class Postgres:
    """A throwaway cluster owned by `postgres`, listening on loopback and on the given addresses."""

    def __init__(self, work, addresses):
        bins = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bins:
            fail("no PostgreSQL under /usr/lib/postgresql (scripts/setup installs it)")
        self.bin = bins[-1]
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="podpromo-durability-pg."))
        shutil.chown(self.dir, "postgres")
        self.data = self.dir / "data"
        self.as_owner(self.bin / "initdb", "-D", self.data, "-U", "podpromo", "--auth=trust", "--no-sync", "-E", "UTF8",
                      "--locale=C")
        with open(self.data / "pg_hba.conf", "a") as f:
            f.write(f"host all all 10.{Network.octet}.0.0/16 trust\n")
        self.port = free_port()
        listen = ",".join(["127.0.0.1"] + addresses)
        self.options = (f"-h {listen} -p {self.port} -k {self.dir} -c fsync=off -c synchronous_commit=off "
                        "-c max_connections=200")
        self.as_owner(self.bin / "pg_ctl", "-D", self.data, "-l", self.dir / "server.log", "-w", "-t", "30", "start",
                      "-o", self.options)
        self.psql_url = f"postgresql://podpromo@127.0.0.1:{self.port}/podpromo"
        run("psql", f"postgresql://podpromo@127.0.0.1:{self.port}/postgres", "-qc", "CREATE DATABASE podpromo")

    @staticmethod
    def as_owner(*argv):
        return run("runuser", "-u", "postgres", "--", *[str(a) for a in argv])

    def url_from(self, i):
        return f"postgresql://podpromo@{Network.outer(i)}:{self.port}/podpromo"

    def sql(self, query):
        # (The test's own queries wait out the restart it makes.)
        for _ in range(150):
            r = run("psql", self.psql_url, "-AtX", "-F", "\t", "-c", query, check=False)
            if r.returncode == 0:
                return [line.split("\t") for line in r.stdout.splitlines() if line]
            if "connection to server" not in r.stderr:
                fail(f"psql: {query}: {r.stderr.strip()}")
            time.sleep(0.2)
        fail(f"psql could not reach the database for {query}")

    def restart(self):
        self.as_owner(self.bin / "pg_ctl", "-D", self.data, "-l", self.dir / "server.log", "-w", "-t", "30", "-m",
                      "fast", "restart", "-o", self.options)

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(self.data), "-m",
                        "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeWhisper:
    """whisper.cpp's /inference on each given address: the script's lines spread over the chunk's length, at once."""

    def __init__(self, addresses, lines):
        self.requests = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                owner.requests += 1
                seconds = max(1.0, (length - 2000) / 32000.0)  # 16 kHz mono 16-bit WAV in a multipart body
                body = json.dumps(whisper_answer(lines, seconds)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.servers = [http.server.ThreadingHTTPServer((a, 0), Handler) for a in addresses]
        for s in self.servers:
            threading.Thread(target=s.serve_forever, daemon=True).start()

    def url(self, i):
        return f"http://{Network.outer(i)}:{self.servers[i - 3].server_address[1]}"

    def stop(self):
        for s in self.servers:
            s.shutdown()


def whisper_answer(lines, seconds):
    words = [w for line in lines for w in line.split()]
    step = seconds / (len(words) + 1)
    out, segments, t, k = [], [], 0.0, 0
    for line in lines:
        seg_words = []
        for w in line.split():
            seg_words.append({"word": " " + w, "start": round(t, 3), "end": round(t + step * 0.9, 3)})
            t += step
            k += 1
        if not seg_words or seg_words[-1]["end"] > seconds:
            break
        segments.append({"start": seg_words[0]["start"], "end": seg_words[-1]["end"], "text": line,
                         "words": seg_words})
        out.extend(seg_words)
    return {"text": " ".join(s["text"] for s in segments), "segments": segments}


class Host:
    """One podpromo process in namespace `i`."""

    def __init__(self, name, net, i, binary, env, argv, logs, scratch_mb=0, work=None):
        self.name, self.i, self.binary, self.env, self.argv = name, i, binary, env, argv
        self.net, self.scratch_mb, self.work, self.log_dir = net, scratch_mb, work, logs
        self.proc = None
        self.logs = []

    def start(self):
        command = ["env"] + [f"{k}={v}" for k, v in self.env.items()] + [self.binary] + self.argv
        if self.scratch_mb:
            # A scratch disk of its own: in a mount namespace of its own, a small tmpfs over the shared work folder.
            script = (f'mount -t tmpfs -o size={self.scratch_mb}m tmpfs "{self.work}" && exec "$@"')
            command = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] + command
        log_path = self.log_dir / f"{self.name}.{len(self.logs)}.log"
        self.logs.append(log_path)
        out = open(log_path, "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.net.ns(self.i)] + command, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(f"{self.name} to start", lambda: "PodPromo" in log_path.read_text() or self.proc.poll() is not None,
                 60)
        if self.proc.poll() is not None:
            fail(f"{self.name} exited at start:\n{log_path.read_text()}")
        log(f"{self.name} started (pid {self.proc.pid}) in {self.net.ns(self.i)}")

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self):
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


class Api:
    def __init__(self, address, port, key):
        self.address, self.port, self.key = address, port, key

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection(self.address, self.port, timeout=timeout)
        h = {"Authorization": f"Bearer {self.key}"}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def json(self, method, path, body=None, expect=(200,)):
        payload = json.dumps(body).encode() if body is not None else None
        status, data = self.request(method, path, payload, {"Content-Type": "application/json"})
        if status not in expect:
            fail(f"{method} {path} answered {status}: {data[:300]!r}")
        return json.loads(data)

    @staticmethod
    def multipart(wav, filename, fields):
        """(body, headers) of a multipart upload."""
        boundary = uuid.uuid4().hex
        parts = []
        for k, v in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: audio/wav\r\n\r\n".encode() + wav + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def upload(self, wav, filename, fields):
        status, data = self.request("POST", "/api/v1/episodes", *self.multipart(wav, filename, fields), timeout=60)
        if status != 202:
            fail(f"upload of {filename} answered {status}: {data[:300]!r}")
        return json.loads(data)


class EventStream(threading.Thread):
    """Reads a serve's /api/v1/events; keeps the terminal state seen for each job."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api, self.ended, self.connected, self.stop = api, {}, threading.Event(), False

    def run(self):
        c = http.client.HTTPConnection(self.api.address, self.api.port, timeout=600)
        c.request("GET", "/api/v1/events", headers={"Authorization": f"Bearer {self.api.key}"})
        r = c.getresponse()
        self.connected.set()
        buffer = b""
        while not self.stop:
            try:
                chunk = r.read1(65536)
            except (OSError, http.client.HTTPException):
                chunk = b""  # the serve went away (the takeover check kills one)
            if not chunk:
                return
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                for line in block.split(b"\n"):
                    if line.startswith(b"data: "):
                        e = json.loads(line[6:])
                        if e.get("type") == "job" and e.get("state") in TERMINAL:
                            self.ended.setdefault(e["job_id"], set()).add(e["state"])


def metric(text, name):
    """The sum of every series of `name` in a Prometheus text page."""
    total = 0.0
    for line in text.splitlines():
        if re.match(rf"{name}(\{{|\s)", line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def scrape(address, port, token):
    req = urllib.request.Request(f"http://{address}:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


class Run:
    def __init__(self, binary, source, work):
        self.binary, self.source, self.work = binary, pathlib.Path(source), pathlib.Path(work)
        self.root = self.work / "shared"  # the storage root every host mounts
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True)
        self.token = uuid.uuid4().hex  # METRICS_TOKEN
        self.hosts, self.net, self.pg, self.whisper = {}, None, None, None  # (close() takes down what was made)

    def setup(self):
        self.net = Network(5)  # 1, 2: serves; 3, 4, 5: workers
        self.pg = Postgres(self.work, [Network.outer(i) for i in range(1, 6)])
        script = [line.split("\t")[3] for line in (self.source / "tests/data/business_interview.tsv").read_text()
                  .splitlines() if line and not line.startswith("#")]
        self.script = script
        self.whisper = FakeWhisper([Network.outer(i) for i in (3, 4, 5)], script)
        self.jobs = {}  # job id -> what it is

    def env(self, i):
        e = {"DATABASE_URL": self.pg.url_from(i), "JOB_LEASE_SECONDS": str(LEASE), "METRICS_TOKEN": self.token,
             "LOG_LEVEL": "info", "HOST": "0.0.0.0", "PORT": "8080", "ASR_ENGINE": "whisper-server",
             "MAX_CONCURRENT_JOBS": "1", "CLEANUP_INTERVAL_HOURS": "24", "RATE_LIMIT_REQUESTS": "0",
             "JOB_MAX_ATTEMPTS": "5"}
        if i >= 3:
            e["ASR_URL"] = self.whisper.url(i)
            e["DATABASE_POOL_SIZE"] = "4"  # the smallest allowed: a worker of one job needs no more
        else:
            e["MAX_CONCURRENT_JOBS"] = "0"  # API-only serves
            e["ASR_URL"] = "http://127.0.0.1:9"  # (serves run no jobs)
        return e

    def start_hosts(self):
        for i, name in ((1, "serve-a"), (2, "serve-b")):
            self.hosts[name] = Host(name, self.net, i, self.binary, self.env(i),
                                    ["serve", "--data-dir", str(self.root)], self.logs)
            self.hosts[name].start()
        made = run("env", f"DATABASE_URL={self.pg.psql_url}", self.binary, "key", "create", "--user", "admin",
                   "--scopes", "read,write,render,admin", "--name", "durability", "--data-dir", str(self.root))
        self.key = made.stdout.splitlines()[0]
        self.api = {"a": Api(Network.inner(1), 8080, self.key), "b": Api(Network.inner(2), 8080, self.key)}
        for i, name in ((3, "worker-1"), (4, "worker-2"), (5, "worker-3")):
            self.hosts[name] = Host(name, self.net, i, self.binary, self.env(i),
                                    ["worker", "--data-dir", str(self.root), "--status-host", "0.0.0.0"], self.logs,
                                    scratch_mb=24 if name == "worker-3" else 0, work=self.root / "work")
            self.hosts[name].start()

    def episode_audio(self):
        wav = self.work / "episode.wav"
        text = " ".join(self.script[:10])
        run("flite", "-t", text, "-o", str(self.work / "flite.wav"))
        run("ffmpeg", "-v", "error", "-y", "-i", str(self.work / "flite.wav"), "-ar", "16000", "-ac", "1", str(wav))
        return wav.read_bytes()

    def running_on(self, host):
        """A job running under `host`'s current process, or None."""
        pid = self.hosts[host].proc.pid
        rows = self.pg.sql("SELECT id, lease_epoch FROM jobs WHERE state = 'running' AND lease_owner LIKE "
                           f"'%:{pid}:%'")
        return rows[0] if rows else None

    def load(self):
        wav = self.episode_audio()
        for n in range(UPLOADS):
            side = "ab"[n % 2]
            up = self.api[side].upload(wav, f"episode {n} of the durability run.wav", {"clips": "1"})
            self.jobs[up["job"]["id"]] = f"process episode {n} via serve-{side}"
            self.episodes = getattr(self, "episodes", []) + [up["episode"]["id"]]
        log(f"{UPLOADS} episodes uploaded, {UPLOADS // 2} through each serve")
        # The first upload sent again through the other serve (a client that never saw the answer): the same episode.
        status, data = self.api["b"].request("POST", "/api/v1/episodes", *Api.multipart(
            wav, "episode 0 of the durability run.wav", {"clips": "1"}), timeout=60)
        again = json.loads(data) if status == 200 else {}
        if not again.get("repeated") or again["episode"]["id"] != self.episodes[0]:
            fail(f"the re-sent upload answered {status}: {data[:300]!r}")
        log("the first upload, sent again through serve-b, is the same episode")

    def more_load(self):
        """Once an episode is ready: renders of chosen spans through the other serve, and a transcript import."""
        ready = wait_for("a ready episode", lambda: self.pg.sql(
            "SELECT id, owner_id FROM episodes WHERE status = 'ready' ORDER BY created_at LIMIT 1"), 120)
        episode = ready[0][0]
        for k, (start, end) in enumerate(((0.5, 14.5), (10.0, 25.0), (20.0, 36.0))):
            r = self.api["b" if k % 2 == 0 else "a"].json("POST", f"/api/v1/episodes/{episode}/clips",
                                                           {"start": start, "end": end}, expect=(202,))
            self.jobs[r["job"]["id"]] = f"render {start}-{end} of {episode}"
        srt = "".join(f"{k + 1}\n00:00:{2 * k:02d},000 --> 00:00:{2 * k + 2:02d},000\n{line}\n\n"
                      for k, line in enumerate(self.script[:12]))
        second = wait_for("a second ready episode", lambda: self.pg.sql(
            f"SELECT id FROM episodes WHERE status = 'ready' AND id <> '{episode}' LIMIT 1"), 120)[0][0]
        status, data = self.api["a"].request("PUT", f"/api/v1/episodes/{second}/transcript", srt.encode(),
                                             {"Content-Type": "application/x-subrip"})
        if status != 202:
            fail(f"transcript import answered {status}: {data[:300]!r}")
        self.jobs[json.loads(data)["job"]["id"]] = f"transcript import of {second}"
        log("3 renders and a transcript import asked for")

    def faults(self):
        # 1. kill -9 a worker in the middle of a job; it comes back a little later, as a restarted host would.
        killed = wait_for("worker-1 to run a job", lambda: self.running_on("worker-1"), 90, 0.05)
        self.hosts["worker-1"].kill()
        log(f"worker-1 killed (-9) while running {killed[0]}")
        self.faults_seen = {"killed_job": killed[0]}
        # 2. SIGSTOP a worker in a job until its lease passes to another, then SIGCONT.
        paused = wait_for("worker-2 to run a job", lambda: self.running_on("worker-2"), 90, 0.05)
        self.hosts["worker-2"].signal(signal.SIGSTOP)
        log(f"worker-2 paused while running {paused[0]} (epoch {paused[1]})")
        wait_for("the paused job's lease to pass on", lambda: self.pg.sql(
            f"SELECT 1 FROM jobs WHERE id = '{paused[0]}' AND (lease_epoch > {paused[1]} OR state <> 'running')"),
                 LEASE * 10)
        time.sleep(0.5)
        self.hosts["worker-2"].signal(signal.SIGCONT)
        log("worker-2 woken after its lease passed on")
        self.faults_seen["paused_job"] = paused[0]
        self.hosts["worker-1"].start()
        # 3. Every database session of every host is terminated.
        gone = self.pg.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'podpromo'"
                           " AND pid <> pg_backend_pid()")
        log(f"{gone[0][0]} database sessions terminated")
        # 4. worker-3's scratch disk fills for a few seconds.
        filler = pathlib.Path(f"/proc/{self.hosts['worker-3'].proc.pid}/root") / str(self.root / "work").lstrip("/") \
            / "filler"
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"f" * (1 << 20))
                    f.flush()
            except OSError:
                pass
        log("worker-3's scratch disk is full")
        time.sleep(4)
        filler.unlink()
        log("worker-3's scratch disk has room again")
        # 5. PostgreSQL restarts.
        self.pg.restart()
        log("PostgreSQL restarted")

    def all_ended(self):
        rows = self.pg.sql("SELECT count(*) FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled')")
        return rows and rows[0][0] == "0"

    def check(self):
        failures = []

        def expect(ok, message):
            if not ok:
                failures.append(message)
                log("  not so:", message)

        jobs = self.pg.sql("SELECT id, kind, state, attempts, max_attempts, coalesce(error, '') FROM jobs")
        log(f"{len(jobs)} jobs: " + ", ".join(f"{j[0]} {j[1]} {j[2]} ({j[3]}/{j[4]}) {j[5][:60]}" for j in jobs))
        expect(len(jobs) == len(self.jobs), f"{len(jobs)} jobs in the database, {len(self.jobs)} asked for")
        for j in jobs:
            expect(j[2] in TERMINAL, f"job {j[0]} ended {j[2]}")
            expect(int(j[3]) <= int(j[4]), f"job {j[0]} ran {j[3]} times of {j[4]}")
            if j[2] == "failed":
                expect("space" in j[5], f"job {j[0]} failed for another reason than the full scratch disk: {j[5]}")
        succeeded = sum(1 for j in jobs if j[2] == "succeeded")
        expect(succeeded >= len(jobs) - 2, f"only {succeeded} of {len(jobs)} jobs succeeded")
        for k in ("killed_job", "paused_job"):
            state = [j[2] for j in jobs if j[0] == self.faults_seen[k]]
            expect(state == ["succeeded"], f"the {k.replace('_', ' ')} ended {state}, not succeeded elsewhere")

        clips = self.pg.sql("SELECT id, episode_id, start_time, end_time, platform, file_path FROM clips")
        spans = [(c[1], c[2], c[3], c[4]) for c in clips]
        expect(len(spans) == len(set(spans)), "a clip is there twice: " + str(sorted(spans)))
        referenced = set()
        for c in clips:
            for rel in json.loads(c[5]).values():
                referenced.add(os.path.normpath(rel))
                expect((self.root / rel).is_file(), f"clip {c[0]}'s file {rel} is missing")
        clip_ids = {c[0] for c in clips}
        for f in (self.root / "episodes").rglob("*"):
            rel = os.path.normpath(str(f.relative_to(self.root)))
            expect(".podpromo-partial-" not in rel, f"a half-made output was left: {rel}")
            stem = f.name.split(".")[0]
            if f.is_file() and stem.startswith("clip_") and stem not in clip_ids:
                expect(rel in referenced, f"{rel} has no clip row")
        leftovers = [p.name for p in (self.root / "work").iterdir()] if (self.root / "work").exists() else []
        log(f"{len(clips)} clips; scratch files left in the shared work folder: {leftovers}")

        for name, stream in self.streams.items():
            missing = [j[0] for j in jobs if j[0] not in stream.ended]
            expect(not missing, f"serve-{name}'s event stream never saw these jobs end: {missing}")
            twice = {k: v for k, v in stream.ended.items() if len(v) > 1}
            expect(not twice, f"serve-{name}'s event stream saw jobs end two ways: {twice}")

        w2 = scrape(Network.inner(4), 9464, self.token)
        fenced = metric(w2, "podpromo_fenced_writes_total")
        log(f"worker-2 counted {fenced:.0f} fenced-out writes")
        expect(fenced >= 1, "worker-2 woke after its lease passed on, and counted no fenced-out write")
        # (Whichever process's lease keeper saw the lease run out rescued the job: a serve's counts too.)
        rescues = sum(metric(scrape(Network.inner(i), 8080 if i <= 2 else 9464, self.token),
                             "podpromo_job_rescues_total") for i in (1, 2, 3, 4, 5))
        log(f"the hosts counted {rescues:.0f} rescues")
        expect(rescues >= 1, "no host counted the rescue of the killed or the paused worker's job")

        # A clip made on a worker host is served by each serve.
        done = [c for c in clips if json.loads(c[5]).get("audio")]
        expect(bool(done), "no clip with an audio file")
        if done:
            for side in "ab":
                status, body = self.api[side].request("GET", f"/api/v1/clips/{done[0][0]}/media/audio")
                expect(status == 200 and len(body) > 1000, f"serve-{side} answered {status} for a worker's clip")
        return failures

    def housekeeper_takeover(self):
        failures = []
        leaders = lambda: [n for n, i in (("serve-a", 1), ("serve-b", 2)) if self.hosts[n].proc.poll() is None and
                           metric(scrape(Network.inner(i), 8080, self.token), "podpromo_housekeeper_leader") == 1]
        first = wait_for("one serve to hold the housekeeper's lease", lambda: leaders() if len(leaders()) == 1
                         else None, 10)
        log(f"{first[0]} runs the scheduled cleanup; killing it (-9)")
        self.hosts[first[0]].kill()
        second = wait_for("the other serve to take the cleanup over", leaders, LEASE * 5)
        log(f"{second[0]} took the scheduled cleanup over")
        if second == first:
            failures.append("the dead serve still leads")
        return failures

    def go(self):
        self.start_hosts()
        self.streams = {k: EventStream(v) for k, v in self.api.items()}
        for s in self.streams.values():
            s.start()
            s.connected.wait(10)
        self.load()
        faults = threading.Thread(target=self.faults)
        faults.start()
        self.more_load()
        faults.join()
        wait_for("every job to end", self.all_ended, 300, 0.5)
        log("every job has ended")
        time.sleep(1)  # the last events on their way
        failures = self.check()
        failures += self.housekeeper_takeover()
        return failures

    def close(self):
        for h in self.hosts.values():
            h.stop()
        for part in (self.whisper, self.pg):
            if part is not None:
                part.stop()
        if self.net is not None:
            self.net.remove()


def main():
    if os.geteuid() != 0:
        print("durability: skipped: network namespaces and mounts need root")
        return 77
    binary, source = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="podpromo-durability.")
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(SystemExit("the run passed its deadline")))
    signal.alarm(DEADLINE + 60)
    r, failures = None, ["the run stopped early"]
    try:
        r = Run(binary, source, work)
        r.setup()
        failures = r.go()
    finally:
        if r is not None:
            if os.environ.get("DURABILITY_KEEP"):
                log(f"logs kept in {r.logs}")
            r.close()
        if failures:  # (a failed wait ends the run early, with failures still as set above: its logs are shown too)
            show_logs(work)
    if failures:
        log(f"{len(failures)} checks failed; the hosts' logs are in {work}/logs")
        return 1
    if not os.environ.get("DURABILITY_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    log("every check passed")
    return 0


def show_logs(work):
    for path in sorted((pathlib.Path(work) / "logs").glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        print(f"--- the last lines of {path.name}:\n" + "\n".join(lines[-25:]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
