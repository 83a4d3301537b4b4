#!/bin/bash
# Usage: bash bench/mlp-seeds.sh 1 2 3 …
# Trains the book MLP (npm start's recipe) once per seed, one run after the other, into
# runs/mlp-seed<N>, and reports each run's wall time, test accuracy (EMA and raw) and validation (EMA).
set -e
cd "$(dirname "$0")/.."
accuracy() { node bin/mnist.js test --model-dir "$1" --json "${@:2}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).accuracy))'; }
for seed in "$@"; do
  dir=runs/mlp-seed$seed
  echo "=== seed $seed, $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1 /proc/loadavg)"
  start=$(date +%s)
  node bin/mnist.js train --fresh --seed "$seed" --model-dir "$dir" --no-progress --log-every 10000
  echo "wall seconds $(( $(date +%s) - start )), load $(cut -d' ' -f1 /proc/loadavg)"
  echo "test (EMA) $(accuracy "$dir")"
  echo "test (raw) $(accuracy "$dir" --no-ema)"
  node bin/mnist.js eval --once --model-dir "$dir"
done
