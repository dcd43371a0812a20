#!/usr/bin/env bash
# The convergence study: Fashion-MNIST, MLP 784-128-10, batch 32, 10 epochs,
# K in {16, 64} workers (K = workers), homogeneous and heterogeneous (a
# quarter of the workers 4x slower), algorithms ssgdm, asgd, naive-asgdm,
# ormo (both placements) and ormo-da, 3 seeds, in deterministic mode (virtual
# time, so the table does not depend on the machine's load). The learning
# rate of each algorithm is the best of a small grid on K = 16 homogeneous
# (seed 1, final test accuracy). Then one wall-clock comparison in real time:
# ormo vs ssgdm, time to 85 % test accuracy with heterogeneous workers.
#
# Usage: tools/study.sh [OUT_DIR]   (default: study/)
# Writes OUT_DIR/results.md (grid, table, wall-clock comparison),
# OUT_DIR/runs.csv (one line per run), OUT_DIR/accuracy-*.png (test accuracy
# vs epoch per setting, mean over seeds) and OUT_DIR/runs/ (every run's
# output directory). Runs two at a time; about 15 minutes on 2 cores.
set -euo pipefail

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

algorithms=(ssgdm asgd naive-asgdm ormo-on_close ormo-on_arrival ormo-da)
seeds=(1 2 3)
# Five rates each, a factor 2 to 3 apart, around what a prototype found
# (OrMo's per-gradient step is eta / K, so its good eta is larger than
# ASGD's; naive ASGDm needs very small rates).
declare -A grid=(
  [ssgdm]="0.025 0.05 0.1 0.2 0.4"
  [asgd]="0.0025 0.005 0.01 0.02 0.04"
  [naive-asgdm]="0.0001 0.0003 0.001 0.003 0.01"
  [ormo-on_close]="0.0125 0.025 0.05 0.1 0.2"
  [ormo-on_arrival]="0.0125 0.025 0.05 0.1 0.2"
  [ormo-da]="0.0125 0.025 0.05 0.1 0.2"
)
settings=(K16-homogeneous K16-heterogeneous K64-homogeneous K64-heterogeneous)

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

# Runs every line of a job file (NAME OPTIONS...) that has no summary yet.
run_jobs() {
  grep -v '^$' "$1" | while read -r name options; do
    [[ -f "$runs/$name/summary.json" ]] || echo "$name $options"
  done | xargs -r -P "$jobs" -L 1 bash -c '
    name=$0
    if "'"$ormo"'" run "'"$topology"'" --out "'"$runs"'/$name" "$@" \
        > "'"$runs"'/$name.log" 2>&1; then
      echo "study: $name done"
    else
      echo "study: $name FAILED (see '"$runs"'/$name.log)"
    fi'
}

json_number() { # FILE KEY
  sed -n "s/^  \"$2\": \\([^,]*\\),\$/\\1/p" "$1"
}

# Mean test accuracy of the last epoch's evaluations of a run (less noisy
# than the last one alone).
last_epoch_accuracy() { # RUN_DIR
  tail -n 4 "$1/metrics.csv" | awk -F, '
    { s += ($8 == "" ? 0 : $8); n++ } END { printf "%.5f", s / n }'
}

# Runs the learning-rate grid of each ALGORITHM (rates from the associative
# array named GRID) with OPTIONS and seed 1, as runs PREFIX-ALGORITHM-lrRATE.
run_grid() { # PREFIX OPTIONS GRID ALGORITHM...
  local prefix=$1 options=$2 algorithm rate
  local -n rates=$3
  shift 3
  : > "$out/$prefix.jobs"
  for algorithm in "$@"; do
    for rate in ${rates[$algorithm]}; do
      echo "$prefix-$algorithm-lr$rate $common --set run.seed=1 $options $(algorithm_options "$algorithm") --set algorithm.learning_rate=$rate" >> "$out/$prefix.jobs"
    done
  done
  run_jobs "$out/$prefix.jobs"
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

common="--set run.deterministic=true --set run.stop_epochs=10 --set output.evaluations_per_epoch=4"

# 1. Learning-rate grid on K = 16 homogeneous, seed 1.
run_grid grid "$(setting_options K16-homogeneous)" grid "${algorithms[@]}"
declare -A best_rate
{
  echo "## Learning-rate grid (K = 16, homogeneous, seed 1; mean test accuracy over the last epoch)"
  echo
  echo "| algorithm | $(printf 'lr / accuracy | %.0s' 1 2 3 4 5)best |"
  echo "|---|---|---|---|---|---|---|"
  for algorithm in "${algorithms[@]}"; do
    grid_result grid "$algorithm" ${grid[$algorithm]}
    best_rate[$algorithm]=$chosen
    echo "| $algorithm |$cells $chosen |"
  done
} > "$out/grid.md"

# 2. Every setting, algorithm and seed at the chosen rate.
: > "$out/main.jobs"
for setting in "${settings[@]}"; do
  for algorithm in "${algorithms[@]}"; do
    for seed in "${seeds[@]}"; do
      echo "$setting-$algorithm-lr${best_rate[$algorithm]}-seed$seed $common --set run.seed=$seed $(setting_options "$setting") $(algorithm_options "$algorithm") --set algorithm.learning_rate=${best_rate[$algorithm]}" >> "$out/main.jobs"
    done
  done
done
run_jobs "$out/main.jobs"

echo "setting,algorithm,seed,learning_rate,final_train_loss,final_test_accuracy,iterations,mean_delay,max_delay" > "$out/runs.csv"
for setting in "${settings[@]}"; do
  for algorithm in "${algorithms[@]}"; do
    for seed in "${seeds[@]}"; do
      summary="$runs/$setting-$algorithm-lr${best_rate[$algorithm]}-seed$seed/summary.json"
      echo "$setting,$algorithm,$seed,${best_rate[$algorithm]},$(json_number "$summary" final_train_loss),$(json_number "$summary" final_test_accuracy),$(json_number "$summary" iterations),$(json_number "$summary" mean_delay),$(json_number "$summary" max_delay)" >> "$out/runs.csv"
    done
  done
done

# Table: mean ± sd over seeds.
{
  echo "## Final train loss and test accuracy after 10 epochs (mean ± sd over seeds ${seeds[*]})"
  echo
  echo "| setting | $(printf '%s | ' "${algorithms[@]}")"
  echo "|---|$(printf -- '---|%.0s' "${algorithms[@]}")"
  for setting in "${settings[@]}"; do
    line="| $setting |"
    for algorithm in "${algorithms[@]}"; do
      line+=$(awk -F, -v s="$setting" -v a="$algorithm" '
        $1 == s && $2 == a {
          n++; l = ($5 == "null" ? 1e9 : $5); c = ($6 == "null" ? 0 : $6)
          sl += l; sll += l * l; sa += c; saa += c * c
        }
        END {
          ml = sl / n; ma = sa / n
          dl = sqrt(n > 1 ? (sll - n * ml * ml) / (n - 1) : 0)
          da = sqrt(n > 1 ? (saa - n * ma * ma) / (n - 1) : 0)
          if (ml > 1e8) printf " diverged; %.2f ± %.2f %% |", 100 * ma, 100 * da
          else printf " %.3f ± %.3f; %.2f ± %.2f %% |", ml, dl, 100 * ma, 100 * da
        }' "$out/runs.csv")
    done
    echo "$line"
  done
  echo
  echo "Each cell: final training loss (mean minibatch loss over the last quarter epoch); test accuracy."
} > "$out/table.md"

# Supplement: the same grid on K = 64 homogeneous (seed 1), to see how much
# of the K = 64 ranking comes from rates tuned at K = 16.
run_grid grid64 "$(setting_options K64-homogeneous)" grid "${algorithms[@]}"
{
  echo "## Supplement: rates retuned at K = 64 (homogeneous, seed 1; mean test accuracy over the last epoch)"
  echo
  echo "| algorithm | $(printf 'lr / accuracy | %.0s' 1 2 3 4 5)best at K = 64 | rate from K = 16 |"
  echo "|---|---|---|---|---|---|---|---|"
  for algorithm in "${algorithms[@]}"; do
    grid_result grid64 "$algorithm" ${grid[$algorithm]}
    echo "| $algorithm |$cells $chosen | ${best_rate[$algorithm]} |"
  done
} > "$out/grid64.md"

# Plots: test accuracy vs epoch, mean over seeds, one PNG per setting.
for setting in "${settings[@]}"; do
  plot_data="$out/accuracy-$setting.dat"
  : > "$plot_data"
  for algorithm in "${algorithms[@]}"; do
    echo "# $algorithm" >> "$plot_data"
    files=()
    for seed in "${seeds[@]}"; do
      files+=("$runs/$setting-$algorithm-lr${best_rate[$algorithm]}-seed$seed/metrics.csv")
    done
    # Row k of every seed is the same evaluation point (deterministic mode
    # evaluates at exact gradient counts).
    awk -F, 'FNR > 1 { row = FNR; n[row]++; e[row] += $3; a[row] += ($8 == "" ? 0 : $8) }
      END { for (r = 2; r in n; r++) printf "%.4f %.5f\n", e[r] / n[r], a[r] / n[r] }' \
      "${files[@]}" >> "$plot_data"
    printf '\n\n' >> "$plot_data"
  done
  plot_commands="set terminal pngcairo size 900,560; set output '$out/accuracy-$setting.png';"
  plot_commands+=" set title 'Fashion-MNIST, MLP 784-128-10, $setting (mean of ${#seeds[@]} seeds)';"
  plot_commands+=" set termoption noenhanced; set xlabel 'epoch'; set ylabel 'test accuracy';"
  plot_commands+=" set key top left; set grid;"
  plot_commands+=" set yrange [0.6:0.92]; plot"
  index=0
  for algorithm in "${algorithms[@]}"; do
    plot_commands+=" '$plot_data' index $index with lines lw 2 title '$algorithm (lr ${best_rate[$algorithm]})',"
    index=$((index + 1))
  done
  gnuplot -e "${plot_commands%,}"
done

# 3. Wall clock, real time: ormo vs ssgdm to 85 % test accuracy with one
# worker per core, the second 4x slower (with more workers than cores the
# emulated slowness hides behind the others' computation). Each rule's rate
# for K = 2 is the best of a small deterministic grid (seed 1, 10 epochs).
wall_options="--set workers.count=2 --set algorithm.iteration_size=workers --set workers.speed.profile=factors --set workers.speed.factors=[1,4]"
wall_algorithms=(ormo-on_arrival ssgdm)
wall_grid="0.003125 0.00625 0.0125 0.025 0.05"
declare -A wall_grids=([ormo-on_arrival]=$wall_grid [ssgdm]=$wall_grid)
run_grid wallgrid "$wall_options" wall_grids "${wall_algorithms[@]}"
declare -A wall_rate
for algorithm in "${wall_algorithms[@]}"; do
  grid_result wallgrid "$algorithm" $wall_grid
  wall_rate[$algorithm]=$chosen
done
{
  echo "## Wall-clock time to 85 % test accuracy"
  echo
  echo "Real time on this machine ($(nproc) cores), 2 workers (speed factors 1 and 4), K = 2,"
  echo "rates from a grid of $wall_grid at K = 2 (ormo-on_arrival ${wall_rate[ormo-on_arrival]}, ssgdm ${wall_rate[ssgdm]});"
  echo "8 evaluations per epoch, runs one at a time."
  echo
  echo "| algorithm | seed | reached | epochs | wall seconds |"
  echo "|---|---|---|---|---|"
  for algorithm in "${wall_algorithms[@]}"; do
    for seed in "${seeds[@]}"; do
      name="wallclock-$algorithm-lr${wall_rate[$algorithm]}-seed$seed"
      if [[ ! -f "$runs/$name/summary.json" ]]; then
        "$ormo" run "$topology" --out "$runs/$name" --set run.seed=$seed \
          --set run.stop_accuracy=0.85 --set run.stop_epochs=30 \
          --set output.evaluations_per_epoch=8 $wall_options \
          $(algorithm_options "$algorithm") \
          --set algorithm.learning_rate=${wall_rate[$algorithm]} \
          > "$runs/$name.log" 2>&1 || echo "study: $name FAILED" >&2
      fi
      summary="$runs/$name/summary.json"
      reason=$(sed -n 's/^  "stop_reason": "\(.*\)",$/\1/p' "$summary")
      echo "| $algorithm | $seed | $([[ $reason == accuracy ]] && echo yes || echo no) | $(json_number "$summary" epochs) | $(json_number "$summary" wall_seconds) |"
    done
  done
} > "$out/wallclock.md"

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
  for setting in "${settings[@]}"; do
    echo "![$setting](accuracy-$setting.png)"
  done
  echo
  cat "$out/wallclock.md"
} > "$out/results.md"
echo "study: results in $out/results.md"
