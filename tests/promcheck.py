#!/usr/bin/python3
"""Checks a Prometheus text exposition (a file, or stdin) the way a scraper reads it.

Parses it with prometheus_client's parser (Debian's python3-prometheus-client) and checks the naming
conventions: snake_case names, a TYPE for every family, counters named *_total, histograms with ascending
cumulative buckets ending in +Inf equal to _count, base units in names (seconds, bytes, ratio), no duplicate
samples. Prints the samples as JSON ({"name{label=value,...}": value}) on success; exits 1 with the
problems otherwise.
"""
import json
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
problems = []
samples = {}
name_re = re.compile(r"^[a-z_][a-z0-9_]*$")
declared = set(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
declared_names = {n for n, _ in declared}

try:
    families = list(text_string_to_metric_families(text))
except Exception as e:  # the parser refuses malformed text
    print(f"unparseable: {e}", file=sys.stderr)
    sys.exit(1)

for fam in families:
    if not name_re.match(fam.name):
        problems.append(f"{fam.name}: not snake_case")
    if fam.type == "unknown":
        problems.append(f"{fam.name}: no TYPE line")
    if fam.type == "counter" and (fam.name + "_total") not in declared_names:
        problems.append(f"{fam.name}: a counter must be named *_total")
    for unit in ("milliseconds", "kilobytes", "megabytes", "percent"):
        if unit in fam.name:
            problems.append(f"{fam.name}: use base units (seconds, bytes, ratio)")
    buckets = {}
    for s in fam.samples:
        key = s.name + "{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}"
        if key in samples:
            problems.append(f"{key}: duplicate sample")
        samples[key] = s.value
        if s.name.endswith("_bucket"):
            rest = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            buckets.setdefault(rest, []).append((float(s.labels["le"]), s.value))
    if fam.type == "histogram":
        for rest, bs in buckets.items():
            values = [v for _, v in bs]
            if values != sorted(values):
                problems.append(f"{fam.name}{dict(rest)}: buckets not cumulative")
            if bs[-1][0] != float("inf"):
                problems.append(f"{fam.name}{dict(rest)}: no +Inf bucket")
            count_key = fam.name + "_count{" + ",".join(f"{k}={v}" for k, v in rest) + "}"
            if samples.get(count_key, bs[-1][1]) != bs[-1][1]:
                problems.append(f"{fam.name}{dict(rest)}: +Inf bucket differs from _count")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(json.dumps(samples))
