# Sourced by the bench scripts: builds tgclean and the generator in release mode and
# leaves a generated corpus in $input (reused when it already exists).
#   prepare_corpus MB FORMAT
tmp=${TMPDIR:-/tmp}/tgclean-bench
mkdir -p "$tmp"

prepare_corpus() {
  local mb=$1 format=$2
  input="$tmp/gen-$format-$mb.dat"
  cargo build --release --quiet --example gen_dump
  cargo build --release --quiet
  if [ ! -s "$input" ]; then
    target/release/examples/gen_dump --mb "$mb" --seed 1 --format "$format" > "$input"
  fi
}
