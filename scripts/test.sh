#!/usr/bin/env bash
# The project's test command: ./scripts/test.sh [--no-services] [-- ARGS-FOR-CARGO-TEST...]
#
# Runs, in order and stopping at the first failure: rustfmt check, clippy (warnings are
# errors), the services the integration tests need (scripts/services.sh), cargo test (with
# doctests), and cargo doc (warnings are errors). Prints each stage's time and a summary.
# Every service it started is stopped on exit, whether it passed, failed or was interrupted.
set -euo pipefail

# The real services started before `cargo test`. To add one, write its four svc_NAME_*
# functions in scripts/services.sh and add NAME here.
SHADOW_SERVICES=(prometheus nginx)

usage() {
  cat <<'EOF'
usage: ./scripts/test.sh [--no-services] [-- ARGS...]

  --no-services   don't install or start services (integration tests then skip themselves,
                  unless the environment already points them at servers)
  -- ARGS...      passed on to `cargo test --workspace --all-features`,
                  e.g. `-- -p shadow-core` or `-- -- --nocapture`
EOF
}

start_services=1
test_args=()
while (($#)); do
  case "$1" in
    --no-services) start_services=0 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; test_args=("$@"); break ;;
    *) printf 'test.sh: unknown argument: %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v cargo >/dev/null 2>&1 && [[ -x "${HOME:-/root}/.cargo/bin/cargo" ]]; then
  export PATH="${HOME:-/root}/.cargo/bin:$PATH"
fi

# shellcheck source=scripts/services.sh
source "$ROOT/scripts/services.sh"

# ---- stages, timing, summary ------------------------------------------------------------
now_us() { local t="${EPOCHREALTIME//[!0-9]/}"; printf '%s\n' "$t"; }
fmt_secs() { printf '%d.%d' $(($1 / 1000000)) $(($1 / 100000 % 10)); }

RUN_START="$(now_us)"
stage_names=()
stage_results=()
stage_times=()
current_stage=""
current_start=0

# stage NAME CMD...: run CMD as a timed stage; with set -e, a failure ends the script and the
# EXIT trap reports the stage as failed.
stage() {
  current_stage="$1"
  current_start="$(now_us)"
  shift
  printf '\n==> %s\n' "$current_stage"
  "$@"
  local took=$(($(now_us) - current_start))
  printf '==> %s: ok (%ss)\n' "$current_stage" "$(fmt_secs "$took")"
  stage_names+=("$current_stage")
  stage_results+=(ok)
  stage_times+=("$took")
  current_stage=""
}

summary() {
  local rc="$1" i
  printf '\n==> summary\n'
  for i in "${!stage_names[@]}"; do
    printf '  %-10s %-8s %7ss\n' "${stage_names[$i]}" "${stage_results[$i]}" "$(fmt_secs "${stage_times[$i]}")"
  done
  if [[ -n "$current_stage" ]]; then
    local what=FAILED
    if ((rc == 130 || rc == 143)); then what=stopped; fi
    printf '  %-10s %-8s %7ss\n' "$current_stage" "$what" "$(fmt_secs $(($(now_us) - current_start)))"
  fi
  printf '  %-10s %-8s %7ss\n' total "" "$(fmt_secs $(($(now_us) - RUN_START)))"
  if ((rc == 0)); then
    printf 'test.sh: all stages passed\n'
  elif ((rc == 130 || rc == 143)); then
    printf 'test.sh: interrupted (exit %d)\n' "$rc"
  else
    printf 'test.sh: FAILED (exit %d)\n' "$rc"
  fi
}

on_exit() {
  local rc=$?
  trap - EXIT
  trap '' INT TERM # a second Ctrl-C must not cut the cleanup short (it is bounded)
  set +e
  services_stop_all
  summary "$rc"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the run ----------------------------------------------------------------------------
printf 'test.sh: %s; %s\n' "$(cargo --version)" "$(rustc --version)"

stage fmt cargo fmt --all -- --check
stage clippy cargo clippy --workspace --all-targets --all-features -- -D warnings
if ((start_services)) && ((${#SHADOW_SERVICES[@]})); then
  stage backfill svc_prometheus_generate_backfill
  stage services services_start "${SHADOW_SERVICES[@]}"
else
  printf '\n==> services: skipped (%s)\n' "$( ((start_services)) && echo 'none listed' || echo --no-services)"
fi
stage test cargo test --workspace --all-features "${test_args[@]}"
# Nothing after this needs the services: free the memory for cargo doc.
services_stop_all
stage doc env RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --all-features --no-deps
