#!/usr/bin/env bash
# Whole-process throughput and peak memory of `tgclean clean` on a generated dump.
#   bench/memory.sh [MB] [text|tg-json|jsonl] [THREADS] [--profile default|cyrillic-short]
#                   [--to-file|--to-null] [-- TGCLEAN OPTIONS]
# Writes to a real file with -o (the default: the temporary file, its fsync and rename,
# as a user's run does) or to /dev/null (--to-null). Prints the generator's answer,
# tgclean's summary, MB/s and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/corpus.sh
parse_bench_args "$@"
prepare_corpus "$mb" "$format" "$profile"
out=/dev/null
[ "$to_file" = 1 ] && out="$tmp/memory-out.jsonl"
echo "input: $input ($(du -m "$input" | cut -f1) MB, format $format, profile $profile, $threads threads, output $out${extra[*]:+, options ${extra[*]}})"
/usr/bin/time -f "peak_rss_kb=%M wall_s=%e" -o "$tmp/time.txt" \
  target/release/tgclean clean -q --threads "$threads" --stats "$tmp/stats.json" -o "$out" \
  "${extra[@]}" "$input"
cat "$tmp/time.txt"
python3 - "$tmp/stats.json" "$tmp/time.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t = dict(kv.split("=") for kv in open(sys.argv[2]).read().split())
print(f"records={s['records_written']} duplicate_posts={s['duplicate_posts']} "
      f"paragraphs_written={s['paragraphs']['written']} errors={len(s['errors'])}")
print(f"MB/s={s['bytes'] / 1e6 / float(t['wall_s']):.1f} peak_RSS_MB={int(t['peak_rss_kb']) / 1024:.1f}")
PY
