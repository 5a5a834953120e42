#!/usr/bin/env bash
# check-layers.sh -- the library's files call each other in one direction.
#
#   scripts/check-layers.sh          (make layers; ./build.sh verify runs it)
#
# Compiles every src/*.c into a scratch directory (with
# -DRINGBUF_FAULT_INJECTION, so that the fault hook's calls count too) and
# reads, with nm, which functions and variables each object uses that
# another src file defines.  It prints those uses, one line per file and
# file used, and fails unless:
#   - each file uses only files of lower layers (LAYERS below, bottom
#     first; files in one layer may not use each other), so no file calls
#     into a file that calls back into it -- checked again, independently
#     of LAYERS, with tsort, which reports any cycle;
#   - every src/*.c is in LAYERS;
#   - the top layer uses only the public API: it includes no header of
#     src/, and every symbol of the library it uses is exported
#     (src/libringbuf.map);
#   - no file is over MAX_LINES lines, and the hot path (HOT) is under
#     HOT_MAX_LINES.
# CC (default cc) compiles; nm must read its objects.
set -euo pipefail
cd "$(dirname "$0")/.."

# Bottom first.  One line per layer.
LAYERS=(
	"fault.c"                        # the fault-injection hook (test build only)
	"proc.c"                         # the process: clock, liveness, futex, fork, mappings
	"wakesock.c"                     # the consumer's wakeup socket
	"handle.c"                       # a handle's life, the consumer claim, stats
	"files.c kmap.c"                 # attaching: ring files and names; kernel maps
	"recover.c"                      # dead peers: the lock's slow path, BUSY records
	"overwrite.c"                    # overwrite mode
	"notify.c"                       # who wakes whom
	"ring.c"                         # the hot path: reserve, commit, consume
	"output.c"                       # ringbuf_output(): records written whole
	"poll.c pull.c"                  # waiting; the pull reader
	"manager.c"                      # several rings, one wait (public API only)
	"set.c"                          # ring sets: building them, placement
	"set_consume.c"                  # ring sets: the consumer; kernel maps of rings
	"bpf_maps.c"                     # on the public API only
)
HOT=ring.c
HOT_MAX_LINES=600
MAX_LINES=900
CC=${CC:-cc}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
err() { echo "check-layers: $*" >&2; fail=1; }

declare -A layer_of
for i in "${!LAYERS[@]}"; do
	for f in ${LAYERS[$i]}; do layer_of[$f]=$i; done
done
top=$(( ${#LAYERS[@]} - 1 ))

files=()
for p in src/*.c; do
	f=${p#src/}
	files+=("$f")
	[ -n "${layer_of[$f]+x}" ] || err "src/$f is in no layer: add it to LAYERS in $0"
	"$CC" -std=gnu11 -O2 -D_GNU_SOURCE -DRINGBUF_STATIC_BUILD -DRINGBUF_FAULT_INJECTION \
		-Iinclude -Isrc -c "$p" -o "$tmp/${f%.c}.o"
	nm -P --defined-only -g "$tmp/${f%.c}.o" | awk -v f="$f" '{ print $1, f }' >>"$tmp/defs"
done
sort -u "$tmp/defs" >"$tmp/defs.sorted"

# Uses: "file used symbol", for each symbol defined in another src file.
: >"$tmp/uses"
for f in "${files[@]}"; do
	nm -P -u "$tmp/${f%.c}.o" | awk '{ print $1 }' | sort -u |
		join - "$tmp/defs.sorted" | awk -v f="$f" '$2 != f { print f, $2, $1 }' >>"$tmp/uses"
done

echo "Uses across src/ (file -> file used: symbols), bottom layer first:"
for i in "${!LAYERS[@]}"; do
	for f in ${LAYERS[$i]}; do
		used=$(awk -v f="$f" '$1 == f { print $2 }' "$tmp/uses" | sort -u)
		[ -n "$used" ] || { echo "  $f -> (nothing)"; continue; }
		for g in $used; do
			syms=$(awk -v f="$f" -v g="$g" '$1 == f && $2 == g { printf "%s ", $3 }' "$tmp/uses")
			echo "  $f -> $g: ${syms% }"
			if [ -n "${layer_of[$g]+x}" ] && [ "${layer_of[$g]}" -ge "$i" ]; then
				err "$f uses $g, which is not in a lower layer"
			fi
		done
	done
done

# A cycle, whatever LAYERS says.
if ! awk '{ print $1, $2 }' "$tmp/uses" | sort -u | tsort >/dev/null 2>"$tmp/tsort"; then
	err "the uses contain a cycle, e.g.: $(awk '/input contains a loop/ { n++; next }
		n == 1 { printf "%s ", $2 }' "$tmp/tsort")"
fi

# The top layer: the public API only.
for f in ${LAYERS[$top]}; do
	if grep -nE '^#include "' "src/$f" | grep -vE '"ringbuf(_bpf)?\.h"' >"$tmp/inc"; then
		err "src/$f includes a header of the library's own: $(tr '\n' ' ' <"$tmp/inc")"
	fi
	for s in $(awk -v f="$f" '$1 == f { print $3 }' "$tmp/uses"); do
		grep -qE "^[[:space:]]*$s;" src/libringbuf.map || err "src/$f uses $s, which is not public"
	done
done

for f in "${files[@]}"; do
	n=$(wc -l <"src/$f")
	[ "$n" -le "$MAX_LINES" ] || err "src/$f has $n lines (at most $MAX_LINES)"
	if [ "$f" = "$HOT" ] && [ "$n" -ge "$HOT_MAX_LINES" ]; then
		err "src/$f, the hot path, has $n lines (under $HOT_MAX_LINES)"
	fi
done

if [ "$fail" = 0 ]; then
	echo "check-layers: ${#files[@]} files in ${#LAYERS[@]} layers, every use goes down, no cycle"
else
	exit 1
fi
