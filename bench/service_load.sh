#!/usr/bin/env bash
# Load benchmark of `podpromo serve` against nginx on the same machine, in the same run (127.0.0.1 only,
# bounded: each wrk run lasts BENCH_SECONDS, default 10). While it runs, a job is processing an episode.
# For GET /health and GET /api/v1/episodes: requests/s with 64 connections, p99 latency and errors, next to
# nginx serving a static JSON file of the same size; prints the ratio (goal: >= 0.5x nginx, p99 < 20 ms).
# The two take turns, BENCH_ROUNDS times (default 3), so both see the same phases of the job; the summary
# is the median round.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-3}"
work="$(mktemp -d /tmp/podpromo-load-XXXXXX)"
server_pid="" nginx_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The service, with one episode uploaded and processing during the measurement.
# Every connection comes from 127.0.0.1 here: no per-address limit.
# The rate limits are off: this measures what the service can answer, not how fast it refuses (wrk would spend one
# key's allowance in a millisecond and then read 429s).
RATE_LIMIT_REQUESTS=0 RATE_LIMIT_ANONYMOUS_REQUESTS=0 HTTP_CONNECTIONS_PER_CLIENT=0 build/podpromo serve --host 127.0.0.1 --port 0 --data-dir "$work/data" > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do grep -q "http://127.0.0.1:" "$work/serve.out" && break; sleep 0.1; done
url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.out" | head -1)"
[ -n "$url" ] || { cat "$work/serve.err"; echo "server did not start"; exit 1; }
# Every request but the probes needs a key: the first start's administrator's.
key="$(build/podpromo key create --user admin --scopes read,write,render,admin --data-dir "$work/data" 2>/dev/null)"
auth="Authorization: Bearer $key"
# Memory during a large upload, measured first (no job has run yet): streamed to disk, the peak RSS
# of the fresh server should barely move.
big="$work/big.bin"
head -c $((400 * 1024 * 1024)) /dev/urandom > "$big"
rss_before="$(awk '/VmHWM/ {print $2}' /proc/$server_pid/status)"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" -H 'X-Filename: big.mp3' --data-binary "@$big" "$url/api/v1/episodes")"
rss_after="$(awk '/VmHWM/ {print $2}' /proc/$server_pid/status)"
echo "400 MB upload (random bytes, refused as $code after streaming): server peak RSS ${rss_before} kB -> ${rss_after} kB ($(( (rss_after - rss_before) / 1024 )) MB more)"
rm -f "$big"
episode="$work/episode.wav"
build/make_episode tests/data/business_interview.tsv "$episode" > /dev/null
curl -s -o /dev/null -H "$auth" -F "file=@$episode" -F "title=load" "$url/api/v1/episodes"

# nginx with one static file per endpoint, each the size of the service's answer.
port="$(free_port)"
mkdir -p "$work/nginx/logs" "$work/www"
curl -s "$url/health" > "$work/www/health.json"
curl -s -H "$auth" "$url/api/v1/episodes" > "$work/www/episodes.json"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  server { listen 127.0.0.1:$port; root $work/www; default_type application/json; }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
sleep 0.5

measure() {  # url [header] -> "rps p99_ms errors"
  local out
  out="$(wrk -t2 -c64 -d"${seconds}s" --latency ${2:+-H "$2"} "$1")"
  local rps p99 errors
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v=v/1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v=v*1000}; print v}' <<<"$out")"
  errors="$(awk '/Non-2xx|Socket errors/ {n++} END {print n+0}' <<<"$out")"
  echo "$rps $p99 $errors"
}

echo "== load: 64 connections, ${seconds}s each, ${rounds} rounds taking turns with nginx, a job processing (queue: $(curl -s -H "$auth" "$url/queue/stats"))"
printf '%-22s %6s %12s %10s %8s   %12s %10s   %s\n' endpoint round podpromo_rps p99_ms errors nginx_rps p99_ms ratio
summary=""
for ep in health api/v1/episodes; do
  file="$( [ "$ep" = health ] && echo health.json || echo episodes.json)"
  rows=""
  for round in $(seq "$rounds"); do
    # The API as a client calls it, with its key; /health as a monitor does, without one.
    read -r prps pp99 perr < <(measure "$url/$ep" "$( [ "$ep" = health ] || echo "$auth")")
    read -r nrps np99 _ < <(measure "http://127.0.0.1:$port/$file")
    ratio="$(echo "scale=2; $prps / $nrps" | bc)"
    printf '%-22s %6s %12s %10s %8s   %12s %10s   %sx\n' "/$ep" "$round" "$prps" "$pp99" "$perr" "$nrps" "$np99" "$ratio"
    rows+="$ratio $prps $pp99 $perr $nrps"$'\n'
  done
  # The median round by ratio; the worst p99 and all errors over every round.
  read -r mratio mprps _ _ mnrps < <(sort -n <<<"${rows%$'\n'}" | sed -n "$(( (rounds + 1) / 2 ))p")
  worst_p99="$(awk '{if ($3 > m) m = $3} END {print m}' <<<"$rows")"
  errors="$(awk '{n += $4} END {print n + 0}' <<<"$rows")"
  summary+="$(printf '%-22s median %sx nginx (%s vs %s req/s), worst p99 %s ms, %s errors' "/$ep" "$mratio" "$mprps" "$mnrps" "$worst_p99" "$errors")"$'\n'
done
printf '== summary\n%s' "$summary"
echo "job states after the load: $(curl -s -H "$auth" "$url/queue/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_state"])')"
