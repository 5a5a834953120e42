# mk/install.mk -- make install, make uninstall, make man (included by the
# Makefile).
#
#   make install PREFIX=/usr/local DESTDIR=      (LIBDIR, INCDIR, MANDIR too)
#
# installs
#   INCDIR/ringbuf.h, ringbuf_bpf.h
#   LIBDIR/libringbuf.so.VERSION, .so.0, .so, libringbuf.a, pkgconfig/libringbuf.pc
#   PREFIX/bin/ringbuf                the command, linked to the shared library
#   PREFIX/libexec/ringbuf/           what `ringbuf demo` and `ringbuf bench` run:
#                                     ringbuf-demo, bench/ringbuf_bench, bench/bpf/
#                                     (the command looks in ../libexec/ringbuf/)
#   MANDIR/man1/ringbuf.1, man3/ringbuf.3, man3/ringbuf_bpf.3, and one
#                                     man3/FUNCTION.3 per function (.so to its page)
#   PYDIR/ringbuf.py                  the Python module (ctypes over the shared
#                                     library; PYDIR defaults to Debian's
#                                     PREFIX/lib/python3/dist-packages)
#
# The API's pages are made from the headers' comments by scripts/gen-man.sh
# (make man: $(BUILD)/man/), so they say what the header says.
#
# Finding the shared library.  Installed as root with DESTDIR empty into
# PREFIX /usr or /usr/local, the install runs ldconfig, so the loader finds
# the new library at once (Debian's loader searches /usr/local/lib).  The
# installed `ringbuf` carries a RUNPATH to LIBDIR unless LIBDIR is one the
# loader searches anyway (/lib, /usr/lib, their multiarch and lib64
# directories), so it runs from any PREFIX without LD_LIBRARY_PATH.  Your
# own programs linked against a library in another prefix need the same:
# -Wl,-rpath,LIBDIR at link time, or LD_LIBRARY_PATH=LIBDIR (README).

BINDIR     := $(PREFIX)/bin
LIBEXECDIR := $(PREFIX)/libexec/ringbuf
MANDIR     ?= $(PREFIX)/share/man
PYDIR      ?= $(PREFIX)/lib/python3/dist-packages
LDCONFIG   ?= ldconfig

MULTIARCH     := $(shell $(CC) -dumpmachine 2>/dev/null)
LOADER_DIRS   := /lib /usr/lib /lib64 /usr/lib64 $(if $(MULTIARCH),/lib/$(MULTIARCH) /usr/lib/$(MULTIARCH))
INSTALL_RPATH := $(if $(filter $(LOADER_DIRS),$(patsubst %/,%,$(LIBDIR))),,-Wl,-rpath,$(LIBDIR))
# ldconfig: only into the live system (no DESTDIR: a package's own scripts
# run it), only as root, only for the prefixes the loader's cache covers.
RUN_LDCONFIG  := $(and $(if $(DESTDIR),,y),$(filter /usr /usr/local,$(patsubst %/,%,$(PREFIX))),$(filter 0,$(shell id -u)))

MAN3_PAGES := $(BUILD)/man/ringbuf.3 $(BUILD)/man/ringbuf_bpf.3
INST_CLI   := $(BUILD)/inst/ringbuf

.PHONY: install uninstall man FORCE
man: $(MAN3_PAGES)
$(BUILD)/man/%.3: include/%.h scripts/gen-man.sh Makefile
	@mkdir -p $(@D)
	scripts/gen-man.sh $< $* $(VERSION) > $@.tmp && mv $@.tmp $@

# The installed command: the same objects as $(BUILD)/ringbuf, linked to the
# shared library (so it runs the library installed with it) with the
# RUNPATH of this install's LIBDIR -- relinked every time, since LIBDIR
# may change between installs.
$(INST_CLI): $(CLI_OBJS) $(SHARED) FORCE
	@mkdir -p $(@D)
	$(CC) $(CLI_OBJS) -L$(BUILD) -lringbuf $(INSTALL_RPATH) $(LDFLAGS) $(LDLIBS) $(NATS_LIBS) $(BTF_LIBS) -o $@
FORCE:

install: lib $(INST_CLI) $(DEMO) $(BENCH) $(MAN3_PAGES)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PKGDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(LIBEXECDIR)/bench/bpf $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 include/ringbuf.h include/ringbuf_bpf.h $(DESTDIR)$(INCDIR)/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libringbuf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libringbuf.so.$(SOVER)
	ln -sf libringbuf.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libringbuf.so
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' \
		libringbuf.pc.in > $(DESTDIR)$(PKGDIR)/libringbuf.pc
	install -m 755 $(INST_CLI) $(DESTDIR)$(BINDIR)/
	install -m 755 $(DEMO) $(DESTDIR)$(LIBEXECDIR)/
	install -m 755 $(BENCH) $(DESTDIR)$(LIBEXECDIR)/bench/
	install -m 644 $(BENCH_BPF_OBJ) $(DESTDIR)$(LIBEXECDIR)/bench/bpf/
	install -m 644 docs/ringbuf.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(PYDIR)
	install -m 644 python/ringbuf.py $(DESTDIR)$(PYDIR)/
	install -m 644 $(MAN3_PAGES) $(DESTDIR)$(MANDIR)/man3/
	for h in ringbuf ringbuf_bpf; do \
		for f in $$(scripts/gen-man.sh --names include/$$h.h $$h $(VERSION)); do \
			echo ".so man3/$$h.3" > $(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
		done; \
	done
	$(if $(RUN_LDCONFIG),$(LDCONFIG))

uninstall:
	for h in ringbuf ringbuf_bpf; do \
		for f in $$(scripts/gen-man.sh --names include/$$h.h $$h $(VERSION)); do \
			rm -f $(DESTDIR)$(MANDIR)/man3/$$f.3; \
		done; \
	done
	rm -f $(DESTDIR)$(BINDIR)/ringbuf $(DESTDIR)$(MANDIR)/man1/ringbuf.1 \
		$(DESTDIR)$(MANDIR)/man3/ringbuf.3 $(DESTDIR)$(MANDIR)/man3/ringbuf_bpf.3
	rm -rf $(DESTDIR)$(LIBEXECDIR)
	rm -f $(DESTDIR)$(PYDIR)/ringbuf.py
	rm -f $(DESTDIR)$(INCDIR)/ringbuf.h $(DESTDIR)$(INCDIR)/ringbuf_bpf.h \
		$(DESTDIR)$(LIBDIR)/libringbuf.* $(DESTDIR)$(PKGDIR)/libringbuf.pc
	$(if $(RUN_LDCONFIG),$(LDCONFIG))
