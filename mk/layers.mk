# mk/layers.mk -- the direction of calls in src/ (included by the Makefile).
#
#   make layers   scripts/check-layers.sh: every library file uses only files
#                 of lower layers (no file calls into a file that calls back
#                 into it), the top layer only the public API, and no file
#                 grows past its size.  ./build.sh verify runs it.

.PHONY: layers
layers:
	CC="$(CC)" scripts/check-layers.sh
