#!/usr/bin/env python3
"""End-to-end jobs per minute with 1, 2 and 3 worker hosts (README "Many machines").

Each round: a fresh PostgreSQL cluster, one API-only serve and N `podpromo worker` hosts (one job at a time each), each
in a network namespace of its own, sharing one storage root, with the durability test's instant fake Whisper (so a job
is decode, scoring and one clip's render: short jobs). JOBS episodes are uploaded at once; the clock runs from the
first upload to the last job's end. Printed: jobs per minute per round, and each round's ratio to the one-host round
(the reference run of the same go) with the scaling efficiency (ratio / N).

Usage: bench/hosts.py [build/podpromo] [JOBS]   (root: namespaces; about 3 minutes on 2 cores)
"""
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "durability"))
import run as d  # noqa: E402  (the durability test's hosts, network, database and fake Whisper)


def round_with(workers, binary, source, jobs):
    work = pathlib.Path(tempfile.mkdtemp(prefix="podpromo-bench-hosts."))
    r = d.Run(binary, source, work)
    try:
        r.setup()
        serve = d.Host("serve", r.net, 1, binary, r.env(1), ["serve", "--data-dir", str(r.root)], r.logs)
        serve.start()
        r.hosts["serve"] = serve
        made = d.run("env", f"DATABASE_URL={r.pg.psql_url}", binary, "key", "create", "--user", "admin", "--scopes",
                     "read,write,render,admin", "--name", "bench", "--data-dir", str(r.root))
        api = d.Api(d.Network.inner(1), 8080, made.stdout.splitlines()[0])
        for k in range(workers):
            i = 3 + k
            h = d.Host(f"worker-{k + 1}", r.net, i, binary, r.env(i), ["worker", "--data-dir", str(r.root)], r.logs)
            h.start()
            r.hosts[h.name] = h
        wav = r.episode_audio()
        began = time.monotonic()
        for n in range(jobs):
            api.upload(wav, f"bench {n}.wav", {"clips": "1"})
        d.wait_for("every job to end", r.all_ended, 900, 0.25)
        seconds = time.monotonic() - began
        states = r.pg.sql("SELECT state, count(*) FROM jobs GROUP BY state")
        if states != [["succeeded", str(jobs)]]:
            d.fail(f"with {workers} workers the jobs ended {states}")
        return jobs * 60.0 / seconds
    finally:
        r.close()


def main():
    if os.geteuid() != 0:
        print("bench/hosts.py needs root (network namespaces)")
        return 1
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/podpromo")
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    source = pathlib.Path(__file__).resolve().parent.parent
    d.DEADLINE = 3600
    rates = {}
    for workers in (1, 2, 3):
        rates[workers] = round_with(workers, binary, source, jobs)
        d.log(f"{workers} worker host(s): {rates[workers]:.1f} jobs/min")
    print(f"\nend-to-end, {jobs} short jobs (upload, fake Whisper, score, one rendered clip), {os.cpu_count()} cores:")
    for workers, rate in rates.items():
        ratio = rate / rates[1]
        print(f"  {workers} worker host(s): {rate:6.1f} jobs/min   {ratio:.2f}x one host   "
              f"scaling efficiency {ratio / workers:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
