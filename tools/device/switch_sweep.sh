#!/usr/bin/env bash
# Decode switches against each other on the GPU machine (after `validate_h100.sh build`): for every
# model, the engine's bench (`rocmforge bench --synthetic MODEL --device gpu -p 0 -n 128 -d 512 -r 3`)
# under each setting, the settings taken in turn ROUNDS times (so that the card's drift falls on all of
# them alike). One line per run: model, round, setting, then the bench's tok/s columns.
#   ROUNDS=2 tools/device/switch_sweep.sh "MODEL ..." "" "VAR=VALUE VAR2=VALUE" ...
# ("" is the default; a setting is a space-separated list of environment assignments)
set -uo pipefail
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH="$PWD/.carry/deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
rf=build-cuda/rocmforge
[ -x "$rf" ] || { echo "no $rf: run tools/device/validate_h100.sh build first" >&2; exit 1; }
[ $# -ge 2 ] || { echo "usage: $0 \"MODEL ...\" SETTING ..." >&2; exit 2; }
models=$1
shift
for model in $models; do
    for round in $(seq "${ROUNDS:-2}"); do
        for setting in "$@"; do
            # shellcheck disable=SC2086 # a setting is a list of assignments
            env $setting timeout 180 "$rf" bench --synthetic "$model" --device gpu -p 0 -n 128 -d "${DEPTH:-512}" -r 3 2>&1 |
                grep -E "^\| qwen|rror" | cut -d'|' -f8,9 | sed "s/^/$model r$round [${setting:-default}] /"
        done
    done
done
