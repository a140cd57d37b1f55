#!/bin/bash
# SpamAssassin 4.0.1 (Debian) as an accuracy/throughput peer: called by engine.sh, normally inside a
# private network namespace (only loopback exists there); spamd listens on 127.0.0.1 only.
#
#   peer_spamassassin.sh SPLIT_DIR WORK_DIR
#
# Private site config in WORK_DIR/spamassassin/site: Debian's /etc/spamassassin/*.pre and
# 65_debian.cf copied as they are, plus a local.cf with: use_bayes 1, bayes_auto_learn 0, Bayes
# database in WORK_DIR (file mode open to the spamd user `nobody`), no auto-expiry, no AWL/TxRep,
# network tests off (dns_available no, skip_rbl_checks 1, no Razor/Pyzor/DCC; spamd and sa-learn
# also run with -L, local tests only; DNS pointed at 127.0.0.1:$DNS_PORT, the stub engine.sh
# starts). Stock rules: /usr/share/spamassassin (never sa-update'd here, so runs are repeatable).
#
# Date rules: SpamAssassin's DATE_IN_PAST_* / DATE_IN_FUTURE_* compare the Date header with the
# message's own Received headers, not with the clock, so replaying 2002 mail today does not make
# them fire; they stay on (engine.sh counts their hits so that this can be checked). No stock rule
# compares a date with the clock (received_within_months is not used by any rule in 4.0.1).
#
# Trains with sa-learn on TRAIN, then scores TEST once with `spamc -R` (spamd with one child pinned
# to core 0, two spamc at a time on core 1); that single pass is also the throughput measurement
# (a pass takes ~8 minutes on one core, so three would not fit the bench's 30-minute bound).
# Writes:
#   WORK_DIR/spamassassin.tsv    path <TAB> score <TAB> rules
#   WORK_DIR/spamassassin.time   wall_s server_cpu_s client_cpu_s messages
#   WORK_DIR/spamassassin.info   version and training notes
# Environment: SPAMD_PORT (7830), DNS_PORT (5353). engine.sh bounds its run time (own process group,
# ended at the deadline; the EXIT trap below stops spamd).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
split=$1
out=$2
work=$2/spamassassin
SPAMD_PORT=${SPAMD_PORT:-7830}
DNS_PORT=${DNS_PORT:-5353}

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

rm -rf "$work"
mkdir -p "$work"/{site,bayes,home,out/spam,out/ham}
cp /etc/spamassassin/*.pre /etc/spamassassin/65_debian.cf "$work/site/"
cat >"$work/site/local.cf" <<EOF
required_score 5.0
report_safe 0
use_bayes 1
bayes_auto_learn 0
bayes_path $work/bayes/bayes
bayes_file_mode 0666
bayes_auto_expire 0
use_auto_whitelist 0
use_txrep 0
dns_available no
dns_server 127.0.0.1:$DNS_PORT
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
use_dcc 0
lock_method flock
EOF
# spamd drops root for `nobody`: let it reach the Bayes files.
chmod 755 "$2" "$work"
chmod 777 "$work/bayes" "$work/home"
SA=(--siteconfigpath="$work/site" --configpath=/usr/share/spamassassin)

# --- training: TRAIN only ---
t0=$(date +%s.%N)
for cls in spam ham; do
  sa-learn "${SA[@]}" -L --no-sync "--$cls" "$split/train/$cls" >"$work/learn_$cls.log" 2>&1
done
sa-learn "${SA[@]}" -L --sync >>"$work/learn_ham.log" 2>&1
t1=$(date +%s.%N)
chmod -R a+rw "$work/bayes"
{
  echo "version: $(spamassassin --version 2>/dev/null | head -1)"
  echo "trained in $(python3 "$here/benchutil.py" sub "$t1" "$t0") s: $(tail -n +1 "$work/learn_spam.log" "$work/learn_ham.log" | grep -h Learned | tr '\n' ' ')"
  sa-learn "${SA[@]}" -L --dump magic 2>/dev/null | grep -E "nspam|nham|ntokens" | awk '{print "  " $NF " = " $3}'
} >"$out/spamassassin.info"

# --- spamd: one child, on core 0 ---
taskset -c 0 spamd "${SA[@]}" -L -x -u nobody -H "$work/home" -i "127.0.0.1:$SPAMD_PORT" \
  --max-children=1 --min-children=1 --min-spare=1 --max-spare=1 --max-conn-per-child=100000 \
  --timeout-child=300 -s stderr >"$work/spamd.log" 2>&1 &
spamd_pid=$!
pids+=("$spamd_pid")
ok=
for _ in $(seq 1 600); do  # spamd compiles its rules first: up to ~60 s on a busy machine
  if (exec 3<>"/dev/tcp/127.0.0.1/$SPAMD_PORT") 2>/dev/null; then ok=1; break; fi
  kill -0 "$spamd_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ok" ] || { echo "spamassassin: spamd did not start (see $work/spamd.log)" >&2; tail -5 "$work/spamd.log" >&2; exit 1; }
# The first check loads the Bayes database: do it before the measurement.
spamc -d 127.0.0.1 -p "$SPAMD_PORT" -c <"$(ls "$split/train/ham"/*.eml | head -1)" >/dev/null || true

# --- scoring = throughput pass ---
export SPAMD_PORT OUTDIR="$work/out"
c0=$(python3 "$here/benchutil.py" tree "$spamd_pid")
for cls in spam ham; do printf '%s\0' "$split/test/$cls"/*.eml; done >"$work/files0"
python3 "$here/benchutil.py" run "$work/client" -- taskset -c 1 xargs -0 -P 2 -n 1 -a "$work/files0" \
  sh -c 'd=ham; case "$1" in */spam/*) d=spam;; esac
         spamc -d 127.0.0.1 -p "$SPAMD_PORT" -t 600 -s 20000000 -R <"$1" >"$OUTDIR/$d/${1##*/}.out" || true' sh
c1=$(python3 "$here/benchutil.py" tree "$spamd_pid")
read -r wall client <"$work/client"
n=$(tr -cd '\0' <"$work/files0" | wc -c)
echo "$wall $(python3 "$here/benchutil.py" sub "$c1" "$c0") $client $n" >"$out/spamassassin.time"
{
  python3 "$here/benchutil.py" spamc "$work/out/spam" "$split/test/spam"
  python3 "$here/benchutil.py" spamc "$work/out/ham" "$split/test/ham"
} >"$out/spamassassin.tsv"
echo "spamassassin: $(wc -l <"$out/spamassassin.tsv") messages scored" >&2
