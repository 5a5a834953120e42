#!/usr/bin/env bash
# check-install.sh -- install into a scratch prefix and check what a user
# gets (./build.sh test runs it after the suite):
#   - a small program built against the installed header and library, found
#     through pkg-config, as C and as C++ (the header must be valid in both)
#     with gcc and clang, and statically, using RINGBUF_OPTS and the version macros and calls;
#   - the installed `ringbuf` finds the installed shared library without
#     LD_LIBRARY_PATH (its RUNPATH), and its demo and bench run from
#     libexec; a copy of it alone lists neither;
#   - an API man page for every exported function, made from the header;
#   - only the documented API is exported; make ldconfig's rule; uninstall
#     removes everything.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }
prefix=$tmp/prefix
make -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs libringbuf)
major=$(sed -n 's/^#define RINGBUF_VERSION_MAJOR \([0-9]*\)$/\1/p' include/ringbuf.h)
minor=$(sed -n 's/^#define RINGBUF_VERSION_MINOR \([0-9]*\)$/\1/p' include/ringbuf.h)
patch=$(sed -n 's/^#define RINGBUF_VERSION_PATCH \([0-9]*\)$/\1/p' include/ringbuf.h)
version=$major.$minor.$patch
[ "$(pkg-config --modversion libringbuf)" = "$version" ] ||
	fail "pkg-config says version $(pkg-config --modversion libringbuf), the header $version"

cat > "$tmp/use.c" <<'PROG'
#include <ringbuf.h>
#include <stdio.h>
#include <string.h>
#if RINGBUF_VERSION < RINGBUF_MAKE_VERSION(0, 3, 0)
#error "RINGBUF_VERSION is not usable in #if"
#endif
static int seen;
static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	seen += size == 6 && memcmp(data, "hello", 6) == 0;
	return 0;
}
int main(void)
{
	RINGBUF_OPTS(ringbuf_opts, o, .recover_ms = 500);
	RINGBUF_OPTS(ringbuf_stats, st);
	RINGBUF_OPTS(ringbuf_opts, bad, .flags = 1); /* unknown flag: refused */
	if (o.sz != sizeof(struct ringbuf_opts) || o.recover_ms != 500 || o.flags != 0 ||
	    st.sz != sizeof(struct ringbuf_stats))
		return 10;
	if (ringbuf_version() != RINGBUF_VERSION ||
	    strcmp(ringbuf_version_string(), RINGBUF_VERSION_STRING) != 0)
		return 11;
	if (ringbuf_new(4096, &bad) != NULL)
		return 12;
	struct ringbuf *rb = ringbuf_new(4096, &o);
	if (!rb || ringbuf_output(rb, "hello", 6, 0) != 0)
		return 1;
	int n = ringbuf_consume(rb, on_record, NULL);
	if (ringbuf_stats(rb, &st) != 0 || st.reserved != 1)
		return 13;
	ringbuf_free(rb);
	printf("%s\n", ringbuf_version_string());
	return n == 1 && seen == 1 ? 0 : 1;
}
PROG
# shellcheck disable=SC2086
gcc -std=gnu11 -Wall -Wextra -Werror "$tmp/use.c" $flags -o "$tmp/use-c"
# shellcheck disable=SC2086
g++ -std=c++17 -Wall -Wextra -Werror -x c++ "$tmp/use.c" $flags -o "$tmp/use-cxx"
# shellcheck disable=SC2086
clang -std=gnu11 -Wall -Wextra -Werror "$tmp/use.c" $flags -o "$tmp/use-clang"
# shellcheck disable=SC2086
clang++ -std=c++17 -Wall -Wextra -Werror -x c++ "$tmp/use.c" $flags -o "$tmp/use-clangxx"
# shellcheck disable=SC2086
gcc -std=gnu11 -Wall -Werror "$tmp/use.c" -I"$prefix/include" "$prefix/lib/libringbuf.a" -lpthread -o "$tmp/use-static"
for p in use-c use-cxx use-clang use-clangxx; do
	out=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/$p") || fail "$p failed ($?)"
	[ "$out" = "$version" ] || fail "$p: ringbuf_version_string() gave '$out', not $version"
done
"$tmp/use-static" >/dev/null || fail "use-static failed ($?)"

# The installed command runs on the installed shared library, found by
# itself (no LD_LIBRARY_PATH), and runs demo and bench from libexec.
bin=$prefix/bin/ringbuf
readelf -d "$bin" | grep -q 'NEEDED.*\[libringbuf\.so\.0\]' || fail "the installed ringbuf does not use libringbuf.so.0"
found=$(env -u LD_LIBRARY_PATH ldd "$bin" | awk '$1 == "libringbuf.so.0" { print $3 }')
[ "$found" = "$prefix/lib/libringbuf.so.0" ] || fail "the installed ringbuf loads libringbuf.so.0 from '$found'"
# (output is read whole before grep -q, which would stop reading early)
has() { grep -q -e "$1" <<<"$2"; }
has "^ringbuf $version " "$(env -u LD_LIBRARY_PATH "$bin" --version)" || fail "ringbuf --version"
usage=$("$bin" --help)
has '^  demo ' "$usage" || fail "the installed ringbuf does not list demo"
has '^  bench ' "$usage" || fail "the installed ringbuf does not list bench"
has 'lost 0' "$("$bin" demo --seconds 1)" || fail "ringbuf demo did not run from libexec"
has '--quick ' "$("$bin" bench --help)" || fail "ringbuf bench did not run from libexec"
mkdir "$tmp/alone" && cp "$bin" "$tmp/alone/"
if has '^  demo \|^  bench ' "$("$tmp/alone/ringbuf" --help)"; then
	fail "a ringbuf without its libexec lists demo or bench"
fi
"$tmp/alone/ringbuf" demo >/dev/null 2>&1 && fail "a ringbuf without its libexec ran demo"

# Man pages: every exported function has one, and it is the header's text.
man3=$prefix/share/man/man3
[ -s "$prefix/share/man/man1/ringbuf.1" ] || fail "no ringbuf.1"
[ -s "$man3/ringbuf.3" ] && [ -s "$man3/ringbuf_bpf.3" ] || fail "no ringbuf.3 or ringbuf_bpf.3"
mapped=$(grep -oE '^[[:space:]]+ringbuf_[a-z_0-9]+;' src/libringbuf.map | tr -d ' \t;' | sort)
for f in $mapped; do
	[ -f "$man3/$f.3" ] || fail "no man page for $f"
	grep -q "^\.SS .*\b$f\b" "$man3/ringbuf.3" "$man3/ringbuf_bpf.3" ||
		fail "$f is not described in ringbuf.3 or ringbuf_bpf.3"
done
grep -q 'RINGBUF_OPTS' "$man3/ringbuf.3" || fail "ringbuf.3 lacks RINGBUF_OPTS"
if command -v man >/dev/null && command -v groff >/dev/null; then
	warn=$(man --warnings -l "$man3/ringbuf.3" "$man3/ringbuf_bpf.3" 2>&1 >/dev/null) || true
	[ -z "$warn" ] || fail "man warns about the API pages: $warn"
	has 'bpf_ringbuf_output' "$(MANPATH=$prefix/share/man man -P cat ringbuf_output 2>/dev/null)" ||
		fail "man ringbuf_output does not show the page"
fi

# Only the documented API is exported from the shared library, and all of it.
exported=$(nm -D --defined-only "$prefix/lib/libringbuf.so" | awk '$2=="T"{print $3}' | sed 's/@.*//' | sort)
expected=$(cat include/ringbuf.h include/ringbuf_bpf.h | grep -o '^RINGBUF_API[^(]*(' | sed 's/.*[ *]\([a-z_]*\)(/\1/' | sort)
if [ "$exported" != "$expected" ]; then
	echo "check-install: exported symbols differ from the header"; diff <(echo "$expected") <(echo "$exported"); exit 1
fi
[ "$mapped" = "$expected" ] || fail "src/libringbuf.map and the header list different functions"

# ldconfig runs only for a live install (no DESTDIR) as root into /usr/local.
if [ "$(id -u)" = 0 ]; then
	has '^ldconfig$' "$(make -n install PREFIX=/usr/local)" || fail "make install PREFIX=/usr/local would not run ldconfig"
fi
has '^ldconfig' "$(make -n install PREFIX=/usr/local DESTDIR="$tmp/stage")" &&
	fail "make install DESTDIR=... would run ldconfig"
has '^ldconfig' "$(make -n install PREFIX="$prefix")" && fail "make install PREFIX=$prefix would run ldconfig"

# The installed Python module works against the installed library.
if [ -x /usr/bin/python3 ]; then
	[ -f "$prefix/lib/python3/dist-packages/ringbuf.py" ] || fail "the Python module is not installed"
	out=$(cd / && RINGBUF_LIB="$prefix/lib/libringbuf.so.0" PYTHONPATH="$prefix/lib/python3/dist-packages" \
		/usr/bin/python3 -c 'import ringbuf
r = ringbuf.Ring.new(4096); r.output(b"py"); got = []; r.consume(got.append); print(got[0].decode(), ringbuf.library_version())') ||
		fail "the installed Python module does not work"
	[ "$out" = "py $(sed -n 's/^#define RINGBUF_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' include/ringbuf.h | paste -sd.)" ] ||
		fail "the installed Python module said '$out'"
fi

make -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"

echo "check-install: installed library, header, RINGBUF_OPTS and version work from C, C++ and static" \
	"linking; the installed ringbuf finds its library and its demo/bench; $(echo "$exported" | wc -l)" \
	"symbols exported, each with a man page"
