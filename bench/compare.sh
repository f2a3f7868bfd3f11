#!/usr/bin/env bash
# tgclean against a Python baseline (bench/baseline.py) on the same generated corpus,
# in one run: wall time, MB/s, peak RSS, and the ratio.
#   bench/compare.sh [MB] [--profile default|cyrillic-short] [--to-file|--to-null]
#                    [-- TGCLEAN OPTIONS]          (default 200 MB, to a file)
# To a file, tgclean writes with -o (temporary file, fsync, rename) and the baseline's
# standard output goes to a file; with --to-null both write to /dev/null.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/corpus.sh
DEFAULT_MB=200 parse_bench_args "$@"
prepare_corpus "$mb" text "$profile"
bytes=$(stat -c %s "$input")
echo "corpus: $input, $bytes bytes, profile $profile; output: $([ "$to_file" = 1 ] && echo "a file" || echo /dev/null); machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"

target() { # name → where its output goes
  if [ "$to_file" = 1 ]; then echo "$tmp/compare-$1.jsonl"; else echo /dev/null; fi
}

measure() { # name, output, command...
  local name=$1 out=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$tmp/t.txt" "$@" > "$out"
  read -r wall rss < "$tmp/t.txt"
  python3 -c "import sys; b,w,r=int(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); print(f'{sys.argv[4]:<22} {w:8.2f} s {b/1e6/w:9.1f} MB/s {r/1024:8.1f} MB peak RSS')" \
    "$bytes" "$wall" "$rss" "$name"
  echo "$wall" > "$tmp/wall-$name"
}

measure "tgclean --threads 2" /dev/null \
  target/release/tgclean clean -q --threads 2 -o "$(target t2)" "${extra[@]}" "$input"
measure "tgclean --threads 1" /dev/null \
  target/release/tgclean clean -q --threads 1 -o "$(target t1)" "${extra[@]}" "$input"
measure "python baseline" "$(target python)" python3 bench/baseline.py "$input"
python3 - "$tmp" <<'PY'
import sys
t = sys.argv[1]
w = lambda n: float(open(f"{t}/wall-{n}").read())
print(f"ratio (python / tgclean 2 threads): {w('python baseline') / w('tgclean --threads 2'):.1f}x")
PY
