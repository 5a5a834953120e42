#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh -- run ringbuf's test programs.
#
#   tests/run.sh                 run every executable $BUILD/tests/t_*
#   tests/run.sh t_api wrap      run a subset (names with or without "t_")
#
# Environment:
#   BUILD          build directory (default: build)
#   TEST_TIMEOUT   per-test timeout in seconds (default: 120)
#   STRESS_SECONDS passed through untouched; tests may read it
#
# Exit codes of a test: 0 pass, 77 skip (reason = last line of its stderr),
# anything else (including a timeout) fail.  Prints one line per test and
# ends with "N passed, N failed, N skipped".  Exits 0 iff nothing failed.

set -u

BUILD="${BUILD:-build}"
TEST_TIMEOUT="${TEST_TIMEOUT:-120}"
TAIL_LINES="${TAIL_LINES:-30}"

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# A relative BUILD is taken from the current directory, or else from the
# repository root (so the script works from anywhere).
testdir="$BUILD/tests"
if [[ ! -d "$testdir" && "$BUILD" != /* && -d "$script_dir/../$BUILD/tests" ]]; then
	testdir="$script_dir/../$BUILD/tests"
fi

if ! [[ "$TEST_TIMEOUT" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
	echo "run.sh: TEST_TIMEOUT must be a number of seconds, got '$TEST_TIMEOUT'" >&2
	exit 2
fi
if ! command -v timeout >/dev/null 2>&1; then
	echo "run.sh: 'timeout' (coreutils) is required" >&2
	exit 2
fi

tests=()
missing=()
if (($# > 0)); then
	for arg in "$@"; do
		name="$(basename -- "$arg")"
		[[ "$name" == t_* ]] || name="t_$name"
		if [[ -f "$testdir/$name" && -x "$testdir/$name" ]]; then
			tests+=("$testdir/$name")
		else
			missing+=("$name")
		fi
	done
else
	if [[ ! -d "$testdir" ]]; then
		echo "run.sh: no test directory $testdir (build with 'make tests' first)" >&2
		echo "0 passed, 0 failed, 0 skipped"
		exit 1
	fi
	shopt -s nullglob
	for f in "$testdir"/t_*; do
		[[ -f "$f" && -x "$f" ]] && tests+=("$f")
	done
	shopt -u nullglob
	if ((${#tests[@]} == 0)); then
		echo "run.sh: no test programs in $testdir" >&2
		echo "0 passed, 0 failed, 0 skipped"
		exit 1
	fi
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ringbuf-tests.XXXXXX")" || exit 2
trap 'rm -rf "$tmp"' EXIT
# Interrupting the runner stops the current test too (it runs in the foreground
# process group via timeout), then reports what ran so far.
interrupted=0
trap 'interrupted=1' INT TERM

now_ns() { date +%s%N; }

passed=0
failed=0
skipped=0

for name in "${missing[@]+"${missing[@]}"}"; do
	echo "FAIL $name: no such test program in $testdir"
	failed=$((failed + 1))
done

show_tail() { # file label
	local f="$1" label="$2"
	if [[ -s "$f" ]]; then
		echo "  --- $label (last $TAIL_LINES lines) ---"
		tail -n "$TAIL_LINES" -- "$f" | sed 's/^/  | /'
	fi
}

for t in "${tests[@]+"${tests[@]}"}"; do
	((interrupted)) && break
	name="$(basename -- "$t")"
	out="$tmp/$name.out"
	err="$tmp/$name.err"
	start="$(now_ns)"
	timeout --kill-after=10 "$TEST_TIMEOUT" "$t" >"$out" 2>"$err" </dev/null
	rc=$?
	end="$(now_ns)"
	secs="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
	case "$rc" in
	0)
		echo "PASS $name (${secs}s)"
		passed=$((passed + 1))
		;;
	77)
		reason="$(grep -v '^[[:space:]]*$' -- "$err" | tail -n 1)"
		reason="${reason#skip: }"
		echo "SKIP $name: ${reason:-no reason given}"
		skipped=$((skipped + 1))
		;;
	*)
		if ((rc == 124 || rc == 137)); then
			why="timed out after ${TEST_TIMEOUT}s"
		elif ((rc > 128)); then
			why="killed by signal $((rc - 128))"
			sig="$(kill -l "$((rc - 128))" 2>/dev/null)" && why="killed by SIG$sig"
		else
			why="exit status $rc"
		fi
		echo "FAIL $name ($why, ${secs}s)"
		show_tail "$err" stderr
		show_tail "$out" stdout
		failed=$((failed + 1))
		;;
	esac
done

((interrupted)) && echo "run.sh: interrupted" >&2
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0 && interrupted == 0))
