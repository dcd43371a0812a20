#!/usr/bin/env bash
# The convergence study: Fashion-MNIST, MLP 784-128-10, batch 32, 10 epochs,
# K in {16, 64} workers (K = workers), homogeneous and heterogeneous (a
# quarter of the workers 4x slower), every rule (ssgdm, asgd, asgd-da,
# naive-asgdm, shifted-momentum, smega2, ormo with both placements, ormo-da),
# 3 seeds, in deterministic mode (virtual time, so the tables do not depend
# on the machine's load). The learning rate of each rule is the best of a
# 5-point grid on K = 16 homogeneous (seed 1, mean test accuracy over the
# last epoch); the same grid on K = 64 is a supplement. Then a wall-clock
# comparison in real time: every rule with 2 workers, one 4x slower (K = 2),
# 3 seeds, each at the best rate of a deterministic grid of the same setting.
#
# Usage: tools/study.sh [--deterministic-only] [OUT_DIR]   (default: study/)
# The deterministic runs (phase 1) do not depend on the machine's load; the
# wall-clock runs (phase 2) do: run them on otherwise idle cores. With
# --deterministic-only the script stops after phase 1. Runs whose summary
# exists are skipped, so a second call (without the flag, e.g. under a lock
# that keeps other real-time measurements away) runs only phase 2.
#
# Writes OUT_DIR/results.md (grids, table, wall-clock comparison),
# OUT_DIR/accuracy.md (the test accuracies alone, as the README shows them),
# OUT_DIR/runs.csv (one line per deterministic run), OUT_DIR/wallclock.csv
# (one line per wall-clock run), OUT_DIR/accuracy-*.png (test accuracy vs
# epoch per setting, mean over seeds), OUT_DIR/time-virtual-*.png (test
# accuracy vs virtual seconds), OUT_DIR/wallclock-K2-heterogeneous.png (test
# accuracy vs wall seconds) and OUT_DIR/runs/ (every run's output
# directory). Deterministic runs go two at a time, wall-clock runs one at a
# time; about 15 minutes on 2 idle cores.
set -euo pipefail

deterministic_only=false
if [[ ${1:-} == --deterministic-only ]]; then
  deterministic_only=true
  shift
fi
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$top/study}")
"$top/tools/setup.sh" ormo
if ! command -v gnuplot >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "study: gnuplot is missing; run as root or: apt-get install gnuplot-nox" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
fi

ormo="$top/build/bin/ormo"
topology="$top/examples/fashion-mnist-mlp.toml"
runs="$out/runs"
mkdir -p "$runs"
jobs=$(nproc 2>/dev/null || echo 2)
export study_epoch=$(date +%s)

algorithms=(ssgdm asgd asgd-da naive-asgdm shifted-momentum smega2
            ormo-on_close ormo-on_arrival ormo-da)
seeds=(1 2 3)
# Five rates each, a factor 2 to 3 apart, around what quick runs found
# (OrMo's per-gradient step is eta / K, so its good eta is larger than
# ASGD's; the rules whose momentum takes every gradient at the full rate,
# naive ASGDm, shifted momentum and SMEGA2, need small rates, and smaller
# ones as K grows).
declare -A grid=(
  [ssgdm]="0.025 0.05 0.1 0.2 0.4"
  [asgd]="0.0025 0.005 0.01 0.02 0.04"
  [asgd-da]="0.0025 0.005 0.01 0.02 0.04"
  [naive-asgdm]="0.0001 0.0003 0.001 0.003 0.01"
  [shifted-momentum]="0.00025 0.0005 0.001 0.002 0.004"
  [smega2]="0.000625 0.00125 0.0025 0.005 0.01"
  [ormo-on_close]="0.0125 0.025 0.05 0.1 0.2"
  [ormo-on_arrival]="0.0125 0.025 0.05 0.1 0.2"
  [ormo-da]="0.0125 0.025 0.05 0.1 0.2"
)
settings=(K16-homogeneous K16-heterogeneous K64-homogeneous K64-heterogeneous)

# gnuplot line style of each rule: OrMo red (its default placement solid),
# the synchronous reference black, the others in colours and dash types of
# their own.
declare -A style=(
  [ssgdm]="lc rgb '#000000' dt 1 lw 2.5"
  [asgd]="lc rgb '#1f77b4' dt 2 lw 2"
  [asgd-da]="lc rgb '#17becf' dt 4 lw 2"
  [naive-asgdm]="lc rgb '#ff7f0e' dt 2 lw 2"
  [shifted-momentum]="lc rgb '#9467bd' dt 1 lw 2"
  [smega2]="lc rgb '#2ca02c' dt 1 lw 2"
  [ormo-on_close]="lc rgb '#d62728' dt 3 lw 2"
  [ormo-on_arrival]="lc rgb '#d62728' dt 1 lw 2.5"
  [ormo-da]="lc rgb '#8c2d04' dt 5 lw 2"
)

say() { echo "study: [$(($(date +%s) - study_epoch)) s] $*"; }

# ormo's --set options for an algorithm label.
algorithm_options() {
  case $1 in
    ormo-on_close) echo "--set algorithm.name=ormo --set algorithm.apply=on_close" ;;
    ormo-on_arrival) echo "--set algorithm.name=ormo --set algorithm.apply=on_arrival" ;;
    ormo-da) echo "--set algorithm.name=ormo-da --set algorithm.apply=on_arrival" ;;
    *) echo "--set algorithm.name=$1" ;;
  esac
}

setting_options() {
  local workers=${1%%-*}
  workers=${workers#K}
  local options="--set workers.count=$workers --set algorithm.iteration_size=workers"
  if [[ $1 == *heterogeneous ]]; then
    options+=" --set workers.speed.profile=slow_fraction"
    options+=" --set workers.speed.fraction=0.25 --set workers.speed.factor=4"
  fi
  echo "$options"
}

# Runs every line of a job file (NAME OPTIONS...) that has no summary yet,
# `jobs` at a time, and says how many there are and when each ends.
run_jobs() { # JOB_FILE LABEL
  local total to_do
  total=$(grep -c -v '^$' "$1" || true)
  to_do=$(grep -v '^$' "$1" | while read -r name options; do
    [[ -f "$runs/$name/summary.json" ]] || echo "$name"
  done | wc -l)
  say "$2: $total runs, $to_do to do"
  grep -v '^$' "$1" | while read -r name options; do
    [[ -f "$runs/$name/summary.json" ]] || echo "$name $options"
  done | xargs -r -P "$jobs" -L 1 bash -c '
    name=$0
    if "'"$ormo"'" run "'"$topology"'" --out "'"$runs"'/$name" "$@" \
        > "'"$runs"'/$name.log" 2>&1; then
      echo "study: [$(($(date +%s) - study_epoch)) s] $name done"
    else
      echo "study: $name FAILED (see '"$runs"'/$name.log)"
    fi'
}

json_number() { # FILE KEY
  sed -n "s/^  \"$2\": \\([^,]*\\),\$/\\1/p" "$1"
}

# Mean test accuracy of the last 4 evaluations of a run (the last epoch at 4
# evaluations per epoch; less noisy than the last one alone).
last_epoch_accuracy() { # RUN_DIR
  tail -n 4 "$1/metrics.csv" | awk -F, '
    { s += ($8 == "" ? 0 : $8); n++ } END { printf "%.5f", s / n }'
}

# Runs the learning-rate grid of each ALGORITHM (rates from the associative
# array named GRID) with OPTIONS and seed 1, as runs PREFIX-ALGORITHM-lrRATE.
run_grid() { # PREFIX LABEL OPTIONS GRID ALGORITHM...
  local prefix=$1 label=$2 options=$3 algorithm rate
  local -n rates=$4
  shift 4
  : > "$out/$prefix.jobs"
  for algorithm in "$@"; do
    for rate in ${rates[$algorithm]}; do
      echo "$prefix-$algorithm-lr$rate $common --set run.seed=1 $options $(algorithm_options "$algorithm") --set algorithm.learning_rate=$rate" >> "$out/$prefix.jobs"
    done
  done
  run_jobs "$out/$prefix.jobs" "$label"
}

# Sets `cells` to "RATE / ACCURACY |" for each grid run PREFIX-ALGORITHM-lrRATE
# and `chosen` to the rate with the best last-epoch accuracy.
grid_result() { # PREFIX ALGORITHM RATE...
  local prefix=$1 algorithm=$2 rate accuracy best_accuracy=-1
  shift 2
  cells=""
  chosen=""
  for rate in "$@"; do
    accuracy=$(last_epoch_accuracy "$runs/$prefix-$algorithm-lr$rate")
    cells+=" $rate / $(awk -v a="$accuracy" 'BEGIN { printf "%.2f %%", 100 * a }') |"
    if awk -v a="$accuracy" -v b="$best_accuracy" 'BEGIN { exit !(a > b) }'; then
      chosen=$rate
      best_accuracy=$accuracy
    fi
  done
}

# Writes the table of a grid: one line per algorithm, its rates and
# accuracies and the best rate, plus the column EXTRA_COLUMN from the
# associative array named EXTRA when given. Sets the associative array named
# CHOSEN to each algorithm's best rate.
grid_table() { # PREFIX TITLE GRID CHOSEN [EXTRA_COLUMN EXTRA]
  local prefix=$1 title=$2 algorithm
  local -n rates=$3 chosen_rates=$4
  {
    echo "## $title"
    echo
    if (($# > 4)); then
      local -n extra=$6
      echo "| algorithm | $(printf 'lr / accuracy | %.0s' 1 2 3 4 5)best | $5 |"
      echo "|---|---|---|---|---|---|---|---|"
    else
      echo "| algorithm | $(printf 'lr / accuracy | %.0s' 1 2 3 4 5)best |"
      echo "|---|---|---|---|---|---|---|"
    fi
    for algorithm in "${algorithms[@]}"; do
      grid_result "$prefix" "$algorithm" ${rates[$algorithm]}
      chosen_rates[$algorithm]=$chosen
      if (($# > 4)); then
        echo "| $algorithm |$cells $chosen | ${extra[$algorithm]} |"
      else
        echo "| $algorithm |$cells $chosen |"
      fi
    done
  } > "$out/$prefix.md"
}

# Writes gnuplot's data file DATA (one block per algorithm, "x y" lines) from
# each algorithm's runs, mean over seeds row by row (row k of every seed is
# the same evaluation point: deterministic mode evaluates at exact gradient
# counts, real time within a gradient or two). X_COLUMN and Y_COLUMN are
# metrics.csv columns. RUN_NAME is a function printing the run directory of
# an algorithm and a seed. When the seeds of an algorithm have different
# numbers of rows, its block is seed 1's alone, and its name is appended to
# the file DATA-single.dat (DATA without its .dat).
plot_data() { # DATA X_COLUMN RUN_NAME
  local data=$1 x_column=$2 run_name=$3 algorithm seed
  : > "$data"
  local single="${data%.dat}-single.dat"
  : > "$single"
  for algorithm in "${algorithms[@]}"; do
    echo "# $algorithm" >> "$data"
    local files=()
    for seed in "${seeds[@]}"; do
      files+=("$($run_name "$algorithm" "$seed")/metrics.csv")
    done
    if [[ $(for f in "${files[@]}"; do wc -l < "$f"; done | sort -u | wc -l) -ne 1 ]]; then
      echo "$algorithm" >> "$single"
      files=("${files[0]}")
    fi
    awk -F, -v x="$x_column" '
      FNR > 1 { row = FNR; n[row]++; t[row] += $x; a[row] += ($8 == "" ? 0 : $8) }
      END { for (r = 2; r in n; r++) printf "%.5f %.5f\n", t[r] / n[r], a[r] / n[r] }' \
      "${files[@]}" >> "$data"
    printf '\n\n' >> "$data"
  done
}

# Plots DATA (from plot_data) to PNG with every algorithm, its rate from the
# associative array named RATES in the key, the key below the plot.
plot_png() { # DATA PNG TITLE XLABEL YRANGE RATES
  local data=$1 png=$2 title=$3 xlabel=$4 yrange=$5 index=0 algorithm
  local -n plot_rates=$6
  local commands="set terminal pngcairo size 1000,700 font ',11'; set output '$png';"
  commands+=" set title '$title'; set termoption noenhanced;"
  commands+=" set xlabel '$xlabel'; set ylabel 'test accuracy';"
  commands+=" set key outside below center horizontal maxcols 3 width 2; set grid;"
  commands+=" set yrange [$yrange];"
  commands+=" plot"
  for algorithm in "${algorithms[@]}"; do
    commands+=" '$data' index $index with lines ${style[$algorithm]} title '$algorithm (lr ${plot_rates[$algorithm]})',"
    index=$((index + 1))
  done
  gnuplot -e "${commands%,}"
}

common="--set run.deterministic=true --set run.stop_epochs=10 --set output.evaluations_per_epoch=4"

# Phase 1: deterministic runs.
# 1a. Learning-rate grid on K = 16 homogeneous, seed 1.
run_grid grid "K = 16 grid" "$(setting_options K16-homogeneous)" grid "${algorithms[@]}"
declare -A best_rate
grid_table grid "Learning-rate grid (K = 16, homogeneous, seed 1; mean test accuracy over the last epoch)" grid best_rate

# 1b. Every setting, algorithm and seed at the chosen rate.
main_run() { # SETTING ALGORITHM SEED
  echo "$1-$2-lr${best_rate[$2]}-seed$3"
}
: > "$out/main.jobs"
for setting in "${settings[@]}"; do
  for algorithm in "${algorithms[@]}"; do
    for seed in "${seeds[@]}"; do
      echo "$(main_run "$setting" "$algorithm" "$seed") $common --set run.seed=$seed $(setting_options "$setting") $(algorithm_options "$algorithm") --set algorithm.learning_rate=${best_rate[$algorithm]}" >> "$out/main.jobs"
    done
  done
done
run_jobs "$out/main.jobs" "4 settings x ${#algorithms[@]} rules x ${#seeds[@]} seeds"

echo "setting,algorithm,seed,learning_rate,final_train_loss,final_test_accuracy,iterations,mean_delay,max_delay" > "$out/runs.csv"
for setting in "${settings[@]}"; do
  for algorithm in "${algorithms[@]}"; do
    for seed in "${seeds[@]}"; do
      summary="$runs/$(main_run "$setting" "$algorithm" "$seed")/summary.json"
      echo "$setting,$algorithm,$seed,${best_rate[$algorithm]},$(json_number "$summary" final_train_loss),$(json_number "$summary" final_test_accuracy),$(json_number "$summary" iterations),$(json_number "$summary" mean_delay),$(json_number "$summary" max_delay)" >> "$out/runs.csv"
    done
  done
done

# Table: mean ± sd over seeds, one line per algorithm.
{
  echo "## Final train loss and test accuracy after 10 epochs (mean ± sd over seeds ${seeds[*]})"
  echo
  echo "| algorithm (lr) |$(printf ' %s |' "${settings[@]}")"
  echo "|---|$(printf -- '---|%.0s' "${settings[@]}")"
  for algorithm in "${algorithms[@]}"; do
    line="| $algorithm (${best_rate[$algorithm]}) |"
    for setting in "${settings[@]}"; do
      line+=$(awk -F, -v s="$setting" -v a="$algorithm" '
        $1 == s && $2 == a {
          n++; l = ($5 == "null" ? 1e9 : $5); c = ($6 == "null" ? 0 : $6)
          sl += l; sll += l * l; sa += c; saa += c * c
        }
        END {
          ml = sl / n; ma = sa / n
          vl = n > 1 ? (sll - n * ml * ml) / (n - 1) : 0
          va = n > 1 ? (saa - n * ma * ma) / (n - 1) : 0
          dl = sqrt(vl > 0 ? vl : 0); da = sqrt(va > 0 ? va : 0)
          if (ml > 1e8) printf " diverged; %.2f ± %.2f %% |", 100 * ma, 100 * da
          else printf " %.3f ± %.3f; %.2f ± %.2f %% |", ml, dl, 100 * ma, 100 * da
        }' "$out/runs.csv")
    done
    echo "$line"
  done
  echo
  echo "Each cell: final training loss (mean minibatch loss over the last quarter epoch); test accuracy."
} > "$out/table.md"

# The same, test accuracy alone (the README's table).
{
  echo "| algorithm (lr) |$(printf ' %s |' "${settings[@]}")"
  echo "|---|$(printf -- '---|%.0s' "${settings[@]}")"
  for algorithm in "${algorithms[@]}"; do
    line="| $algorithm (${best_rate[$algorithm]}) |"
    for setting in "${settings[@]}"; do
      line+=$(awk -F, -v s="$setting" -v a="$algorithm" '
        $1 == s && $2 == a { n++; c = ($6 == "null" ? 0 : $6); sa += c; saa += c * c }
        END {
          ma = sa / n; va = n > 1 ? (saa - n * ma * ma) / (n - 1) : 0
          printf " %.2f ± %.2f |", 100 * ma, 100 * sqrt(va > 0 ? va : 0)
        }' "$out/runs.csv")
    done
    echo "$line"
  done
} > "$out/accuracy.md"

# 1c. Supplement: the same grid on K = 64 homogeneous (seed 1), to see how
# much of the K = 64 ranking comes from rates tuned at K = 16.
run_grid grid64 "K = 64 grid" "$(setting_options K64-homogeneous)" grid "${algorithms[@]}"
declare -A best_rate64
grid_table grid64 "Supplement: rates retuned at K = 64 (homogeneous, seed 1; mean test accuracy over the last epoch)" grid best_rate64 "rate from K = 16" best_rate

# 1d. The wall-clock setting's grid, deterministic: 2 workers, the second
# 4x slower, K = 2, 4 epochs (the wall-clock runs' length), seed 1.
wall_epochs=4
wall_options="--set workers.count=2 --set algorithm.iteration_size=workers --set workers.speed.profile=factors --set workers.speed.factors=[1,4]"
declare -A wall_grid=(
  [ssgdm]="0.003125 0.00625 0.0125 0.025 0.05"
  [asgd]="0.0125 0.025 0.05 0.1 0.2"
  [asgd-da]="0.0125 0.025 0.05 0.1 0.2"
  [naive-asgdm]="0.0025 0.005 0.01 0.02 0.04"
  [shifted-momentum]="0.0025 0.005 0.01 0.02 0.04"
  [smega2]="0.0025 0.005 0.01 0.02 0.04"
  [ormo-on_close]="0.003125 0.00625 0.0125 0.025 0.05"
  [ormo-on_arrival]="0.003125 0.00625 0.0125 0.025 0.05"
  [ormo-da]="0.003125 0.00625 0.0125 0.025 0.05"
)
common_10=$common
common="--set run.deterministic=true --set run.stop_epochs=$wall_epochs --set output.evaluations_per_epoch=4"
run_grid wallgrid "K = 2 heterogeneous grid ($wall_epochs epochs)" "$wall_options" wall_grid "${algorithms[@]}"
common=$common_10
declare -A wall_rate
grid_table wallgrid "Learning-rate grid of the wall-clock setting (deterministic, 2 workers with speed factors 1 and 4, K = 2, $wall_epochs epochs, seed 1; mean test accuracy over the last epoch)" wall_grid wall_rate

# Plots: test accuracy vs epoch, mean over seeds, one PNG per setting; and
# test accuracy vs virtual seconds for the heterogeneous settings (what a
# cluster whose gradients take 1 ms at speed factor 1 would see).
for setting in "${settings[@]}"; do
  setting_run() { echo "$runs/$(main_run "$setting" "$1" "$2")"; }
  plot_data "$out/accuracy-$setting.dat" 3 setting_run
  plot_png "$out/accuracy-$setting.dat" "$out/accuracy-$setting.png" \
    "Fashion-MNIST, MLP 784-128-10, $setting (mean of ${#seeds[@]} seeds)" \
    epoch 0.6:0.92 best_rate
  if [[ $setting == *heterogeneous ]]; then
    plot_data "$out/time-virtual-$setting.dat" 1 setting_run
    plot_png "$out/time-virtual-$setting.dat" "$out/time-virtual-$setting.png" \
      "$setting, virtual time: 1 ms per gradient, a quarter of the workers 4x slower (mean of ${#seeds[@]} seeds)" \
      "virtual seconds" 0.6:0.92 best_rate
  fi
done

{
  echo "# Convergence study"
  echo
  echo "Produced by \`tools/study.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores)."
  echo
  cat "$out/grid.md"
  echo
  cat "$out/table.md"
  echo
  cat "$out/grid64.md"
  echo
  echo "## Test accuracy per epoch (mean of ${#seeds[@]} seeds)"
  echo
  for setting in "${settings[@]}"; do
    echo "![$setting](accuracy-$setting.png)"
  done
  echo
  echo "## Test accuracy against virtual time (heterogeneous settings)"
  echo
  echo "Deterministic mode: a gradient takes 1 ms × speed factor × a log-normal"
  echo "jitter (σ = 0.2) of virtual time, so these curves show what a cluster of"
  echo "K machines with these speeds would see, the server's costs left out."
  echo "Same runs as above. Virtual seconds to the first evaluation at ≥ 85 % test"
  echo "accuracy, mean over the seeds that reached it, and virtual seconds for 10 epochs:"
  echo
  echo "| algorithm |$(for setting in "${settings[@]}"; do
    [[ $setting == *heterogeneous ]] && printf ' %s: to 85 %% | 10 epochs |' "$setting"
  done)"
  echo "|---|---|---|---|---|"
  for algorithm in "${algorithms[@]}"; do
    line="| $algorithm |"
    for setting in "${settings[@]}"; do
      [[ $setting == *heterogeneous ]] || continue
      files=()
      for seed in "${seeds[@]}"; do
        files+=("$runs/$(main_run "$setting" "$algorithm" "$seed")/metrics.csv")
      done
      line+=$(awk -F, -v seeds=${#seeds[@]} '
        FNR == 1 { done = 0 }
        FNR > 1 && !done && $8 != "" && $8 >= 0.85 { done = 1; r++; s += $1 }
        FNR > 1 { last[FILENAME] = $1 }
        END {
          for (f in last) t += last[f]
          if (r == seeds) printf " %.3f |", s / r
          else if (r > 0) printf " %.3f (%d of %d seeds) |", s / r, r, seeds
          else printf " not reached |"
          printf " %.2f |", t / seeds
        }' "${files[@]}")
    done
    echo "$line"
  done
  echo
  for setting in "${settings[@]}"; do
    if [[ $setting == *heterogeneous ]]; then
      echo "![$setting, virtual time](time-virtual-$setting.png)"
    fi
  done
} > "$out/results.md"

if $deterministic_only; then
  printf '\n## Wall clock\n\nNot run (`tools/study.sh --deterministic-only`).\n' \
    >> "$out/results.md"
  say "phase 1 done (deterministic); results without the wall clock in $out/results.md"
  exit 0
fi

# Phase 2: wall clock, real time, every rule with one worker per core, the
# second 4x slower (with more workers than cores the emulated slowness, a
# wait after the computation, hides behind the other workers' computation).
# One run at a time, the rules in turn for each seed (so that a change of
# the machine's load falls on all of them alike).
wall_run() { # ALGORITHM SEED
  echo "$runs/wallclock-$1-lr${wall_rate[$1]}-e$wall_epochs-seed$2"
}
say "wall clock: ${#algorithms[@]} rules x ${#seeds[@]} seeds in real time, one at a time"
for seed in "${seeds[@]}"; do
  for algorithm in "${algorithms[@]}"; do
    run=$(wall_run "$algorithm" "$seed")
    [[ -f "$run/summary.json" ]] && continue
    if "$ormo" run "$topology" --out "$run" --set run.seed=$seed \
        --set run.stop_epochs=$wall_epochs \
        --set output.evaluations_per_epoch=8 $wall_options \
        $(algorithm_options "$algorithm") \
        --set algorithm.learning_rate=${wall_rate[$algorithm]} \
        > "$run.log" 2>&1; then
      say "$(basename "$run") done"
    else
      say "$(basename "$run") FAILED (see $run.log)"
    fi
  done
done

# Per run: the first evaluation at >= 85 % test accuracy (wall seconds and
# epochs), the accuracy and wall seconds at the end of the last epoch.
echo "algorithm,seed,learning_rate,seconds_to_85,epochs_to_85,final_test_accuracy,seconds,samples_per_second" > "$out/wallclock.csv"
for algorithm in "${algorithms[@]}"; do
  for seed in "${seeds[@]}"; do
    run=$(wall_run "$algorithm" "$seed")
    echo "$algorithm,$seed,${wall_rate[$algorithm]},$(awk -F, '
      FNR > 1 && !reached && $8 != "" && $8 >= 0.85 { reached = 1; s = $2; e = $3 }
      FNR > 1 { last_s = $2; last_a = $8 }
      END { if (reached) printf "%.3f,%.3f,", s, e; else printf ",,"
            printf "%s,%.3f", last_a, last_s }' "$run/metrics.csv"),$(json_number "$run/summary.json" samples_per_second)" >> "$out/wallclock.csv"
  done
done

wall_plot_run() { wall_run "$@"; }
plot_data "$out/wallclock-K2-heterogeneous.dat" 2 wall_plot_run
plot_png "$out/wallclock-K2-heterogeneous.dat" "$out/wallclock-K2-heterogeneous.png" \
  "Real time, $(nproc) cores: 2 workers, one 4x slower, K = 2 (mean of ${#seeds[@]} seeds)" \
  "wall seconds" 0.7:0.9 wall_rate
single=$(paste -sd, "$out/wallclock-K2-heterogeneous-single.dat" | sed 's/,/, /g')

{
  echo "## Wall clock: test accuracy against real time, heterogeneous workers"
  echo
  echo "Real time on this machine ($(nproc) cores), 2 workers (speed factors 1 and 4: the"
  echo "slow worker waits 3 times its measured computation after each gradient), K = 2,"
  echo "$wall_epochs epochs, 8 evaluations per epoch, one run at a time; each rule at the best"
  echo "rate of the deterministic grid of the same setting above. Time to 85 %: the first"
  echo "evaluation at ≥ 85 % test accuracy. Per-run figures: \`wallclock.csv\`."
  echo
  echo "| algorithm | lr | seconds to 85 % (seeds ${seeds[*]}) | mean | epochs to 85 % (mean) | test accuracy after $wall_epochs epochs | seconds for $wall_epochs epochs | samples/s |"
  echo "|---|---|---|---|---|---|---|---|"
  for algorithm in "${algorithms[@]}"; do
    awk -F, -v a="$algorithm" '
      $1 == a {
        n++; lr = $3
        cell = cell (n > 1 ? ", " : "") ($4 == "" ? "–" : sprintf("%.2f", $4))
        if ($4 != "") { r++; s += $4; e += $5 }
        acc += $6; acc2 += $6 * $6; secs += $7; sps += $8
      }
      END {
        va = n > 1 ? (acc2 - acc * acc / n) / (n - 1) : 0
        printf "| %s | %s | %s | %s | %s | %.2f ± %.2f %% | %.2f | %.0fk |\n", a, lr, cell,
          (r == n ? sprintf("%.2f", s / r) : sprintf("%d of %d reached", r, n)),
          (r > 0 ? sprintf("%.2f", e / r) : "–"),
          100 * acc / n, 100 * sqrt(va > 0 ? va : 0), secs / n, sps / n / 1000
      }' "$out/wallclock.csv"
  done
  echo
  if [[ -n $single ]]; then
    echo "The figure shows the mean over seeds of each evaluation (time and accuracy), except"
    echo "for $single, whose seeds had different numbers of evaluations: seed 1 alone."
  else
    echo "The figure shows the mean over seeds of each evaluation (time and accuracy)."
  fi
  echo
  echo "![wall clock, K = 2 heterogeneous](wallclock-K2-heterogeneous.png)"
} > "$out/wallclock.md"

{
  echo
  cat "$out/wallgrid.md"
  echo
  cat "$out/wallclock.md"
} >> "$out/results.md"
say "results in $out/results.md"
