#!/usr/bin/env bash
# ctest tools/chaos_quick: `tools/chaos.sh --quick` with the ormo under test,
# into a temporary directory (removed afterwards). Passes when the soak
# exits 0 (every invariant held) and its results.md has the table with
# both runs and a PASS line per invariant, none FAIL.
#
# Usage: chaos_test.sh ORMO_BINARY SECONDS
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
ormo=$1
seconds=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/ormo-chaos-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT

status=0
"$top/tools/chaos.sh" --quick --seconds "$seconds" --seed 20261203 \
  --out "$dir" --ormo "$ormo" || status=$?
results="$dir/results.md"
fail() {
  echo "chaos_test: $*" >&2
  [[ -f $results ]] && cat "$results" >&2
  exit 1
}
((status == 0)) || fail "tools/chaos.sh exited with status $status"
[[ -f $results ]] || fail "no $results"
for row in '| | faulty | baseline |' '| faults: kill_node | 1 of 1 |' \
           '| faults: stop_node | 2 of 2 |' '| gradients received |' \
           '| gradients applied |' '| gradients lost |' \
           '| gradients duplicate |' '| retries |' '| nodes lost | 2 | 0 |' \
           '| final test accuracy |' '| faults: kill_shard |' \
           '| shard restarts |'; do
  grep -qF -- "$row" "$results" || fail "no row starting '$row' in $results"
done
passes=$(grep -c '^- PASS: ' "$results" || true)
((passes >= 13)) || fail "$passes PASS lines in $results, 13 expected"
! grep -q '^- FAIL: ' "$results" || fail "a FAIL line in $results"
echo "chaos_test: tools/chaos.sh --quick passed ($passes invariants)"
