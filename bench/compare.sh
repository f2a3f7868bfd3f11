#!/usr/bin/env bash
# tgclean against a Python baseline (bench/baseline.py) on the same generated corpus,
# in one run: wall time, MB/s, peak RSS, and the ratio.
#   bench/compare.sh [MB]        (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/corpus.sh
prepare_corpus "${1:-200}" text
bytes=$(stat -c %s "$input")
echo "corpus: $input, $bytes bytes; machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/t.txt" "$@" > /dev/null
  read -r wall rss < "$tmp/t.txt"
  python3 -c "import sys; b,w,r=int(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); print(f'{sys.argv[4]:<22} {w:8.2f} s {b/1e6/w:9.1f} MB/s {r/1024:8.1f} MB peak RSS')" \
    "$bytes" "$wall" "$rss" "$name"
  echo "$wall" > "$tmp/wall-$name"
}

measure "tgclean --threads 2" target/release/tgclean clean -q --threads 2 "$input"
measure "tgclean --threads 1" target/release/tgclean clean -q --threads 1 "$input"
measure "python baseline" python3 bench/baseline.py "$input"
python3 - "$tmp" <<'PY'
import sys
t = sys.argv[1]
w = lambda n: float(open(f"{t}/wall-{n}").read())
print(f"ratio (python / tgclean 2 threads): {w('python baseline') / w('tgclean --threads 2'):.1f}x")
PY
