#!/usr/bin/env bash
# The chaos soak: a multi-process topology (a supervisor node with the
# parameter shard, four worker nodes with one or two workers each, on
# 127.0.0.1) trained for a bounded time under random declared faults of
# every kind a multi-process run accepts, then the same topology without
# faults (same seed, same time). Checks the invariants of
# docs/fault-tolerance.md on both runs and fails (exit 1, one line per broken
# invariant, naming it and its numbers) when one does not hold:
#   - the run ended as planned: exit status 0, "failure": null, stopped by
#     its time;
#   - every decided push counted once: received = applied + rejected (every
#     reason) + partial (one shard: no gradient is in flight between shards
#     at the stop, so this is exact);
#   - crashed = restarted + evicted;
#   - every declared fault fired: faults_injected by kind equals the faults
#     declared (all fall between 10 % and 80 % of the run, so none races the
#     stop);
#   - every killed shard restarted (shard_restarts = kill_shard faults);
#   - the nodes lost are those killed and those stopped for longer than
#     network.connection_timeout (a stop of at most 0.4 of it loses none);
#   - the train loss falls (the last row of metrics.csv below the first
#     that has one);
#   - the faulty run's final test accuracy is not below the baseline's minus
#     a margin: 5 points on Fashion-MNIST, 10 with --quick (each worker
#     trains on its own shard of the data, so the lost nodes take a third
#     to two thirds of the training set with them; in the first five soaks
#     the faulty run ended 0.3 to 2.3 points below its baseline).
# Writes OUT/results.md: both runs side by side (faults by kind, gradient
# counts, restarts, nodes lost, loss, accuracy), the fault list, the command
# line and seed, and PASS/FAIL per invariant.
#
# Usage: tools/chaos.sh [--seed N] [--seconds S] [--out DIR] [--quick]
#                       [--ormo BINARY]
#   --seed N      the faults' draws and run.seed (default: a random seed,
#                 printed; the same seed gives the same faults)
#   --seconds S   run.stop_seconds of each run, 10 to 3600 (default 90)
#   --out DIR     where the topologies, the runs and results.md go (default
#                 chaos/ at the top of the repository)
#   --quick       synthetic data and a small model (for the test): the
#                 same nodes and faults on a shorter clock
#   --ormo BINARY use this ormo instead of building build/bin/ormo
#
# Every kind is drawn: kill_node and stop_node of worker nodes, the worker
# and link kinds on the workers of the nodes that stay, and kill_shard of
# the shard (which restarts on the supervisor's node from its checkpoint:
# the topology checkpoints every 200 iterations, the baseline too).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command_line="tools/chaos.sh${*:+ $*}"

say() { echo "chaos: $*"; }
usage() {
  echo "usage: tools/chaos.sh [--seed N] [--seconds S] [--out DIR] [--quick]" \
       "[--ormo BINARY]" >&2
  exit 2
}
die() {
  echo "chaos: $*" >&2
  exit 1
}

seed=""
seconds=90
out=""
quick=false
ormo=""
while (($#)); do
  case $1 in
    --seed) [[ $# -ge 2 ]] || usage; seed=$2; shift 2 ;;
    --seconds) [[ $# -ge 2 ]] || usage; seconds=$2; shift 2 ;;
    --out) [[ $# -ge 2 ]] || usage; out=$2; shift 2 ;;
    --quick) quick=true; shift ;;
    --ormo) [[ $# -ge 2 ]] || usage; ormo=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) echo "chaos: unknown argument: $1" >&2; usage ;;
  esac
done
seed_note=""
if [[ -z $seed ]]; then
  seed=$(($(od -An -N4 -tu4 /dev/urandom) % 1000000))
  seed_note=", drawn at random: \`$command_line --seed $seed\` draws the same faults"
fi
[[ $seed =~ ^[0-9]{1,18}$ ]] || die "--seed: $seed is not an integer in [0, 10^18)"
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds >= 10 && seconds <= 3600)) \
  || die "--seconds: $seconds is not a whole number of seconds in [10, 3600]"
out=$(realpath -m "${out:-$top/chaos}")

# What the script needs: ormo, jq.
if [[ -z $ormo ]]; then
  "$top/tools/setup.sh" ormo
  ormo="$top/build/bin/ormo"
fi
[[ -x $ormo ]] || die "--ormo: $ormo is not an executable"
if ! command -v jq >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    die "jq is missing (it reads summary.json); run as root or:" \
        "sudo apt-get install -y jq"
  fi
  say "installing jq (reads summary.json)..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >/dev/null \
    || { apt-get update -q >/dev/null \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq \
              >/dev/null; } \
    || die "installing jq failed; fix apt and run this again"
fi
mkdir -p "$out"

# Every process this script started, ended on any way out.
started=()
cleanup() {
  local pid children
  for pid in "${started[@]}"; do
    [[ -n $pid && -d /proc/$pid ]] || continue
    children=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [[ -d /proc/$pid ]] || break
      sleep 0.5
    done
    kill -KILL "$pid" $children 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A reproducible random stream (an LCG in bash's integers, the same on every
# bash): `draw N` sets REPLY to an integer in [0, N).
rng=$((seed % 2147483648))
draw() {
  local high low
  rng=$(((rng * 1103515245 + 12345) % 2147483648))
  high=$((rng >> 16))
  rng=$(((rng * 1103515245 + 12345) % 2147483648))
  low=$((rng >> 16))
  REPLY=$((((high << 15) | low) % $1))
}
for _ in 1 2 3 4; do draw 2; done
# `uniform LO HI [FORMAT]` sets REPLY to a number in [LO, HI].
uniform() {
  draw 1000001
  REPLY=$(awk -v u="$REPLY" -v a="$1" -v b="$2" -v f="${3:-%.2f}" \
            'BEGIN { printf f, a + (b - a) * u / 1000000 }')
}
# `pick WORD...` sets REPLY to one of the words.
pick() {
  local words=("$@")
  draw ${#words[@]}
  REPLY=${words[$REPLY]}
}

# The clock of the faults. T: network.connection_timeout (s), 2 s at least
# (a node's heartbeats must cross a loaded machine in time).
timeout_s=$(awk -v s="$seconds" 'BEGIN { t = s / 30; if (t < 2) t = 2;
  if (t > 5) t = 5; printf "%g", t }')
heartbeat_ms=$(awk -v t="$timeout_s" 'BEGIN { printf "%d", t * 100 }')
request_timeout=$(awk -v t="$timeout_s" 'BEGIN { printf "%g", 2 * t }')
retry_after=$(awk -v t="$timeout_s" 'BEGIN { printf "%g", t / 4 }')
margin=$($quick && echo 0.10 || echo 0.05)

# The nodes: a supervisor node with shard 0, four worker nodes of one or two
# workers (drawn).
worker_nodes=(w1 w2 w3 w4)
declare -A node_workers node_first_slot
slots=0
for node in "${worker_nodes[@]}"; do
  draw 2
  node_workers[$node]=$((REPLY + 1))
  node_first_slot[$node]=$slots
  slots=$((slots + node_workers[$node]))
done

# The node faults: one worker node killed, one stopped for at most 0.4 of
# the connection timeout, one for more than twice it, each a different node
# (a signal to a node already gone is not sent, so not counted); the fourth
# is left alone. The worker and link faults strike the workers of the nodes
# that stay (the briefly stopped one and the untouched one), so that
# membership.lost counts exactly the workers of the lost nodes.
shuffled=("${worker_nodes[@]}")
for ((k = ${#shuffled[@]} - 1; k > 0; k--)); do
  draw $((k + 1))
  swap=${shuffled[$k]}
  shuffled[$k]=${shuffled[$REPLY]}
  shuffled[$REPLY]=$swap
done
killed_node=${shuffled[0]}
long_stopped_node=${shuffled[1]}
short_stopped_node=${shuffled[2]}
calm_node=${shuffled[3]}
stable_slots=()
for node in "$short_stopped_node" "$calm_node"; do
  for ((k = 0; k < node_workers[$node]; k++)); do
    stable_slots+=($((node_first_slot[$node] + k)))
  done
done

worker_kinds=(kill_worker fail_gradient slow_worker freeze_worker)
link_kinds=(drop delay duplicate reorder partition)

# The faults, one TOML block each, and their kinds (declared_kinds).
faults_toml=""
declared_kinds=()
fault_lines=()
# add_fault KIND TARGET AT [key = value]...
add_fault() {
  local kind=$1 target=$2 at=$3 line
  shift 3
  faults_toml+=$'\n[[faults]]\n'"kind = \"$kind\""$'\n'"target = \"$target\""
  faults_toml+=$'\n'"at_seconds = $at"$'\n'
  line="$at s: $kind $target"
  for setting in "$@"; do
    faults_toml+="$setting"$'\n'
    line+=", ${setting// = /=}"
  done
  declared_kinds+=("$kind")
  fault_lines+=("$line")
}
# at_time LO HI: REPLY = a time in [LO, HI] x the run's seconds.
at_time() { uniform "$(awk -v s="$seconds" -v f="$1" 'BEGIN { print s * f }')" \
              "$(awk -v s="$seconds" -v f="$2" 'BEGIN { print s * f }')"; }
# lasting LO HI: REPLY = a duration in [LO, HI] x the run's seconds.
lasting() { at_time "$@"; }

at_time 0.35 0.70
add_fault kill_node "node $killed_node" "$REPLY"
at_time 0.10 0.50
at=$REPLY
uniform "$(awk -v t="$timeout_s" 'BEGIN { print 2 * t }')" \
        "$(awk -v t="$timeout_s" 'BEGIN { print 4 * t }')"
add_fault stop_node "node $long_stopped_node" "$at" "duration_s = $REPLY"
at_time 0.10 0.80
at=$REPLY
uniform "$(awk -v t="$timeout_s" 'BEGIN { print 0.1 * t }')" \
        "$(awk -v t="$timeout_s" 'BEGIN { print 0.4 * t }')"
add_fault stop_node "node $short_stopped_node" "$at" "duration_s = $REPLY"

# kill_shard once or twice, after the first checkpoint.
draw 2
for ((n = 0; n <= REPLY; n++)); do
  at_time 0.20 0.80
  add_fault kill_shard "shard 0" "$REPLY"
done

for kind in "${worker_kinds[@]}" "${link_kinds[@]}"; do
  # One or two of each kind.
  draw 2
  count=$((REPLY + 1))
  for ((n = 0; n < count; n++)); do
    pick "${stable_slots[@]}"
    slot=$REPLY
    at_time 0.10 0.80
    at=$REPLY
    case $kind in
      kill_worker)
        add_fault "$kind" "worker $slot" "$at" ;;
      fail_gradient)
        lasting 0.01 0.05
        duration=$REPLY
        uniform 0.001 0.02 %.3f
        add_fault "$kind" "worker $slot" "$at" "duration_s = $duration" \
                  "probability = $REPLY" ;;
      slow_worker)
        lasting 0.05 0.20
        duration=$REPLY
        uniform 2 10 %.1f
        add_fault "$kind" "worker $slot" "$at" "duration_s = $duration" \
                  "factor = $REPLY" ;;
      freeze_worker|partition)
        # From well under the request timeout (held, then handled) to well
        # over it (ended and restarted).
        uniform "$(awk -v t="$request_timeout" 'BEGIN { print 0.2 * t }')" \
                "$(awk -v t="$request_timeout" 'BEGIN { print 2 * t }')"
        add_fault "$kind" "worker $slot" "$at" "duration_s = $REPLY" ;;
      drop|duplicate)
        lasting 0.05 0.20
        duration=$REPLY
        uniform 0.05 0.5
        add_fault "$kind" "worker $slot <-> shard 0" "$at" \
                  "duration_s = $duration" "probability = $REPLY" ;;
      delay)
        lasting 0.05 0.20
        duration=$REPLY
        uniform 0.1 1
        probability=$REPLY
        # Up to 1.5 x retry_after_s: some arrive after their retry.
        uniform 5 "$(awk -v r="$retry_after" 'BEGIN { print 1500 * r }')" %.0f
        add_fault "$kind" "worker $slot <-> shard 0" "$at" \
                  "duration_s = $duration" "probability = $probability" \
                  "delay_ms = $REPLY" ;;
      reorder)
        lasting 0.05 0.20
        duration=$REPLY
        uniform 0.1 1
        probability=$REPLY
        uniform 1 50 %.0f
        add_fault "$kind" "worker $slot <-> shard 0" "$at" \
                  "duration_s = $duration" "probability = $probability" \
                  "delay_ms = $REPLY" ;;
    esac
  done
done

# The topology, without its faults.
if $quick; then
  model='[model]
kind = "mlp"
hidden = [32]
batch_size = 16

[data]
source = "synthetic"
inputs = 32
classes = 10
train_samples = 8000
test_samples = 2000
noise = 0.5'
  what="synthetic data (32 inputs, 10 classes), MLP 32-32-10, batch 16"
else
  model='[model]
kind = "mlp"
hidden = [128]
batch_size = 32

[data]
source = "fashion-mnist"
path = "/usr/share/datasets/fashion-mnist"'
  what="Fashion-MNIST, MLP 784-128-10, batch 32"
fi
# topology PORT: the topology without faults.
topology() {
  cat <<EOF
# Written by tools/chaos.sh (seed $seed): $what, OrMo,
# a supervisor node with the shard and four worker nodes.
[run]
seed = $seed
deterministic = false
stop_seconds = $seconds

[algorithm]
name = "ormo"
learning_rate = 0.05
momentum = 0.9
apply = "on_arrival"

$model

[workers]
pushes_in_flight = 2
request_timeout_s = $request_timeout
retry_after_s = $retry_after
restart_limit = 8

[server]
shards = 1

[checkpoints]
every_iterations = 200

[output]
progress_seconds = $(awk -v s="$seconds" 'BEGIN { p = s / 6; if (p < 2) p = 2; printf "%g", p }')
evaluations_per_epoch = 1

[network]
heartbeat_interval = "${heartbeat_ms}ms"
connection_timeout = "${timeout_s}s"
connect_timeout = "30s"

[[nodes]]
name = "server"
port = $1
shards = [0]
supervisor = true
EOF
  for node in "${worker_nodes[@]}"; do
    printf '\n[[nodes]]\nname = "%s"\nworkers = %d\n' "$node" \
      "${node_workers[$node]}"
  done
}

# A port nobody listens on (from /proc/net/tcp*), drawn outside the faults'
# stream so that the port does not change the faults.
free_port() {
  local used port
  used=$(awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp \
           /proc/net/tcp6 2>/dev/null | sort -u)
  while :; do
    port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
    grep -qix "$(printf '%04X' "$port")" <<< "$used" || break
  done
  echo "$port"
}

say "seed $seed$seed_note; $seconds s per run; output in $out"
say "$what; nodes: server (shard 0, supervisor)$(for node in "${worker_nodes[@]}"; do
  if ((node_workers[$node] == 1)); then
    printf ', %s (worker %d)' "$node" "${node_first_slot[$node]}"
  else
    printf ', %s (workers %d and %d)' "$node" "${node_first_slot[$node]}" \
      $((node_first_slot[$node] + 1))
  fi
done)"
say "network.connection_timeout ${timeout_s} s, workers.request_timeout_s" \
    "$request_timeout, workers.retry_after_s $retry_after"
say "${#fault_lines[@]} faults:"
mapfile -t sorted_lines < <(printf '%s\n' "${fault_lines[@]}" | sort -g)
for line in "${sorted_lines[@]}"; do
  echo "  $line"
done

# run NAME WITH_FAULTS: writes OUT/NAME.toml, runs it into OUT/NAME (log:
# OUT/NAME.log), sets exit_status[NAME]. A port taken meanwhile ("cannot
# listen") is tried again on another, twice at most.
declare -A exit_status
run() {
  local name=$1 with_faults=$2 attempt port pid status
  for attempt in 1 2 3; do
    port=$(free_port)
    {
      topology "$port"
      if $with_faults; then
        echo
        echo "# The faults (seed $seed)."
        printf '%s' "$faults_toml"
      fi
    } > "$out/$name.toml"
    say "$name: ormo run $out/$name.toml --out $out/$name (server on port" \
        "$port; log in $out/$name.log)"
    "$ormo" run "$out/$name.toml" --out "$out/$name" \
      > >(tee "$out/$name.log" \
            | grep --line-buffered -E '^(ormo: fault|ormo: node .* exited|\[server\] (epoch|ormo)|\[[^]]*\] .*(error|fail|lost))' \
            | sed -u "s/^/  $name: /") 2>&1 &
    pid=$!
    started+=("$pid")
    status=0
    wait "$pid" || status=$?
    started=()
    if ((status != 0)) && grep -q 'cannot listen' "$out/$name.log" \
         && ((attempt < 3)); then
      say "$name: port $port was taken; again on another"
      continue
    fi
    break
  done
  exit_status[$name]=$status
  say "$name: exit status $status"
}

run faulty true
run baseline false

# ------------------------------------------------------------------------
# The checks.
checks=()
failed=0
# check NAME OK DETAIL: records PASS or FAIL for invariant NAME.
check() {
  if [[ $2 == true ]]; then
    checks+=("PASS: $1 ($3)")
  else
    checks+=("FAIL: $1 ($3)")
    failed=$((failed + 1))
  fi
}
summary_of() { echo "$out/$1/summary.json"; }
# value NAME JQ: a number or string from NAME's summary.json ("" if none).
value() {
  local file
  file=$(summary_of "$1")
  [[ -f $file ]] || { echo ""; return; }
  jq -r "$2 // empty | tostring" "$file"
}

declare -A first_loss last_loss
for name in faulty baseline; do
  summary=$(summary_of "$name")
  if [[ ! -f $summary ]]; then
    check "$name: the run wrote summary.json" false \
      "exit status ${exit_status[$name]}, no $summary; see $out/$name.log"
    continue
  fi
  failure=$(jq -r '.failure // "null"' "$summary")
  stop_reason=$(jq -r '.stop_reason' "$summary")
  check "$name: the run ended as planned" \
    "$([[ ${exit_status[$name]} == 0 && $failure == null && $stop_reason == seconds ]] && echo true || echo false)" \
    "exit status ${exit_status[$name]}, failure $failure, stop_reason $stop_reason"
  read -r received applied rejected partial < <(jq -r '[.gradients_received,
    .gradients_applied, ([.gradients_rejected[]] | add // 0),
    .gradients_partial] | @tsv' "$summary")
  check "$name: received = applied + rejected + partial" \
    "$([[ $received -eq $((applied + rejected + partial)) ]] && echo true || echo false)" \
    "$received = $applied + $rejected + $partial"
  read -r crashed restarted evicted < <(jq -r '[.membership.crashed,
    .membership.restarted, .membership.evicted] | @tsv' "$summary")
  check "$name: crashed = restarted + evicted" \
    "$([[ $crashed -eq $((restarted + evicted)) ]] && echo true || echo false)" \
    "$crashed = $restarted + $evicted"
  metrics="$out/$name/metrics.csv"
  read -r first_loss[$name] last_loss[$name] < <(awk -F, '
    NR > 1 && $6 != "" { if (first == "") first = $6; last = $6 }
    NR > 1 { last_row = $6 }
    END { print (first == "" ? "none" : first), (last_row == "" ? "none" : last_row) }' \
    "$metrics" 2>/dev/null || echo "none none")
  check "$name: the train loss falls" \
    "$(awk -v a="${first_loss[$name]}" -v b="${last_loss[$name]}" \
         'BEGIN { print (a != "none" && b != "none" && b + 0 < a + 0) ? "true" : "false" }')" \
    "last row ${last_loss[$name]} < first ${first_loss[$name]}"
done

declare -A declared=()
for kind in "${declared_kinds[@]}"; do
  declared[$kind]=$((${declared[$kind]:-0} + 1))
done
faulty_summary=$(summary_of faulty)
if [[ -f $faulty_summary ]]; then
  # Declared against fired, kind by kind.
  mismatches=""
  all_kinds=$(jq -r '.faults_injected | keys[]' "$faulty_summary" \
                | cat - <(printf '%s\n' "${!declared[@]}") | sort -u)
  for kind in $all_kinds; do
    fired=$(jq -r --arg k "$kind" '.faults_injected[$k] // 0' \
              "$faulty_summary")
    if [[ $fired != "${declared[$kind]:-0}" ]]; then
      mismatches+=" $kind: $fired fired, ${declared[$kind]:-0} declared;"
    fi
  done
  check "faulty: every declared fault fired" \
    "$([[ -z $mismatches ]] && echo true || echo false)" \
    "${mismatches:-${#declared_kinds[@]} declared, as many fired}"
  shard_restarts=$(jq -r '.shard_restarts' "$faulty_summary")
  check "faulty: each killed shard restarted from its checkpoint" \
    "$([[ $shard_restarts == "${declared[kill_shard]:-0}" ]] && echo true || echo false)" \
    "shard_restarts $shard_restarts, kill_shard ${declared[kill_shard]:-0}"
  expected_lost_workers=$((node_workers[$killed_node] + node_workers[$long_stopped_node]))
  read -r nodes_lost lost < <(jq -r '[.membership.nodes_lost,
    .membership.lost] | @tsv' "$faulty_summary")
  check "faulty: the killed node and the one stopped past the timeout are lost, no other" \
    "$([[ $nodes_lost == 2 && $lost == "$expected_lost_workers" ]] && echo true || echo false)" \
    "nodes_lost $nodes_lost of 2 ($killed_node, $long_stopped_node), workers lost $lost of $expected_lost_workers"
fi
baseline_summary=$(summary_of baseline)
if [[ -f $baseline_summary ]]; then
  baseline_faults=$(jq -r '.faults_injected | length' "$baseline_summary")
  check "baseline: no fault, no node lost" \
    "$([[ $baseline_faults == 0 && $(jq -r '.membership.nodes_lost' "$baseline_summary") == 0 ]] && echo true || echo false)" \
    "$baseline_faults kinds fired, $(jq -r '.membership.nodes_lost' "$baseline_summary") nodes lost"
fi
if [[ -f $faulty_summary && -f $baseline_summary ]]; then
  faulty_accuracy=$(value faulty .final_test_accuracy)
  baseline_accuracy=$(value baseline .final_test_accuracy)
  check "faulty accuracy >= baseline - $margin" \
    "$(awk -v a="${faulty_accuracy:-0}" -v b="${baseline_accuracy:-1}" -v m="$margin" \
         'BEGIN { print (a + 0 >= b - m) ? "true" : "false" }')" \
    "${faulty_accuracy:-none} against ${baseline_accuracy:-none} - $margin"
fi

# ------------------------------------------------------------------------
# The table.
cell() { # NAME JQ
  local v
  v=$(value "$1" "$2")
  echo "${v:-—}"
}
formatted() { # NAME JQ FORMAT
  local v
  v=$(value "$1" "$2")
  [[ -n $v ]] && awk -v a="$v" -v f="$3" 'BEGIN { printf f, a }' || echo "—"
}
percent() { # NAME
  local v
  v=$(value "$1" .final_test_accuracy)
  [[ -n $v ]] && awk -v a="$v" 'BEGIN { printf "%.2f %%", 100 * a }' || echo "—"
}
rejected_reasons=$( (for name in faulty baseline; do
    [[ -f $(summary_of "$name") ]] \
      && jq -r '.gradients_rejected | keys[]' "$(summary_of "$name")"
  done) | sort -u)
results="$out/results.md"
{
  echo "Chaos soak, $(date -u +%Y-%m-%d): \`$command_line\` (seed" \
       "$seed$seed_note; $seconds s per run; $what; $(nproc) cores)."
  echo
  echo "| | faulty | baseline |"
  echo "|---|---|---|"
  for kind in kill_node stop_node "${worker_kinds[@]}" "${link_kinds[@]}" \
              kill_shard; do
    echo "| faults: $kind | $(cell faulty ".faults_injected.$kind // 0") of ${declared[$kind]:-0} | $(cell baseline ".faults_injected.$kind // 0") |"
  done
  for row in "gradients received:.gradients_received" \
             "gradients applied:.gradients_applied"; do
    echo "| ${row%%:*} | $(cell faulty "${row#*:}") | $(cell baseline "${row#*:}") |"
  done
  if [[ -z $rejected_reasons ]]; then
    echo "| gradients rejected | 0 | 0 |"
  fi
  for reason in $rejected_reasons; do
    echo "| gradients rejected: $reason | $(cell faulty ".gradients_rejected.$reason // 0") | $(cell baseline ".gradients_rejected.$reason // 0") |"
  done
  for row in "gradients partial:.gradients_partial" \
             "gradients lost:.gradients_lost" \
             "gradients duplicate:.gradients_duplicate" \
             "retries:.retries" \
             "workers crashed:.membership.crashed" \
             "restarts:.restarts" \
             "workers evicted:.membership.evicted" \
             "shard restarts:.shard_restarts" \
             "gradients rolled back:.gradients_rolled_back" \
             "nodes lost:.membership.nodes_lost" \
             "workers lost with their node:.membership.lost" \
             "iterations:.iterations"; do
    echo "| ${row%%:*} | $(cell faulty "${row#*:}") | $(cell baseline "${row#*:}") |"
  done
  echo "| epochs | $(formatted faulty .epochs %.1f) | $(formatted baseline .epochs %.1f) |"
  echo "| final train loss | $(formatted faulty .final_train_loss %.4f) | $(formatted baseline .final_train_loss %.4f) |"
  echo "| final test accuracy | $(percent faulty) | $(percent baseline) |"
  echo
  echo "Faults (seconds after the start; node faults from the launcher's"
  echo "start, the others from the supervisor's):"
  echo
  for line in "${sorted_lines[@]}"; do
    echo "- $line"
  done
  echo
  for line in "${checks[@]}"; do
    echo "- $line"
  done
} > "$results"
echo
cat "$results"
echo
if ((failed)); then
  for line in "${checks[@]}"; do
    [[ $line == FAIL:* ]] && echo "chaos: ${line#FAIL: }: FAILED (seed $seed, $out)" >&2
  done
  exit 1
fi
say "every invariant holds (results in $results)"
