# SPDX-License-Identifier: MIT
"""The Python module (python/ringbuf.py) over the library: run by
tests/t_python with pytest, RINGBUF_LIB pointing at the build."""

import ctypes
import errno
import os
import re
import select
import struct
import subprocess
import sys
import threading
import time

import pytest

import ringbuf


def unique(tag):
    return "t_py_%d_%s" % (os.getpid(), tag)


def test_version():
    assert ringbuf.library_version().count(".") == 2


def test_round_trip_sizes():
    with ringbuf.Ring.new(64 * 1024) as r:
        sent = [b"", b"x", b"hello", bytes(range(256)) * 40]
        for s in sent:
            r.output(s)
        got = []
        assert r.consume(got.append) == len(sent)
        assert got == sent
        assert r.consume(got.append) == 0


def test_reserve_submit_discard():
    with ringbuf.Ring.new(4096) as r:
        with r.reserve(8) as rec:
            rec[:] = b"12345678"
        rec = r.reserve(4)
        rec[:] = b"gone"
        rec.discard()
        with pytest.raises(ValueError):
            rec.submit()
        with pytest.raises(RuntimeError):
            with r.reserve(4) as bad:
                bad[:] = b"oops"
                raise RuntimeError("the block failed: discarded")
        got = []
        assert r.consume(got.append) == 1
        assert got == [b"12345678"]
        st = r.stats()
        assert st["reserved"] == 3
        assert st["discarded"] == 2
        assert st["avail_data"] == 0


def test_full_ring_and_too_big():
    with ringbuf.Ring.new(4096) as r:
        with pytest.raises(OSError) as e:
            r.output(b"x" * 5000)
        assert e.value.errno == errno.E2BIG
        n = 0
        with pytest.raises(BlockingIOError):
            while True:
                r.output(b"12345678")
                n += 1
        assert n > 100
        assert r.stats()["refused_full"] == 1


def test_poll_timeout_and_records():
    with ringbuf.Ring.new(4096) as r:
        t0 = time.monotonic()
        assert r.poll(lambda d: None, 50) == 0
        assert time.monotonic() - t0 >= 0.04
        for i in range(5):
            r.output(struct.pack("<I", i))
        assert [struct.unpack("<I", d)[0] for d in r.records(timeout_ms=0)] == list(range(5))


def test_callback_exception_propagates():
    with ringbuf.Ring.new(4096) as r:
        for i in range(3):
            r.output(bytes([i]))

        seen = []

        def cb(d):
            seen.append(d)
            if d == b"\x01":
                raise KeyError("stop here")

        with pytest.raises(KeyError):
            r.consume(cb)
        assert seen == [b"\x00", b"\x01"]
        rest = []
        assert r.consume(rest.append) == 1  # the one after it stays
        assert rest == [b"\x02"]


def test_named_errors_and_forked_producer():
    name = unique("named")
    try:
        ringbuf.unlink(name)
    except FileNotFoundError:
        pass
    with pytest.raises(FileNotFoundError):
        ringbuf.Ring.open(name)
    with pytest.raises(OSError) as e:
        ringbuf.Ring.create("bad/name", 4096)
    assert e.value.errno == errno.EINVAL
    cons = ringbuf.Ring.create(name, 64 * 1024, role=ringbuf.ROLE_CONSUMER)
    try:
        with pytest.raises(FileExistsError):
            ringbuf.Ring.create(name, 4096)
        with pytest.raises(OSError) as e:
            ringbuf.Ring.open(name, role=ringbuf.ROLE_CONSUMER)
        assert e.value.errno == errno.EBUSY
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with ringbuf.Ring.open(name, role=ringbuf.ROLE_PRODUCER) as p:
                    for i in range(1000):
                        p.output(struct.pack("<Q", i))
                code = 0
            finally:
                os._exit(code)
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 1000 and time.monotonic() < deadline:
            cons.poll(lambda d: got.append(struct.unpack("<Q", d)[0]), 100)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert got == list(range(1000))
        with ringbuf.Ring.open(name, role=ringbuf.ROLE_OBSERVER) as ob:
            assert ob.stats()["reserved"] == 1000
            assert ob.query(ringbuf.CONS_POS) == ob.query(ringbuf.PROD_POS)
            with pytest.raises(OSError) as e:
                ob.output(b"no")
            assert e.value.errno == errno.EOPNOTSUPP
    finally:
        cons.close()
        ringbuf.unlink(name)
    with pytest.raises(FileNotFoundError):
        ringbuf.unlink(name)


def test_closed_ring():
    r = ringbuf.Ring.new(4096)
    r.close()
    r.close()
    with pytest.raises(ValueError):
        r.output(b"x")


def test_large_and_empty_records():
    with ringbuf.Ring.new(4 << 20) as r:
        big = os.urandom(1 << 20)
        r.output(big)
        with r.reserve(0) as rec:
            assert len(rec) == 0
            assert len(rec.view) == 0
        with r.reserve(3 << 19) as rec:
            rec.view[:] = b"\xab" * (3 << 19)
            rec.view[0] = 1
        got = []
        assert r.consume(got.append) == 3
        assert got[0] == big
        assert got[1] == b""
        assert len(got[2]) == 3 << 19 and got[2][0] == 1 and got[2][1:] == b"\xab" * ((3 << 19) - 1)
        st = r.stats()
        assert st["reserved"] == 3
        assert st["reserved_bytes"] == (1 << 20) + (3 << 19)


def test_records_break_loses_nothing():
    with ringbuf.Ring.new(4096) as r:
        for i in range(10):
            r.output(bytes([i]))
        it = r.records(timeout_ms=0)
        first = [next(it) for _ in range(3)]
        it.close()
        assert first == [b"\x00", b"\x01", b"\x02"]
        assert r.query(ringbuf.AVAIL_DATA) > 0
        assert list(r.records(timeout_ms=0)) == [bytes([i]) for i in range(3, 10)]
        assert r.query(ringbuf.AVAIL_DATA) == 0


def test_bad_flags_and_sizes_einval():
    with ringbuf.Ring.new(4096) as r:
        with pytest.raises(OSError) as e:
            r.output(b"x", flags=1 << 40)
        assert e.value.errno == errno.EINVAL
        assert "ringbuf_output" in str(e.value)
        assert r.stats()["refused_flags"] == 1
        with pytest.raises(OSError) as e:
            r.reserve(1 << 40)
        assert e.value.errno in (errno.E2BIG, errno.EINVAL)
    with pytest.raises(OSError) as e:
        ringbuf.Ring.new(1000)
    assert e.value.errno == errno.EINVAL
    assert "ringbuf_new" in str(e.value)


def test_create_mode_and_query():
    name = unique("mode")
    old = os.umask(0o022)
    try:
        with ringbuf.Ring.create(name, 8192, mode=0o640) as r:
            assert os.stat("/dev/shm/ringbuf." + name).st_mode & 0o777 == 0o640
            assert r.query(ringbuf.RING_SIZE) == 8192
            assert r.query(ringbuf.PROD_POS) == 0
            r.output(b"abc")
            assert r.query(ringbuf.PROD_POS) == 16  # 8-byte header, padded to 8
            assert r.query(ringbuf.AVAIL_DATA) == 16
    finally:
        os.umask(old)
        ringbuf.unlink(name)


def test_from_map_errors():
    with pytest.raises(FileNotFoundError) as e:
        ringbuf.Ring.from_map("/sys/fs/bpf/ringbuf-no-such-map-%d" % os.getpid())
    assert "ringbuf_map_open_pinned" in str(e.value)
    with pytest.raises(ValueError):
        ringbuf.Ring.from_map()
    with pytest.raises(OSError) as e:
        ringbuf.Ring.from_map(0xFFFFFFF0)  # no such map id (or not permitted)
    assert e.value.errno in (errno.ENOENT, errno.EPERM)
    assert "ringbuf_map_open_id" in str(e.value)


def test_epoll_fd_readable_with_records():
    with ringbuf.Ring.new(4096) as r:
        fd = r.epoll_fd()
        assert select.select([fd], [], [], 0)[0] == []
        r.output(b"wake")
        assert select.select([fd], [], [], 5)[0] == [fd]
        got = []
        assert r.poll(got.append, 0) == 1
        assert got == [b"wake"]
        assert select.select([fd], [], [], 0)[0] == []  # re-armed, nothing waiting


def test_ringbuf_lib_is_obeyed():
    # RINGBUF_LIB names a missing file: importing fails, never another library
    env = dict(os.environ, RINGBUF_LIB="/nonexistent/libringbuf.so.0")
    p = subprocess.run([sys.executable, "-c", "import ringbuf"], env=env,
                       capture_output=True, text=True)
    assert p.returncode != 0
    assert "/nonexistent/libringbuf.so.0" in p.stderr


def _c_fields(struct_name):
    """(type, name) of each member of struct STRUCT_NAME in include/ringbuf.h."""
    hdr = os.path.join(os.path.dirname(__file__), "..", "..", "include", "ringbuf.h")
    if not os.path.exists(hdr):
        pytest.skip("no include/ringbuf.h next to the tests")
    text = open(hdr).read()
    body = re.search(r"^struct %s \{\n(.*?)^\};" % struct_name, text, re.S | re.M).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    return re.findall(r"^\s*(\w+)\s+(\w+);", body, re.M)


_CTYPES = {"size_t": ctypes.c_size_t, "uint64_t": ctypes.c_uint64, "uint32_t": ctypes.c_uint32}


@pytest.mark.parametrize("cname,pyname", [("ringbuf_opts", "_Opts"), ("ringbuf_stats", "_Stats")])
def test_struct_layouts_match_header(cname, pyname):
    fields = _c_fields(cname)
    assert len(fields) > 4
    py = getattr(ringbuf, pyname)._fields_
    assert [n for _, n in fields] == [n for n, _ in py]
    assert [_CTYPES[t] for t, _ in fields] == [t for _, t in py]
    with ringbuf.Ring.new(4096) as r:
        st = r.stats()
    assert "truncated" in st and "sz" not in st


def test_loader_finds_the_checkout_build():
    # without RINGBUF_LIB, a source checkout's build/ comes before the system's
    want = os.path.join(os.path.dirname(os.path.abspath(ringbuf.__file__)), "..", "build",
                        "libringbuf.so.0")
    if not os.path.exists(want):
        pytest.skip("no build/ next to the module (an installed module or another build dir)")
    env = {k: v for k, v in os.environ.items() if k != "RINGBUF_LIB"}
    p = subprocess.run([sys.executable, "-c", "import ringbuf; print(ringbuf._lib._name)"],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert os.path.realpath(p.stdout.strip()) == os.path.realpath(want)


def test_interrupt_ends_a_blocked_records_loop():
    with ringbuf.Ring.new(4096) as r:
        got = []
        t = threading.Thread(target=lambda: got.extend(r.records(timeout_ms=-1)))
        t.start()
        for i in range(3):
            r.output(bytes([i]))
        deadline = time.monotonic() + 10  # a wait, not a timed assertion
        while r.query(ringbuf.AVAIL_DATA) and time.monotonic() < deadline:
            time.sleep(0.01)
        r.interrupt()
        t.join(10)
        assert not t.is_alive()
        assert got == [b"\x00", b"\x01", b"\x02"]
        r.interrupt()  # none blocked: the next poll is interrupted, consuming nothing
        r.output(b"kept")
        with pytest.raises(OSError) as e:
            r.poll(got.append, -1)
        assert e.value.errno == errno.ECANCELED
        assert r.poll(got.append, 0) == 1
        assert got[-1] == b"kept"
