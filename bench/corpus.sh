# Sourced by the bench scripts: builds tgclean and the generator in release mode and
# leaves a generated corpus in $input (reused when it already exists).
#   prepare_corpus MB FORMAT [PROFILE]    PROFILE: default | cyrillic-short
tmp=${TMPDIR:-/tmp}/tgclean-bench
mkdir -p "$tmp"

prepare_corpus() {
  local mb=$1 format=$2 profile=${3:-default}
  cargo build --release --quiet --example gen_dump
  cargo build --release --quiet
  if [ "$profile" = default ]; then
    input="$tmp/gen-$format-$mb.dat"
    [ -s "$input" ] || target/release/examples/gen_dump --mb "$mb" --seed 1 --format "$format" > "$input"
  else
    input="$tmp/gen-$format-$profile-$mb.dat"
    [ -s "$input" ] || target/release/examples/gen_dump --mb "$mb" --seed 1 --format "$format" \
      --profile "$profile" > "$input"
  fi
}

# Parses the options the bench scripts share into mb, format, threads, profile, to_file
# and extra (options passed on to tgclean after `--`); positional words fill MB, FORMAT
# and THREADS in that order.
parse_bench_args() {
  mb=${DEFAULT_MB:-1000} format=text threads=2 profile=default to_file=1 extra=()
  local positional=0
  while [ $# -gt 0 ]; do
    case $1 in
      --to-file) to_file=1 ;;
      --to-null) to_file=0 ;;
      --profile) profile=$2; shift ;;
      --mb) mb=$2; shift ;;
      --format) format=$2; shift ;;
      --threads) threads=$2; shift ;;
      --) shift; extra=("$@"); break ;;
      *)
        case $positional in
          0) mb=$1 ;;
          1) format=$1 ;;
          2) threads=$1 ;;
          *) echo "unexpected argument: $1" >&2; exit 2 ;;
        esac
        positional=$((positional + 1)) ;;
    esac
    shift
  done
}
