# SPDX-License-Identifier: MIT
"""The Python module (python/ringbuf.py) over the library: run by
tests/t_python with pytest, RINGBUF_LIB pointing at the build."""

import errno
import os
import struct
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
