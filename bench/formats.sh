#!/usr/bin/env bash
# Every input format at text speed? The same posts written in every format
# (`gen_dump --posts N --format …`: a text dump, JSON Lines, a Telegram Desktop
# result.json, a TGDataset file, Telegram Desktop HTML pages of 1,000 messages and t.me/s
# pages of 20 posts), each cleaned by the release binary (2 threads, default options, to a
# real file), the formats' runs interleaved; prints every run, the medians, posts/s and
# MB/s, and the share of the text speed in posts per second.
#   bench/formats.sh [POSTS] [RUNS] [FORMAT…]   (defaults: 120000 posts, 3 runs, all formats)
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-120000}
runs=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
formats=("$@")
if [ ${#formats[@]} -eq 0 ]; then
  formats=(text jsonl tg-json tgdataset tg-html tme-html)
fi
case " ${formats[*]} " in *" text "*) ;; *) formats=(text "${formats[@]}") ;; esac
tmp=${TMPDIR:-/tmp}/tgclean-bench
mkdir -p "$tmp"
cargo build --release --quiet --example gen_dump
cargo build --release --quiet
for f in "${formats[@]}"; do
  input="$tmp/posts-$posts.$f"
  case $f in
    tg-html|tme-html)
      if [ ! -d "$input" ]; then
        target/release/examples/gen_dump --mb 1000000 --posts "$posts" --seed 1 --format "$f" \
          --out-dir "$input" > /dev/null
      fi ;;
    *)
      if [ ! -s "$input" ]; then
        target/release/examples/gen_dump --mb 1000000 --posts "$posts" --seed 1 --format "$f" > "$input"
      fi ;;
  esac
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
python3 - "$posts" "$tmp" "${formats[@]}" <<PY
import os, statistics, sys
posts, tmp, formats = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
walls = {$(for f in "${formats[@]}"; do printf '"%s": [%s], ' "$f" "$(echo ${walls[$f]} | tr ' ' ',')"; done)}
def size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(path) for n in ns)
    return os.path.getsize(path)
text = statistics.median(walls["text"])
print(f"\n{posts} posts in every format; 2 threads, to a file")
print(f"{'format':9} {'MB':>7} {'wall median (runs)':>32} {'posts/s':>9} {'MB/s':>7} {'share of text':>13}")
for f in formats:
    mb = size(f"{tmp}/posts-{posts}.{f}") / 1e6
    m = statistics.median(walls[f])
    runs = ", ".join(f"{w:.2f}" for w in walls[f])
    print(f"{f:9} {mb:7.0f} {m:9.2f} s ({runs:>19}) {posts / m:9.0f} {mb / m:7.1f} {text / m:13.2f}")
PY
