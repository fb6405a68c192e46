#!/usr/bin/env bash
# test_nginx.sh CLI SHARED — two `npugen serve` replicas behind Debian's nginx on loopback ports, with
# the configuration docs/server.md shows (least_conn, buffering off, proxy_next_upstream on connect
# errors), generated here. Requests through nginx, streamed and not, all succeed and both replicas
# serve some; then one replica is killed (SIGKILL) mid-run and every later request still succeeds.
set -euo pipefail
cli=$1 shared=$2
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || { echo "test_nginx: nginx is not installed (scripts/debian-packages.txt lists nginx-light)" >&2; exit 1; }
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $tmp/nginx.pid ]] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM # a killed test (ctest timeout) cleans up too

start_replica() { # name -> sets port_<name>, pid_<name>
  "$cli" serve --model chat="$shared/models/random-llama-chat" --port 0 -c NUM_THREADS=1 >"$tmp/$1.out" 2>&1 &
  local pid=$! port=""
  pids+=("$pid")
  for _ in $(seq 100); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/$1.out" | grep -o '[0-9]*$' || true)
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "test_nginx: replica $1 did not start:" >&2; cat "$tmp/$1.out" >&2; exit 1; }
  eval "port_$1=$port pid_$1=$pid"
}
start_replica a
start_replica b
# a free loopback port for nginx
port_n=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

mkdir -m 777 "$tmp/body" "$tmp/proxy"
cat >"$tmp/nginx.conf" <<EOF
daemon on;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
worker_processes 1;
events { worker_connections 256; }
http {
  log_format up '\$upstream_addr \$status';
  access_log $tmp/access.log up;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  upstream npugen {
    least_conn;
    server 127.0.0.1:$port_a max_fails=1 fail_timeout=30s;
    server 127.0.0.1:$port_b max_fails=1 fail_timeout=30s;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$port_n;
    client_max_body_size 16m;
    location / {
      proxy_pass http://npugen;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 600s;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 2;
    }
  }
}
EOF
"$nginx" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port_n/health" >/dev/null && break; sleep 0.1; done

body='{"model":"chat","messages":[{"role":"user","content":"hello"}],"max_tokens":16,"seed":3}'
request() { # $1: stream true/false; fails unless the reply is whole
  local out
  if [[ $1 == true ]]; then
    out=$(curl -fsSN --max-time 60 "http://127.0.0.1:$port_n/v1/chat/completions" \
      -H 'Content-Type: application/json' -d "${body%\}},\"stream\":true}")
    [[ $out == *'data: [DONE]'* ]] || { echo "test_nginx: a stream ended early: $out" >&2; return 1; }
  else
    out=$(curl -fsS --max-time 60 "http://127.0.0.1:$port_n/v1/chat/completions" \
      -H 'Content-Type: application/json' -d "$body")
    [[ $out == *'"finish_reason"'* ]] || { echo "test_nginx: bad reply: $out" >&2; return 1; }
  fi
}

# 1. concurrent requests, streamed and not: all succeed, both replicas serve
jobs_pids=()
for i in $(seq 12); do
  if ((i % 2)); then request true & else request false & fi
  jobs_pids+=($!)
done
for p in "${jobs_pids[@]}"; do wait "$p"; done
served_a=$(grep -c "127.0.0.1:$port_a 200" "$tmp/access.log" || true)
served_b=$(grep -c "127.0.0.1:$port_b 200" "$tmp/access.log" || true)
echo "before the kill: replica a served $served_a, replica b $served_b"
((served_a > 0 && served_b > 0)) || { echo "test_nginx: one replica served nothing" >&2; cat "$tmp/access.log" >&2; exit 1; }

# 2. replica a dies mid-run (requests are running on both); every request after that succeeds
inflight=()
for i in $(seq 4); do
  request true 2>/dev/null &
  inflight+=($!)
done
sleep 0.05
kill -9 "$pid_a"
wait "$pid_a" 2>/dev/null || true
for p in "${inflight[@]}"; do wait "$p" || true; done # those running on replica a may fail: it died under them
ok=0
for i in $(seq 16); do
  if ((i % 2)); then r=true; else r=false; fi
  request $r || { echo "test_nginx: request $i after the kill failed" >&2; tail -5 "$tmp/error.log" >&2; exit 1; }
  ok=$((ok + 1))
done
echo "after the kill: $ok of 16 requests succeeded"
[[ $ok == 16 ]]
after_b=$(grep -c "127.0.0.1:$port_b 200" "$tmp/access.log")
((after_b >= served_b + 16)) || { echo "test_nginx: replica b did not take the load" >&2; exit 1; }
echo "test_nginx: ok"
