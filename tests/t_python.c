/* SPDX-License-Identifier: MIT */
/*
 * t_python -- the Python module (python/ringbuf.py): runs its pytest suite
 * (tests/py) with Debian's python3 against this build's shared library.
 * Skips (77) when python3 or pytest is missing (./build.sh installs them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <limits.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define T_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define T_SANITIZED 1
#endif
#endif

int main(void)
{
	char dir[PATH_MAX], lib[PATH_MAX + 64], src[PATH_MAX + 64], pypath[PATH_MAX + 64];
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	char cmd[PATH_MAX * 2];
	int st;

#ifdef T_SANITIZED
	SKIP("a sanitizer build's library cannot be loaded into python (its runtime must come "
	     "first); the plain build runs this");
#endif
	t_exe_dir(dir); /* BUILD/tests */
	snprintf(lib, sizeof(lib), "%s/../libringbuf.so.0", dir);
	if (access(lib, R_OK))
		SKIP("no %s (make builds it)", lib);
	/* the sources: tests/py and python/ next to the build directory */
	snprintf(src, sizeof(src), "%s/../../tests/py", dir);
	snprintf(pypath, sizeof(pypath), "%s/../../python", dir);
	snprintf(cmd, sizeof(cmd), "%s -c '' 2>/dev/null", py);
	if (system(cmd) != 0)
		SKIP("no python3 (Debian: python3; ./build.sh installs it)");
	/* a 32-bit build's library cannot be loaded into a 64-bit python */
	snprintf(cmd, sizeof(cmd), "%s -c 'import struct, sys; sys.exit(struct.calcsize(\"P\") != %zu)'",
		 py, sizeof(void *));
	if (system(cmd) != 0)
		SKIP("%s is not a %zu-bit python: it cannot load this build's library", py,
		     8 * sizeof(void *));
	snprintf(cmd, sizeof(cmd), "%s -c 'import pytest' 2>/dev/null", py);
	if (system(cmd) != 0)
		SKIP("no pytest for %s (Debian: python3-pytest; ./build.sh installs it)", py);
	setenv("RINGBUF_LIB", lib, 1);
	setenv("PYTHONPATH", pypath, 1);
	setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
	snprintf(cmd, sizeof(cmd), "%s -m pytest -q -p no:cacheprovider %s", py, src);
	fflush(stdout);
	st = system(cmd);
	CHECK(st != -1 && WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		fprintf(stderr, "pytest failed (exit %d)\n", WEXITSTATUS(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	return T_PASS;
}
