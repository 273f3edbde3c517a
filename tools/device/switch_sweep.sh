#!/usr/bin/env bash
# Decode switches against each other on the GPU machine (after `validate_h100.sh build`): for every
# model, the engine's bench (`rocmforge bench --synthetic MODEL --device gpu -p 0 -n 128 -d 512 -r 3`)
# under each setting, the settings taken in turn ROUNDS times (so that the card's drift falls on all of
# them alike), the order rotated by one each round (a run's place in a round biases it: on 0.5b q4_0 a
# switch that changes no launch of its step measured 0.25 % apart in a fixed order). One line per run:
# model, round, setting, then the bench's tok/s columns (median | min - max of its runs); then per model
# and setting the mean of the rounds' medians and their range.
#   ROUNDS=2 DEPTH=512 tools/device/switch_sweep.sh "MODEL ..." "" "VAR=VALUE VAR2=VALUE" ...
# ("" is the default; a setting is a space-separated list of environment assignments)
set -uo pipefail
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH="$PWD/.carry/deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
rf=build-cuda/rocmforge
[ -x "$rf" ] || { echo "no $rf: run tools/device/validate_h100.sh build first" >&2; exit 1; }
[ $# -ge 2 ] || { echo "usage: $0 \"MODEL ...\" SETTING ..." >&2; exit 2; }
models=$1
shift
runs=$(mktemp)
trap 'rm -f "$runs"' EXIT
for model in $models; do
    settings=("$@")
    for round in $(seq "${ROUNDS:-2}"); do
        for ((j = 0; j < ${#settings[@]}; ++j)); do
            setting=${settings[$(((j + round - 1) % ${#settings[@]}))]}
            # shellcheck disable=SC2086 # a setting is a list of assignments
            env $setting timeout 180 "$rf" bench --synthetic "$model" --device gpu -p 0 -n 128 -d "${DEPTH:-512}" -r 3 2>&1 |
                grep -E "^\| qwen|rror" | cut -d'|' -f8,9 |
                awk -v p="$model r$round [${setting:-default}] " '{ print p $0 }' | tee -a "$runs"
        done
    done
done
# summary: "model [setting]  mean (min - max) over rounds", from the runs' medians
awk '{
    model = $1; s = index($0, "["); e = index($0, "]"); setting = substr($0, s, e - s + 1)
    v = $(NF - 4) + 0; if (v <= 0) next  # "... MEDIAN | MIN - MAX"
    key = model " " setting; if (!(key in n)) order[++k] = key
    n[key]++; sum[key] += v
    if (!(key in lo) || v < lo[key]) lo[key] = v
    if (!(key in hi) || v > hi[key]) hi[key] = v
} END {
    if (k) print "\nmean of the rounds (min - max):"
    for (i = 1; i <= k; i++) { key = order[i]; printf "%s  %.2f (%.2f - %.2f, %d rounds)\n", key, sum[key] / n[key], lo[key], hi[key], n[key] }
}' "$runs"
