#!/usr/bin/env bash
# check-install.sh -- install into a scratch prefix, then build and run a
# small program against the installed header and library, found through
# pkg-config, once as C and once as C++ (the header must be valid in both).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s install PREFIX="$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs libringbuf)
cat > "$tmp/use.c" <<'PROG'
#include <ringbuf.h>
#include <stdio.h>
#include <string.h>
static int seen;
static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	seen += size == 6 && memcmp(data, "hello", 6) == 0;
	return 0;
}
int main(void)
{
	struct ringbuf *rb = ringbuf_new(4096, NULL);
	if (!rb || ringbuf_output(rb, "hello", 6, 0) != 0)
		return 1;
	int n = ringbuf_consume(rb, on_record, NULL);
	ringbuf_free(rb);
	return n == 1 && seen == 1 ? 0 : 1;
}
PROG
# shellcheck disable=SC2086
gcc -std=gnu11 -Wall -Werror "$tmp/use.c" $flags -o "$tmp/use-c"
# shellcheck disable=SC2086
g++ -std=c++17 -Wall -Werror -x c++ "$tmp/use.c" $flags -o "$tmp/use-cxx"
# shellcheck disable=SC2086
gcc -std=gnu11 -Wall -Werror "$tmp/use.c" -I"$tmp/prefix/include" "$tmp/prefix/lib/libringbuf.a" -lpthread -o "$tmp/use-static"
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/use-c"
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/use-cxx"
"$tmp/use-static"
# Only the documented API may be exported from the shared library.
exported=$(nm -D --defined-only "$tmp/prefix/lib/libringbuf.so" | awk '$2=="T"{print $3}' | sed 's/@.*//' | sort)
expected=$(cat include/ringbuf.h include/ringbuf_bpf.h | grep -o '^RINGBUF_API[^(]*(' | sed 's/.*[ *]\([a-z_]*\)(/\1/' | sort)
if [ "$exported" != "$expected" ]; then
	echo "check-install: exported symbols differ from the header"; diff <(echo "$expected") <(echo "$exported"); exit 1
fi
echo "check-install: installed library and header work from C, C++ and static linking; $(echo "$exported" | wc -l) symbols exported"
