#!/usr/bin/env bash
# Every input format at text speed? The same posts written as a text dump, JSON Lines and
# a Telegram Desktop result.json (`gen_dump --posts N --format …`), each cleaned by the
# release binary (2 threads, default options, to a real file), the formats' runs
# interleaved; prints every run, the medians, posts/s and MB/s, and the share of the
# text speed in posts per second.
#   bench/formats.sh [POSTS] [RUNS]      (defaults: 120000 posts, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-120000}
runs=${2:-3}
formats=(text jsonl tg-json)
tmp=${TMPDIR:-/tmp}/tgclean-bench
mkdir -p "$tmp"
cargo build --release --quiet --example gen_dump
cargo build --release --quiet
for f in "${formats[@]}"; do
  input="$tmp/posts-$posts.$f"
  if [ ! -s "$input" ]; then
    target/release/examples/gen_dump --mb 1000000 --posts "$posts" --seed 1 --format "$f" > "$input"
  fi
done
declare -A walls
for run in $(seq "$runs"); do
  for f in "${formats[@]}"; do
    input="$tmp/posts-$posts.$f"
    wall=$( { /usr/bin/time -f "%e" target/release/tgclean clean -q --threads 2 \
              -o "$tmp/formats-out.jsonl" "$input" ; } 2>&1 | tail -1 )
    walls[$f]+="$wall "
    echo "run $run $f: $wall s"
  done
done
python3 - "$posts" "$tmp" "${formats[@]}" <<EOF
import os, statistics, sys
posts, tmp, formats = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
walls = {$(for f in "${formats[@]}"; do printf '"%s": [%s], ' "$f" "$(echo ${walls[$f]} | tr ' ' ',')"; done)}
text = statistics.median(walls["text"])
print(f"\n{posts} posts in every format; 2 threads, to a file")
print(f"{'format':8} {'MB':>7} {'wall median (runs)':>32} {'posts/s':>9} {'MB/s':>7} {'share of text':>13}")
for f in formats:
    mb = os.path.getsize(f"{tmp}/posts-{posts}.{f}") / 1e6
    m = statistics.median(walls[f])
    runs = ", ".join(f"{w:.2f}" for w in walls[f])
    print(f"{f:8} {mb:7.0f} {m:9.2f} s ({runs:>19}) {posts / m:9.0f} {mb / m:7.1f} {text / m:13.2f}")
EOF
