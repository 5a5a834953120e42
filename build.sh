#!/usr/bin/env bash
# build.sh -- the two commands a newcomer needs, on a fresh Debian machine.
#
#   ./build.sh demo    install build dependencies, build, run the demonstration
#   ./build.sh test    install build dependencies, build, run the test suite,
#                      then install into a scratch prefix and compile a small
#                      program against it as C and as C++
#   ./build.sh bench   install build dependencies, build, run the benchmark
#   ./build.sh verify  the deeper checks CI runs after the tests: the direction
#                      of calls in src/ (make layers), the suite under
#                      ASan+UBSan and under TSan, the spin models, a short
#                      fuzzing run, the 32-bit build
#   ./build.sh deps    only install the build dependencies
#
# Extra arguments are passed to the program run (e.g. ./build.sh demo --seconds 5).
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build, the tests and the sanitizer builds need, and
# those only the deeper checks (verify) need.
PACKAGES=(make gcc g++ clang libc6-dev linux-libc-dev libbpf-dev pkgconf coreutils libasan8 libtsan2 libubsan1
	libnats-dev nats-server bpftool python3 python3-pytest)
VERIFY_PACKAGES=(spin gcc-multilib libclang-rt-14-dev)
BENCH_PACKAGES=(gnuplot-nox)

deps() {
	local missing=()
	for p in "${PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "build.sh: installing ${missing[*]}" >&2
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

jobs=$(nproc 2>/dev/null || echo 2)
cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
deps)  deps ;;
demo)  deps; make -s -j"$jobs" all; exec ./build/ringbuf demo "$@" ;;
bench) # gnuplot only for a plot
	case " $* " in *" --plot "*) deps "${BENCH_PACKAGES[@]}" ;; *) deps ;; esac
	make -s -j"$jobs" all; exec ./build/bench/ringbuf_bench "$@" ;;
test)  deps; make -s -j"$jobs" all; BUILD=build tests/run.sh "$@"; scripts/check-install.sh ;;
verify) deps "${VERIFY_PACKAGES[@]}"; make -s layers; make -s asan; make -s tsan; make -s models; make -s fuzz; make -s m32 ;;
*)     sed -n '2,15p' "$0"; exit 2 ;;
esac
