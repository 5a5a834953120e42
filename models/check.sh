#!/bin/sh
# models/check.sh -- run one spin check (used by mk/models.mk).
#
#   check.sh DIR MODEL EXPECT DEFINES...
#
# Generates the verifier for MODEL (models/*.pml) with the given -D defines
# in DIR, compiles it (PAN_CC, PAN_CFLAGS), runs an exhaustive search
# (PAN_RUNFLAGS) and compares the number of errors with EXPECT:
#   0     the property must hold: no error, and a complete search
#         (no "max search depth too small", no out-of-memory)
#   1     negative control: a counterexample must be found (the trail is
#         left in DIR for spin -t)
#   info  report only, never fail
# Prints one line: name, result, states stored, seconds.
set -u
dir=$1 model=$2 expect=$3
shift 3
SPIN=${SPIN:-spin}
PAN_CC=${PAN_CC:-gcc}
PAN_CFLAGS=${PAN_CFLAGS:--O2 -DSAFETY -DCOLLAPSE}
PAN_RUNFLAGS=${PAN_RUNFLAGS:--m100000}
name=$(basename "$dir")
src=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")

rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
cp "$src" . || exit 1
m=$(basename "$model")
echo "$SPIN $* -a $m" > cmd.txt
if ! $SPIN "$@" -a "$m" > spin.log 2>&1; then
	echo "models: $name: spin -a failed:"; cat spin.log; exit 1
fi
if ! $PAN_CC $PAN_CFLAGS -o pan pan.c > cc.log 2>&1; then
	echo "models: $name: compiling pan failed:"; cat cc.log; exit 1
fi
t0=$(date +%s.%N)
./pan $PAN_RUNFLAGS > pan.log 2>&1
t1=$(date +%s.%N)
errs=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.log | tail -1)
states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.log | tail -1)
secs=$(echo "$t1 - $t0" | bc 2>/dev/null || echo "?")
incomplete=$(grep -E 'max search depth too small|out of memory|pan: reached -DMEMLIM' pan.log)
viol=$(grep -E '^pan:[0-9]+:' pan.log | head -1)
line=$(printf '%-34s errors: %-2s  states: %-10s  %6.2fs' "$name" "${errs:-?}" "${states:-?}" "$secs")
case $expect in
0)
	if [ "$errs" = 0 ] && [ -z "$incomplete" ]; then
		echo "PASS  $line"; exit 0
	fi
	echo "FAIL  $line  (expected errors: 0) ${viol}${incomplete}"
	echo "      trail: cd $dir && spin -t -p $* $m"
	exit 1 ;;
1)
	if [ "$errs" = 1 ]; then
		echo "PASS  $line  (counterexample found, as required)"; exit 0
	fi
	echo "FAIL  $line  (negative control: expected errors: 1)"
	exit 1 ;;
*)
	echo "INFO  $line  ${viol:+(counterexample: see models/README.md)}"
	exit 0 ;;
esac
