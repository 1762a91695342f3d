#!/usr/bin/env bash
# `make bench`: builds roost (release) and roost-bench, then runs the benchmark table against
# roost, Mosquitto and rumqttd on 127.0.0.1, ROUNDS rounds with the broker order alternating each
# round, each broker started fresh with its own minimal config and stopped after its runs.
# Raw RESULT lines go to target/bench/results-<timestamp>.txt; the table of medians and ratios
# to Mosquitto is printed at the end (and appended to that file).
#
# Environment: ROUNDS (3), WARMUP (2 s), DURATION (10 s), CONNS (10000), RUMQTTD (path),
# BROKERS (space-separated subset of "roost mosquitto rumqttd"), SCENARIOS (space-separated
# words; only the runs whose arguments contain one of them, e.g. "latency idle" or "fan-in";
# default all).
set -uo pipefail

ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-10}
CONNS=${CONNS:-10000}
CARGO=${CARGO:-cargo}
RUMQTTD=${RUMQTTD:-$HOME/.cargo/bin/rumqttd}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
BROKERS=${BROKERS:-roost mosquitto rumqttd}
SCENARIOS=${SCENARIOS:-}

cd "$(dirname "$0")/.." || exit 1
TARGET=${CARGO_TARGET_DIR:-target}
echo "== building roost and roost-bench (release)"
$CARGO build --release --bin roost --bin roost-bench || exit 1
ROOST=$TARGET/release/roost
BENCH=$TARGET/release/roost-bench

OUTDIR=target/bench
mkdir -p "$OUTDIR"
RESULTS=$OUTDIR/results-$(date +%Y%m%d-%H%M%S).txt
WORK=$(mktemp -d)
BROKER_PID=
cleanup() {
  [ -n "$BROKER_PID" ] && stop_broker
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 10,000 idle connections need that many descriptors in the bench and in the broker.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" || true
if [ "$(ulimit -n)" -lt $((CONNS + 200)) ]; then
  echo "warning: ulimit -n is $(ulimit -n); the idle scenario may fail with $CONNS connections"
fi

available=()
for b in $BROKERS; do
  case $b in
    roost) available+=(roost) ;;
    mosquitto)
      if [ ! -x "$MOSQUITTO" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing mosquitto"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
      fi
      if [ -x "$MOSQUITTO" ]; then available+=(mosquitto); else echo "mosquitto not found: skipped"; fi ;;
    rumqttd)
      if [ -x "$RUMQTTD" ]; then available+=(rumqttd)
      else echo "rumqttd not found at $RUMQTTD: skipped (cargo install rumqttd to include it)"; fi ;;
    *) echo "unknown broker $b: skipped" ;;
  esac
done

{
  echo "# roost bench $(date -Is) rounds=$ROUNDS warmup=$WARMUP duration=$DURATION conns=$CONNS"
  echo "# git $(git rev-parse --short HEAD 2>/dev/null) host $(uname -srm) cores $(nproc) load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# brokers: ${available[*]}"
  [ -x "$MOSQUITTO" ] && echo "# $($MOSQUITTO -h 2>/dev/null | head -1)"
  [ -x "$RUMQTTD" ] && echo "# $($RUMQTTD --version 2>/dev/null)"
} | tee "$RESULTS"

start_broker() { # name -> BROKER_PID, PORT
  local name=$1
  PORT=$($BENCH free-port) || return 1
  case $name in
    roost)
      ROOST_LISTEN=127.0.0.1:$PORT ROOST_LOG=warn "$ROOST" >>"$WORK/roost.log" 2>&1 &
      ;;
    mosquitto)
      printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n' \
        "$PORT" >"$WORK/mosquitto.conf"
      "$MOSQUITTO" -c "$WORK/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
      ;;
    rumqttd)
      cat >"$WORK/rumqttd.toml" <<TOML
id = 0

[router]
id = 0
max_connections = 20010
max_outgoing_packet_count = 1000
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "v4-1"
listen = "127.0.0.1:$PORT"
next_connection_delay_ms = 0
    [v4.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = 1048576
    max_inflight_count = 1000
    dynamic_filters = true
TOML
      "$RUMQTTD" -q -c "$WORK/rumqttd.toml" >>"$WORK/rumqttd.log" 2>&1 &
      ;;
  esac
  BROKER_PID=$!
  for _ in $(seq 100); do
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
      echo "!! $name exited at start-up; its log:"; tail -20 "$WORK/$name.log"; BROKER_PID=; return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "!! $name did not listen on $PORT within 10 s"; stop_broker; return 1
}

stop_broker() {
  local pid=$BROKER_PID
  BROKER_PID=
  [ -z "$pid" ] && return
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }; sleep 0.1; done
  echo "!! broker $pid ignored SIGTERM for 5 s: killed"
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}

# One roost-bench run; a hang or a broker crash is recorded as a RESULT line too.
run_one() { # broker round scenario-args...
  local b=$1 r=$2; shift 2
  local sc qos=0 rate=1000 prev=
  for a in "$@"; do
    case $prev in --scenario) sc=$a ;; --qos) qos=$a ;; --rate) rate=$a ;; esac
    prev=$a
  done
  local limit=$(awk "BEGIN{print int($WARMUP + $DURATION + 60)}")
  timeout -k 5 "$limit" "$BENCH" --addr "127.0.0.1:$PORT" --pid "$BROKER_PID" --broker "$b" \
    --round "$r" --warmup "$WARMUP" --duration "$DURATION" "$@" 2>&1 | tee -a "$RESULTS"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "RESULT broker=$b round=$r scenario=$sc qos=$qos rate=$rate conns=$CONNS check=timeout" | tee -a "$RESULTS"
  fi
  if ! kill -0 "$BROKER_PID" 2>/dev/null; then
    echo "RESULT broker=$b round=$r scenario=$sc qos=$qos rate=$rate conns=$CONNS check=broker-died" | tee -a "$RESULTS"
    echo "!! $b died during $*; last log lines:" | tee -a "$RESULTS"
    tail -20 "$WORK/$b.log" | sed 's/^/#   /' | tee -a "$RESULTS"
    wait "$BROKER_PID" 2>/dev/null; BROKER_PID=
    start_broker "$b"
  fi
}

# Whether the run with these arguments is selected by SCENARIOS.
selected() {
  [ -z "$SCENARIOS" ] && return 0
  local w
  for w in $SCENARIOS; do [[ " $* " == *"$w"* ]] && return 0; done
  return 1
}

RUNS=(
  "--scenario fan-in --qos 0"
  "--scenario fan-in --qos 1"
  "--scenario fan-out --qos 0"
  "--scenario pairs --qos 0"
  "--scenario pairs --qos 1"
  "--scenario pairs --qos 2"
  "--scenario fan-in --qos 1 --v5"
  "--scenario pairs --qos 1 --v5"
  "--scenario latency --qos 0 --rate 1000"
  "--scenario latency --qos 0 --rate 10000"
  "--scenario latency --qos 1 --rate 1000"
  "--scenario latency --qos 1 --rate 10000"
)

any_load=false
# shellcheck disable=SC2086
for s in "${RUNS[@]}"; do selected $s && any_load=true; done

started=$(date +%s)
for r in $(seq "$ROUNDS"); do
  order=("${available[@]}")
  if [ $((r % 2)) = 0 ]; then
    order=(); for ((i = ${#available[@]} - 1; i >= 0; i--)); do order+=("${available[$i]}"); done
  fi
  for b in "${order[@]}"; do
    echo "== round $r/$ROUNDS: $b" | tee -a "$RESULTS"
    if $any_load && start_broker "$b"; then
      for s in "${RUNS[@]}"; do
        # rumqttd is configured with a 3.1.1 listener only.
        [ "$b" = rumqttd ] && [[ $s == *--v5* ]] && continue
        # shellcheck disable=SC2086
        selected $s || continue
        # shellcheck disable=SC2086
        run_one "$b" "$r" $s
        [ -z "$BROKER_PID" ] && break
      done
      stop_broker
    fi
    # Idle on a fresh broker, so that its RSS is not inflated by the load runs.
    if selected --scenario idle && start_broker "$b"; then
      run_one "$b" "$r" --scenario idle --conns "$CONNS"
      stop_broker
    fi
  done
done

echo "== done in $(( $(date +%s) - started )) s; raw results: $RESULTS"
"$BENCH" summarize "$RESULTS" | tee -a "$RESULTS"
for b in roost mosquitto rumqttd; do
  if [ -s "$WORK/$b.log" ]; then
    echo "-- $b log (last lines)"; tail -5 "$WORK/$b.log"
  fi
done
