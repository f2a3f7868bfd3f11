#!/usr/bin/env bash
# Whole-process throughput and peak memory of `tgclean clean` on a generated dump.
#   bench/memory.sh [MB] [text|tg-json] [THREADS]
# Prints the generator's known answer, tgclean's summary, MB/s and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-1000}
format=${2:-text}
threads=${3:-2}
. bench/corpus.sh
prepare_corpus "$mb" "$format"
echo "input: $input ($(du -m "$input" | cut -f1) MB, format $format, $threads threads)"
/usr/bin/time -f "peak_rss_kb=%M wall_s=%e" -o "$tmp/time.txt" \
  target/release/tgclean clean --threads "$threads" --stats "$tmp/stats.json" "$input" > /dev/null
cat "$tmp/time.txt"
python3 - "$tmp/stats.json" "$tmp/time.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t = dict(kv.split("=") for kv in open(sys.argv[2]).read().split())
print(f"records={s['records_written']} duplicate_posts={s['duplicate_posts']} "
      f"paragraphs_written={s['paragraphs']['written']} errors={len(s['errors'])}")
print(f"MB/s={s['bytes'] / 1e6 / float(t['wall_s']):.1f} peak_RSS_MB={int(t['peak_rss_kb']) / 1024:.1f}")
PY
