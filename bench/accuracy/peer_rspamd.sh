#!/bin/bash
# Rspamd 3.4 (Debian) as an accuracy/throughput peer: called by engine.sh, normally inside a
# private network namespace (only loopback exists there), but it binds loopback only anyway.
#
#   peer_rspamd.sh SPLIT_DIR WORK_DIR
#
# Expects a DNS stub on 127.0.0.1:$DNS_PORT that answers nothing (engine.sh starts dnsmasq with
# no upstream). Starts, private to WORK_DIR/rspamd and stopped by PID on exit:
#   - redis-server on 127.0.0.1:$REDIS_PORT (Bayes only, nothing saved to disk);
#   - rspamd with the stock /etc/rspamd config plus a private LOCAL_CONFDIR that turns the network
#     checks off (RBL/SURBL/emails/ASN DNS lists, fuzzy, SPF/DKIM/DMARC/ARC, hfilter, once_received
#     (its PTR lookups fail without DNS and then add RDNS_NONE), mx_check, map updates),
#     sets DATE_IN_PAST/DATE_IN_FUTURE to weight 0 (they compare Date with the clock, so every 2002
#     message is "in the past" today; PEERS.md), keeps Bayes in the private redis with autolearn
#     off, and runs one normal worker so that the throughput passes measure one core.
# Trains Bayes with `rspamc learn_spam/learn_ham` on TRAIN (header Learn-Type: bulk, so that it
# learns every message, PEERS.md), then scores TEST three times with rspamc (server pinned to core
# 0, client to core 1). Writes:
#   WORK_DIR/rspamd.tsv        path <TAB> score <TAB> symbols (comma-separated), from the first pass
#   WORK_DIR/rspamd.time       one line per pass: wall_s server_cpu_s client_cpu_s messages
#   WORK_DIR/rspamd.info       version and training notes
# Environment: DNS_PORT (5353), REDIS_PORT (6391), RSPAMD_PORT (11333), CONTROLLER_PORT (11334),
#              PASSES (3). engine.sh bounds its run time (it runs this script in its own process
#              group and ends the group at the deadline; the EXIT trap below stops the servers).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
split=$1
work=$2/rspamd
out=$2
DNS_PORT=${DNS_PORT:-5353}
REDIS_PORT=${REDIS_PORT:-6391}
RSPAMD_PORT=${RSPAMD_PORT:-11333}
CONTROLLER_PORT=${CONTROLLER_PORT:-11334}
PASSES=${PASSES:-3}

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait (bounded) until a TCP port on 127.0.0.1 accepts connections.
wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "rspamd: $what did not open port $port (see $work/log)" >&2
  return 1
}

rm -rf "$work"
mkdir -p "$work"/{local/local.d,local/override.d,db,run,log,redis}
chown -R _rspamd:_rspamd "$work"/{db,run,log}
L=$work/local

# --- configuration (only LOCAL_CONFDIR; /etc/rspamd is used as installed and never changed) ---
cat >"$L/local.d/options.inc" <<EOF
dns { nameserver = ["127.0.0.1:$DNS_PORT"]; timeout = 0.2s; retransmits = 1; }
EOF
cat >"$L/override.d/worker-normal.inc" <<EOF
bind_socket = "127.0.0.1:$RSPAMD_PORT";
count = 1;
task_timeout = 30s;
EOF
cat >"$L/override.d/worker-controller.inc" <<EOF
bind_socket = "127.0.0.1:$CONTROLLER_PORT";
count = 1;
secure_ip = "127.0.0.1";
static_dir = "\${WWWDIR}";
EOF
printf 'enabled = false;\ncount = 0;\n' >"$L/override.d/worker-proxy.inc"
printf 'enabled = false;\ncount = -1;\n' >"$L/override.d/worker-fuzzy.inc"
cat >"$L/override.d/logging.inc" <<'EOF'
type = "file";
filename = "$LOGDIR/rspamd.log";
level = "notice";
EOF
cat >"$L/local.d/classifier-bayes.conf" <<EOF
backend = "redis";
servers = "127.0.0.1:$REDIS_PORT";
autolearn = false;
EOF
# Network checks off. whitelist only reacts to SPF/DKIM/DMARC results, which are off too.
for m in rbl surbl emails asn fuzzy_check dkim dkim_signing spf dmarc arc hfilter mx_check url_redirector \
         rspamd_update dcc external_services antivirus greylist ratelimit neural reputation history_redis \
         replies bimi whitelist metadata_exporter clickhouse elastic once_received; do
  echo "enabled = false;" >"$L/local.d/$m.conf"
done
cat >"$L/local.d/headers_group.conf" <<'EOF'
symbols {
  "DATE_IN_PAST" { weight = 0.0; }
  "DATE_IN_FUTURE" { weight = 0.0; }
}
EOF
V=(--var="LOCAL_CONFDIR=$L" --var="DBDIR=$work/db" --var="RUNDIR=$work/run" --var="LOGDIR=$work/log")

# --- services ---
taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  --dir "$work/redis" --daemonize no --logfile "$work/log/redis.log" &
redis_pid=$!
pids+=("$redis_pid")
start_rspamd() {
  taskset -c 0 rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf "${V[@]}" \
    >>"$work/log/rspamd.stdout" 2>&1 &
  rspamd_pid=$!
  pids+=("$rspamd_pid")
  wait_port "$RSPAMD_PORT" rspamd
  wait_port "$CONTROLLER_PORT" "rspamd controller"
}
wait_port "$REDIS_PORT" redis-server
start_rspamd

RC=(rspamc -t 60)
# --- training (TRAIN only, everything learned: Learn-Type: bulk) ---
t0=$(date +%s.%N)
for cls in spam ham; do
  # One at a time, in a fixed order: rspamd learns only the first of messages it takes for the same
  # one ("already learned"), so the order matters. (Even so, 877-879 spam were learned in different
  # runs: rspamd's own duplicate detection varies.)
  "${RC[@]}" -h "127.0.0.1:$CONTROLLER_PORT" -n 1 --header "Learn-Type: bulk" \
    "learn_$cls" "$split/train/$cls" >"$work/learn_$cls.log" 2>&1
done
t1=$(date +%s.%N)
learned_spam=$(grep -c "success = true" "$work/learn_spam.log" || true)
learned_ham=$(grep -c "success = true" "$work/learn_ham.log" || true)
{
  echo "version: $(rspamd -v 2>/dev/null | head -1)"
  echo "trained: $learned_spam spam + $learned_ham ham learned of $(ls "$split/train/spam" | wc -l) + $(ls "$split/train/ham" | wc -l) in $(python3 "$here/benchutil.py" sub "$t1" "$t0") s"
  "${RC[@]}" -h "127.0.0.1:$CONTROLLER_PORT" stat 2>/dev/null | grep -E "^Messages learned" || true
  echo "not learned: $(grep -h 'error = ' "$work"/learn_*.log | sed 's/.*\(already learned\|less tokens\).*/\1/' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
} >"$work/../rspamd.info"

# Score with a fresh rspamd that reads the trained model from redis: a worker that was running while
# Bayes learned was seen to drift for a minute afterwards. (Rspamd's Bayes scores still vary a
# little from request to request; the passes are compared below and the differences noted.)
kill "$rspamd_pid"
for _ in $(seq 1 100); do kill -0 "$rspamd_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$rspamd_pid" 2>/dev/null && { echo "rspamd: did not stop" >&2; exit 1; }
wait "$rspamd_pid" 2>/dev/null || true
start_rspamd

# --- scoring and throughput: server (rspamd + redis) on core 0, client on core 1 ---
srv_cpu() { python3 "$here/benchutil.py" tree "$rspamd_pid" "$redis_pid"; }
: >"$out/rspamd.time"
files=("$split/test/spam"/*.eml "$split/test/ham"/*.eml)
for pass in $(seq 1 "$PASSES"); do
  c0=$(srv_cpu)
  python3 "$here/benchutil.py" run "$work/client.$pass" -- \
    taskset -c 1 "${RC[@]}" -h "127.0.0.1:$RSPAMD_PORT" -n 8 --json symbols "${files[@]}" >"$work/scan.$pass.out"
  c1=$(srv_cpu)
  read -r wall client <"$work/client.$pass"
  echo "$wall $(python3 "$here/benchutil.py" sub "$c1" "$c0") $client ${#files[@]}" >>"$out/rspamd.time"
done
python3 "$here/benchutil.py" rspamc-json "$work/scan.1.out" >"$out/rspamd.tsv"
for pass in $(seq 2 "$PASSES"); do
  python3 "$here/benchutil.py" rspamc-json "$work/scan.$pass.out" >"$work/check.$pass.tsv"
  echo "pass $pass vs pass 1: $(python3 "$here/benchutil.py" compare "$out/rspamd.tsv" "$work/check.$pass.tsv")" >>"$out/rspamd.info"
done
echo "rspamd: $(wc -l <"$out/rspamd.tsv") messages scored, $PASSES passes" >&2
