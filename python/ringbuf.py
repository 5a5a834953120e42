# SPDX-License-Identifier: MIT
"""ringbuf -- the BPF ring buffer in user space, from Python.

A thin layer over libringbuf's C ABI with ctypes: no compile step, nothing
outside the standard library.  The library is found through the environment
variable RINGBUF_LIB (a path: that library or an ImportError-raising
OSError, never another one), else next to this file in a source checkout
(../build/libringbuf.so.0), else by the system's loader (libringbuf.so.0).

    import ringbuf
    with ringbuf.Ring.new(1 << 20) as r:
        r.output(b"hello")
        with r.reserve(8) as rec:       # submitted at the end of the block
            rec[:] = b"12345678"
        for data in r.records(timeout_ms=0):
            print(data)

A RingSet is N rings used as one (ringbuf_set_*): each producer thread
writes into a ring of its CPU, one consumer reads them all.

    with ringbuf.RingSet.new(4, 1 << 16) as s:
        s.output(b"from this thread's ring")
        s.consume(print)

Errors are OSError with the C errno (FileNotFoundError, FileExistsError,
BlockingIOError for a full ring, ...).  A Python exception raised by a
consume callback stops the consumption and is raised again by the call; the
record it was raised for is consumed (as a callback's negative return in C),
the records after it stay in the ring.  records() takes one record per step,
so leaving the loop early loses nothing.

Threads: one Ring object may produce from several threads; consuming is for
one thread at a time, as in C.  The GIL is released by ctypes around every
call, so a poll with a timeout does not block other Python threads.
"""

import ctypes
import ctypes.util
import errno as _errno
import os

__all__ = ["Ring", "RingSet", "RingError", "unlink", "NO_WAKEUP", "FORCE_WAKEUP",
           "ROLE_PRODUCER", "ROLE_CONSUMER", "ROLE_OBSERVER",
           "F_OVERWRITE", "F_SPLIT", "F_SINGLE_PRODUCER", "AVAIL_DATA",
           "RING_SIZE", "CONS_POS", "PROD_POS", "OVERWRITE_POS", "RING_ID",
           "SET_ID", "SET_COUNT", "SET_INDEX", "RECOVER_NEVER", "Record",
           "library_version"]

NO_WAKEUP = 1
FORCE_WAKEUP = 2
ROLE_PRODUCER = 1
ROLE_CONSUMER = 2
ROLE_OBSERVER = 4
F_OVERWRITE = 1 << 19
F_SPLIT = 1 << 32
F_SINGLE_PRODUCER = 1 << 33
AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS, OVERWRITE_POS = 0, 1, 2, 3, 4
RING_ID = 0x100
SET_ID, SET_COUNT, SET_INDEX = 0x101, 0x102, 0x103
RECOVER_NEVER = 0xFFFFFFFF

RingError = OSError


def _load():
    if os.environ.get("RINGBUF_LIB"):
        # asked for by path: that one or an error, never a silent other one
        return ctypes.CDLL(os.environ["RINGBUF_LIB"], use_errno=True)
    cands = []
    here = os.path.dirname(os.path.abspath(__file__))
    cands.append(os.path.join(here, "..", "build", "libringbuf.so.0"))
    found = ctypes.util.find_library("ringbuf")
    cands += [found] if found else []
    cands.append("libringbuf.so.0")
    last = None
    for c in cands:
        if c and ("/" not in c or os.path.exists(c)):
            try:
                return ctypes.CDLL(c, use_errno=True)
            except OSError as e:
                last = e
    raise OSError(_errno.ENOENT, "libringbuf.so.0 not found (set RINGBUF_LIB): %s" % last)


_lib = _load()


class _Opts(ctypes.Structure):
    """struct ringbuf_opts"""
    _fields_ = [("sz", ctypes.c_size_t), ("flags", ctypes.c_uint64),
                ("mode", ctypes.c_uint32), ("role", ctypes.c_uint32),
                ("recover_ms", ctypes.c_uint32), ("consumer_mode", ctypes.c_uint32)]


_STATS_FIELDS = ["reserved", "reserved_bytes", "discarded", "refused_full",
                 "refused_too_big", "refused_flags", "wakeups", "lock_steals",
                 "ring_size", "avail_data", "consumer_pos", "producer_pos"]


class _Stats(ctypes.Structure):
    """struct ringbuf_stats"""
    _fields_ = ([("sz", ctypes.c_size_t)] +
                [(f, ctypes.c_uint64) for f in _STATS_FIELDS] +
                [("consumer_pid", ctypes.c_uint32), ("_pad", ctypes.c_uint32),
                 ("flags", ctypes.c_uint64), ("overwrite_pos", ctypes.c_uint64),
                 ("overwritten", ctypes.c_uint64), ("lost", ctypes.c_uint64),
                 ("recovered", ctypes.c_uint64), ("refused_nested", ctypes.c_uint64),
                 ("truncated", ctypes.c_uint64)])


_SAMPLE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)

_H = ctypes.c_void_p
_ONE = _errno.ECHILD  # records(): the callback's "stop after one" (never an error of poll's)


def _proto(name, res, *args):
    f = getattr(_lib, name)
    f.restype = res
    f.argtypes = list(args)
    return f


_new = _proto("ringbuf_new", _H, ctypes.c_size_t, ctypes.POINTER(_Opts))
_create = _proto("ringbuf_create", _H, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_Opts))
_open = _proto("ringbuf_open", _H, ctypes.c_char_p, ctypes.POINTER(_Opts))
_unlink = _proto("ringbuf_unlink", ctypes.c_int, ctypes.c_char_p)
_map_open_pinned = _proto("ringbuf_map_open_pinned", _H, ctypes.c_char_p, ctypes.POINTER(_Opts))
_map_open_id = _proto("ringbuf_map_open_id", _H, ctypes.c_uint32, ctypes.POINTER(_Opts))
_free = _proto("ringbuf_free", None, _H)
_output = _proto("ringbuf_output", ctypes.c_long, _H, ctypes.c_void_p, ctypes.c_uint64,
                 ctypes.c_uint64)
_reserve = _proto("ringbuf_reserve", ctypes.c_void_p, _H, ctypes.c_uint64, ctypes.c_uint64)
_submit = _proto("ringbuf_submit", None, ctypes.c_void_p, ctypes.c_uint64)
_discard = _proto("ringbuf_discard", None, ctypes.c_void_p, ctypes.c_uint64)
_consume = _proto("ringbuf_consume", ctypes.c_int, _H, _SAMPLE_FN, ctypes.c_void_p)
_consume_n = _proto("ringbuf_consume_n", ctypes.c_int, _H, _SAMPLE_FN, ctypes.c_void_p,
                    ctypes.c_size_t)
_poll = _proto("ringbuf_poll", ctypes.c_int, _H, _SAMPLE_FN, ctypes.c_void_p, ctypes.c_int)
_stats = _proto("ringbuf_stats", ctypes.c_int, _H, ctypes.POINTER(_Stats))
_query = _proto("ringbuf_query", ctypes.c_uint64, _H, ctypes.c_uint64)
_interrupt = _proto("ringbuf_interrupt", ctypes.c_int, _H)
_epoll_fd = _proto("ringbuf_epoll_fd", ctypes.c_int, _H)
_set_new = _proto("ringbuf_set_new", _H, ctypes.c_uint, ctypes.c_size_t, ctypes.POINTER(_Opts))
_set_create = _proto("ringbuf_set_create", _H, ctypes.c_char_p, ctypes.c_uint, ctypes.c_size_t,
                     ctypes.POINTER(_Opts))
_set_open = _proto("ringbuf_set_open", _H, ctypes.c_char_p, ctypes.POINTER(_Opts))
_set_unlink = _proto("ringbuf_set_unlink", ctypes.c_int, ctypes.c_char_p)
_set_map_open = _proto("ringbuf_set_map_open", _H, ctypes.c_int, ctypes.POINTER(_Opts))
_set_map_open_pinned = _proto("ringbuf_set_map_open_pinned", _H, ctypes.c_char_p,
                              ctypes.POINTER(_Opts))
_set_map_open_id = _proto("ringbuf_set_map_open_id", _H, ctypes.c_uint32, ctypes.POINTER(_Opts))
_set_free = _proto("ringbuf_set_free", None, _H)
_set_output = _proto("ringbuf_set_output", ctypes.c_long, _H, ctypes.c_void_p, ctypes.c_uint64,
                     ctypes.c_uint64)
_set_reserve = _proto("ringbuf_set_reserve", ctypes.c_void_p, _H, ctypes.c_uint64,
                      ctypes.c_uint64)
_set_consume = _proto("ringbuf_set_consume", ctypes.c_int, _H, _SAMPLE_FN, ctypes.c_void_p)
_set_poll = _proto("ringbuf_set_poll", ctypes.c_int, _H, _SAMPLE_FN, ctypes.c_void_p,
                   ctypes.c_int)
_set_consume_ordered = _proto("ringbuf_set_consume_ordered", ctypes.c_int, _H, ctypes.c_uint32,
                              ctypes.c_uint64, _SAMPLE_FN, ctypes.c_void_p)
_set_epoll_fd = _proto("ringbuf_set_epoll_fd", ctypes.c_int, _H)
_set_refresh = _proto("ringbuf_set_refresh", ctypes.c_int, _H)
_set_count = _proto("ringbuf_set_count", ctypes.c_uint, _H)
_set_ring = _proto("ringbuf_set_ring", _H, _H, ctypes.c_uint)
_set_stats = _proto("ringbuf_set_stats", ctypes.c_int, _H, ctypes.POINTER(_Stats))
_version_string = _proto("ringbuf_version_string", ctypes.c_char_p)


def library_version():
    """The loaded library's version, e.g. '0.4.0'."""
    return _version_string().decode()


def _check(r, what):
    if r < 0:
        raise OSError(-r, "%s: %s" % (what, os.strerror(-r)))
    return r


def _fail(what):
    e = ctypes.get_errno() or _errno.EIO
    raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def _opts(flags=0, mode=0, role=0, recover_ms=0, consumer_mode=0):
    o = _Opts(ctypes.sizeof(_Opts), flags, mode, role, recover_ms, consumer_mode)
    return ctypes.byref(o)


def unlink(name):
    """Remove the named ring NAME (ringbuf_unlink)."""
    _check(_unlink(name.encode()), "ringbuf_unlink(%s)" % name)


class Record:
    """A reserved record: a writable buffer of its size, committed once.

    Use as a context manager (submitted at the end of the block, discarded
    if the block raises), or call submit()/discard() yourself."""

    def __init__(self, ptr, size):
        self._ptr = ptr
        self.size = size
        self._view = (ctypes.c_char * size).from_address(ptr) if size else None

    def __len__(self):
        return self.size

    @property
    def view(self):
        """A writable memoryview of the record's bytes (valid until the
        record is committed; do not keep it past submit/discard)."""
        if self._ptr is None:
            raise ValueError("record already committed")
        if self._view is None:
            return memoryview(bytearray())
        return memoryview(self._view).cast("B")

    def __setitem__(self, key, value):
        if self._ptr is None:
            raise ValueError("record already committed")
        if self._view is None:
            if value:
                raise IndexError("a record of 0 bytes")
            return
        memoryview(self._view).cast("B")[key] = value

    def __getitem__(self, key):
        if self._ptr is None or self._view is None:
            raise ValueError("record already committed or empty")
        return bytes(memoryview(self._view).cast("B")[key])

    def submit(self, flags=0):
        """Commit the record for the consumer (ringbuf_submit); FLAGS:
        NO_WAKEUP or FORCE_WAKEUP."""
        if self._ptr is None:
            raise ValueError("record already committed")
        _submit(self._ptr, flags)
        self._ptr = self._view = None

    def discard(self, flags=0):
        """Commit the record as discarded (ringbuf_discard): the consumer
        skips it."""
        if self._ptr is None:
            raise ValueError("record already committed")
        _discard(self._ptr, flags)
        self._ptr = self._view = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._ptr is not None:
            (self.discard if exc_type else self.submit)()
        return False


class _Handle:
    """What Ring and RingSet share: the C handle, its life, the callbacks."""

    _free = None  # the C function that frees the handle

    def __init__(self, handle, what, owner=None, index=0):
        if not handle:
            _fail(what)
        self._h = handle
        self._what = what
        self._err = None
        self._owner = owner  # a RingSet's member: the set frees it, not we
        self._index = index

    def close(self):
        """Free the handle; a named ring or set stays until unlinked.
        Idempotent."""
        if self._h and self._owner is None:
            type(self)._free(self._h)
        self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _live(self):
        """Open, and for a set's member: the set open and the member still
        its ring at that index (a map set's refresh may have dropped it)."""
        if not self._h:
            return False
        o = self._owner
        return o is None or bool(o._h and _set_ring(o._h, self._index) == self._h)

    def _handle(self):
        if not self._live():
            raise ValueError("%s is closed" % type(self).__name__)
        return self._h

    def _wrap(self, fn):
        def cb(_ctx, data, size):
            try:
                fn(ctypes.string_at(data, size) if size else b"")
                return 0
            except BaseException as e:  # re-raised by the caller
                self._err = e
                return -_errno.ECANCELED
        return _SAMPLE_FN(cb)

    def _done(self, r, what):
        if self._err is not None:
            e, self._err = self._err, None
            raise e
        return _check(r, what)

    def _records(self, poll, what, timeout_ms, forever=False):
        got = []

        def one(_ctx, data, size):
            got.append(ctypes.string_at(data, size) if size else b"")
            return -_ONE  # stop after this record: it is consumed, not the next

        cb = _SAMPLE_FN(one)
        while True:
            r = poll(self._handle(), cb, None, timeout_ms)
            if got:
                yield got.pop()
                continue
            if r == -_errno.ECANCELED or (_check(r, what) == 0 and not forever):
                return

    def _stats(self, fn, what):
        st = _Stats()
        st.sz = ctypes.sizeof(_Stats)
        _check(fn(self._handle(), ctypes.byref(st)), what)
        return {name: getattr(st, name) for name, _ in _Stats._fields_
                if name not in ("sz", "_pad")}


class Ring(_Handle):
    """A handle on a ring: a ringbuf ring or a kernel ring buffer map."""

    _free = _free

    # ---- construction ------------------------------------------------
    @classmethod
    def new(cls, size, flags=0):
        """An anonymous ring of SIZE data bytes (ringbuf_new), shared with
        fork()ed children."""
        return cls(_new(size, _opts(flags=flags)), "ringbuf_new(%d)" % size)

    @classmethod
    def create(cls, name, size, mode=0o600, flags=0, role=0, recover_ms=0,
               consumer_mode=0):
        """Create the named ring NAME (/dev/shm/ringbuf.NAME; ringbuf_create)
        of SIZE data bytes with permissions MODE; FLAGS: F_OVERWRITE,
        F_SPLIT, F_SINGLE_PRODUCER.  FileExistsError if the name exists."""
        o = _opts(flags=flags, mode=mode, role=role, recover_ms=recover_ms,
                  consumer_mode=consumer_mode)
        return cls(_create(name.encode(), size, o), "ringbuf_create(%s)" % name)

    @classmethod
    def open(cls, name, role=0, recover_ms=0):
        """Attach to the named ring NAME (ringbuf_open); ROLE_PRODUCER only
        produces, ROLE_CONSUMER claims the consumer role (EBUSY if a live
        process holds it), ROLE_OBSERVER only reads; 0: both roles."""
        return cls(_open(name.encode(), _opts(role=role, recover_ms=recover_ms)),
                   "ringbuf_open(%s)" % name)

    @classmethod
    def from_map(cls, pinned=None, map_id=None):
        """A kernel BPF_MAP_TYPE_RINGBUF (consume) or USER_RINGBUF (produce)
        map: by bpffs path (PINNED, a str or path; ringbuf_map_open_pinned)
        or by id (MAP_ID, or an int as the first argument;
        ringbuf_map_open_id, needs CAP_SYS_ADMIN)."""
        if isinstance(pinned, int):
            pinned, map_id = None, pinned
        if pinned is not None:
            return cls(_map_open_pinned(os.fsencode(pinned), None),
                       "ringbuf_map_open_pinned(%s)" % pinned)
        if map_id is not None:
            return cls(_map_open_id(map_id, None), "ringbuf_map_open_id(%d)" % map_id)
        raise ValueError("from_map: give pinned= or map_id=")

    def close(self):
        """Free the handle (ringbuf_free); a named ring stays until
        unlink().  Idempotent.  A set's member (RingSet.ring()) is only
        let go of: the set frees it."""
        _Handle.close(self)

    # ---- producer ----------------------------------------------------
    def output(self, data, flags=0):
        """Copy DATA (bytes-like) into a new record (ringbuf_output).
        BlockingIOError (EAGAIN) when the ring is full."""
        b = bytes(data)
        buf = ctypes.c_char_p(b) if b else None
        _check(_output(self._handle(), buf, len(b), flags), "ringbuf_output")

    def reserve(self, size):
        """Reserve a record of SIZE bytes (ringbuf_reserve): a Record to fill
        (rec[:] = ..., rec.view) and commit -- with a with-block (submitted
        at its end, discarded if it raises) or submit()/discard().
        BlockingIOError when the ring is full, E2BIG if it can never fit."""
        p = _reserve(self._handle(), size, 0)
        if not p:
            _fail("ringbuf_reserve(%d)" % size)
        return Record(p, size)

    # ---- consumer ----------------------------------------------------
    def consume(self, fn, n=None):
        """Call FN(bytes) for each committed record, without waiting
        (ringbuf_consume / ringbuf_consume_n); the number delivered."""
        cb = self._wrap(fn)
        if n is None:
            r = _consume(self._handle(), cb, None)
        else:
            r = _consume_n(self._handle(), cb, None, n)
        return self._done(r, "ringbuf_consume")

    def poll(self, fn, timeout_ms=-1):
        """Wait up to TIMEOUT_MS (-1: for ever) for records, then consume
        them with FN (ringbuf_poll); the number delivered, 0 on timeout.
        OSError ECANCELED after interrupt() (nothing consumed)."""
        r = _poll(self._handle(), self._wrap(fn), None, timeout_ms)
        return self._done(r, "ringbuf_poll")

    def records(self, timeout_ms=-1):
        """Iterate over records (bytes) as they come; ends after a poll of
        TIMEOUT_MS finds nothing (never with -1), or once interrupt() is
        called.  Each step consumes one record, so a loop left early
        (break, an exception) leaves the rest in the ring."""
        return self._records(_poll, "ringbuf_poll", timeout_ms)

    def interrupt(self):
        """Make a poll() or records() blocked in another thread return at
        once (ringbuf_interrupt): poll() raises ECANCELED, records() ends;
        if none is blocked, the next one does.  Nothing is consumed or lost.
        Close the ring only after that thread is done with it."""
        _check(_interrupt(self._handle()), "ringbuf_interrupt")

    def epoll_fd(self):
        """A file descriptor readable when records are waiting
        (ringbuf_epoll_fd), for select/selectors."""
        return _check(_epoll_fd(self._handle()), "ringbuf_epoll_fd")

    # ---- inspection --------------------------------------------------
    def stats(self):
        """The ring's counters and positions (ringbuf_stats) as a dict."""
        return self._stats(_stats, "ringbuf_stats")

    def query(self, what):
        """ringbuf_query: AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS,
        OVERWRITE_POS or RING_ID (0 for an unknown WHAT, as in C)."""
        return _query(self._handle(), what)

    def __repr__(self):
        return "<ringbuf.Ring %s%s>" % (self._what, "" if self._live() else " closed")


class RingSet(_Handle):
    """A ring set (ringbuf_set_*): N rings of one size used as one object.

    Each producer thread writes into a ring of the CPU it runs on, so
    producers on different CPUs do not contend; one consumer reads every
    ring.  Order is per producer thread (a thread's records come out in the
    order it wrote them); records of different threads have no order
    between them unless they carry a timestamp (consume_ordered()).  A full
    ring refuses the record (BlockingIOError), as one ring does.

    Threads: output() and reserve() from any number of threads at once;
    the consumer calls (consume, poll, records, consume_ordered, epoll_fd,
    refresh) from one thread at a time.  A set has no interrupt(): give
    poll() and records() a finite timeout where a loop must end."""

    _free = _set_free

    # ---- construction ------------------------------------------------
    @classmethod
    def new(cls, n, ring_size):
        """An anonymous set of N rings (1 .. 1024) of RING_SIZE data bytes
        each (ringbuf_set_new), memfd-backed and shared with fork()ed
        children.  OSError EINVAL for a bad N or RING_SIZE."""
        return cls(_set_new(n, ring_size, None),
                   "ringbuf_set_new(%d, %d)" % (n, ring_size))

    @classmethod
    def create(cls, name, n, ring_size, mode=0o600, role=0, recover_ms=0):
        """Create the named set NAME: the rings NAME.0 .. NAME.(N-1) under
        /dev/shm (ringbuf_set_create), with permissions MODE; ROLE and
        RECOVER_MS as for Ring.create() (a set takes no FLAGS).
        FileExistsError if a member's name exists (nothing is left behind),
        EINVAL for a bad NAME (it needs room for ".N"), N or RING_SIZE."""
        o = _opts(mode=mode, role=role, recover_ms=recover_ms)
        return cls(_set_create(name.encode(), n, ring_size, o),
                   "ringbuf_set_create(%s)" % name)

    @classmethod
    def open(cls, name, role=0, recover_ms=0):
        """Attach to the named set NAME (ringbuf_set_open); ROLE as for
        Ring.open() (ROLE_CONSUMER claims every member: EBUSY if a live
        process holds one).  FileNotFoundError if there is none, EPROTO if
        NAME.0 is no set's first ring or a member is another set's."""
        return cls(_set_open(name.encode(), _opts(role=role, recover_ms=recover_ms)),
                   "ringbuf_set_open(%s)" % name)

    @classmethod
    def from_map(cls, pinned=None, map_id=None, fd=None):
        """One consumer over a kernel BPF_MAP_TYPE_ARRAY_OF_MAPS or
        HASH_OF_MAPS of RINGBUF maps, each inner map a member in key order:
        by bpffs path (PINNED; ringbuf_set_map_open_pinned), by id (MAP_ID,
        or an int as the first argument; ringbuf_set_map_open_id), or by a
        file descriptor of the outer map (FD, duplicated: the caller keeps
        its own; ringbuf_set_map_open).  The outer map is reread by
        consume/poll (at most every 100 ms) and by refresh().  OSError
        EMEDIUMTYPE if it is no map of ring buffers; output() and reserve()
        raise EOPNOTSUPP (BPF programs produce)."""
        if isinstance(pinned, int):
            pinned, map_id = None, pinned
        if pinned is not None:
            return cls(_set_map_open_pinned(os.fsencode(pinned), None),
                       "ringbuf_set_map_open_pinned(%s)" % pinned)
        if map_id is not None:
            return cls(_set_map_open_id(map_id, None), "ringbuf_set_map_open_id(%d)" % map_id)
        if fd is not None:
            return cls(_set_map_open(fd, None), "ringbuf_set_map_open(fd %d)" % fd)
        raise ValueError("from_map: give pinned=, map_id= or fd=")

    @staticmethod
    def unlink(name):
        """Remove the named set NAME's rings (ringbuf_set_unlink); handles
        open on it keep working.  FileNotFoundError if there is none,
        EPROTO if NAME.0 is no set's first ring."""
        _check(_set_unlink(name.encode()), "ringbuf_set_unlink(%s)" % name)

    def close(self):
        """Free the set and its rings (ringbuf_set_free); a named set stays
        until unlink().  Its member views (ring()) are closed with it.
        Idempotent."""
        _Handle.close(self)

    # ---- producer ----------------------------------------------------
    def output(self, data, flags=0):
        """Copy DATA (bytes-like) into a new record in this thread's ring
        (ringbuf_set_output).  BlockingIOError (EAGAIN) when that ring is
        full, E2BIG if the record can never fit, EOPNOTSUPP for a
        consumer-only or kernel map set."""
        b = bytes(data)
        buf = ctypes.c_char_p(b) if b else None
        _check(_set_output(self._handle(), buf, len(b), flags), "ringbuf_set_output")

    def reserve(self, size):
        """Reserve a record of SIZE bytes in this thread's ring
        (ringbuf_set_reserve): a Record, committed as Ring.reserve()'s is.
        BlockingIOError when the ring is full, E2BIG if it can never fit."""
        p = _set_reserve(self._handle(), size, 0)
        if not p:
            _fail("ringbuf_set_reserve(%d)" % size)
        return Record(p, size)

    # ---- consumer ----------------------------------------------------
    def consume(self, fn):
        """Call FN(bytes) for each committed record of every ring, without
        waiting (ringbuf_set_consume); the number delivered.  An exception
        FN raises stops it and is raised again (as Ring.consume())."""
        return self._done(_set_consume(self._handle(), self._wrap(fn), None),
                          "ringbuf_set_consume")

    def poll(self, fn, timeout_ms=-1):
        """Consume what is there; if nothing was, wait up to TIMEOUT_MS (-1:
        for ever) for a record in any ring, then consume (ringbuf_set_poll).
        The number delivered, 0 on timeout (or a wakeup that brought
        nothing consumable yet).  EOPNOTSUPP for a producer-only set."""
        r = _set_poll(self._handle(), self._wrap(fn), None, timeout_ms)
        return self._done(r, "ringbuf_set_poll")

    def records(self, timeout_ms=-1):
        """Iterate over the set's records (bytes) as they come; ends after a
        poll of TIMEOUT_MS finds nothing (never with -1: a set has no
        interrupt).  Each step consumes one record, so a loop left early
        leaves the rest in the rings."""
        # a set's poll returns 0 for a wakeup that brought nothing yet
        return self._records(_set_poll, "ringbuf_set_poll", timeout_ms, timeout_ms < 0)

    def consume_ordered(self, fn, ts_offset, lag_ns):
        """Call FN(bytes) for records in the order of the unsigned 64-bit
        timestamp (native byte order) at byte TS_OFFSET of each, e.g.
        time.monotonic_ns() (ringbuf_set_consume_ordered).  Each ring must
        hold its records in timestamp order.  A record is delivered when it
        is the oldest of every ring's next record and every ring has one, or
        it is LAG_NS old by CLOCK_MONOTONIC; the others wait in their rings
        for the next call.  The number delivered.  EOPNOTSUPP for a ring in
        overwrite mode; an exception FN raises is raised again (its record
        consumed)."""
        r = _set_consume_ordered(self._handle(), ts_offset, lag_ns, self._wrap(fn), None)
        return self._done(r, "ringbuf_set_consume_ordered")

    def epoll_fd(self):
        """A file descriptor readable when any ring has records
        (ringbuf_set_epoll_fd), owned by the set, for select/selectors: then
        call consume().  EOPNOTSUPP for a producer-only set."""
        return _check(_set_epoll_fd(self._handle()), "ringbuf_set_epoll_fd")

    def refresh(self):
        """For a kernel map set (from_map), reread the outer map now
        (ringbuf_set_refresh): rings added are opened, rings removed
        dropped (a ring() view of a dropped ring raises ValueError).  The
        number of rings; for another set just that."""
        return _check(_set_refresh(self._handle()), "ringbuf_set_refresh")

    # ---- inspection --------------------------------------------------
    @property
    def count(self):
        """The number of rings in the set (ringbuf_set_count)."""
        return _set_count(self._handle())

    def __len__(self):
        return self.count

    def ring(self, i):
        """The I-th ring of the set (ringbuf_set_ring) as a Ring that does
        not own it: for its own stats() and query(), or a producer that
        wants one ring.  It works while the set is open and the ring is
        still its I-th (a kernel map set's refresh may drop it): ValueError
        after.  Closing it frees nothing.  IndexError if I is out of
        range."""
        h = _set_ring(self._handle(), i) if 0 <= i < 1 << 32 else None
        if not h:
            raise IndexError("ring set index %d out of range (%d rings)" % (i, self.count))
        return Ring(h, "%s ring %d" % (self._what, i), owner=self, index=i)

    def stats(self):
        """Every ring's counters summed (ringbuf_set_stats), as a dict of
        Ring.stats()'s keys: counters, ring_size and avail_data are sums,
        consumer_pid and flags are ring 0's, the positions are 0 (read them
        per ring: ring(i).stats())."""
        return self._stats(_set_stats, "ringbuf_set_stats")

    def __repr__(self):
        return "<ringbuf.RingSet %s%s>" % (self._what, "" if self._h else " closed")
