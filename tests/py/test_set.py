# SPDX-License-Identifier: MIT
"""RingSet (python/ringbuf.py) over the library's ring sets: producers in
threads and forked processes, named sets, summed stats, ordered consume,
errors.  Kernel maps of maps are in test_kmap.py."""

import errno
import os
import select
import struct
import threading
import time

import pytest

import ringbuf


def unique(tag):
    return "t_py_%d_%s" % (os.getpid(), tag)


def _members(name, n):
    return ["/dev/shm/ringbuf.%s.%d" % (name, i) for i in range(n)]


def _drain(s, want, got, fn=None, alive=lambda: False):
    """Poll S until WANT records are in GOT and ALIVE() is false (a wait
    bounded at 60 s, not a timed assertion: the caller checks GOT)."""
    deadline = time.monotonic() + 60
    while (len(got) < want or alive()) and time.monotonic() < deadline:
        s.poll(fn or got.append, 100)


def test_threads_none_lost_per_thread_order():
    threads, per = 4, 3000
    rec = struct.Struct("<IQ")  # thread, sequence

    def produce(t, s):
        for i in range(per):
            while True:
                try:
                    if t % 2:
                        with s.reserve(rec.size) as r:
                            r[:] = rec.pack(t, i)
                    else:
                        s.output(rec.pack(t, i))
                    break
                except BlockingIOError:
                    time.sleep(0.001)  # that ring is full: the consumer drains it

    with ringbuf.RingSet.new(4, 16384) as s:
        assert len(s) == s.count == 4
        ts = [threading.Thread(target=produce, args=(t, s)) for t in range(threads)]
        for t in ts:
            t.start()
        got = []
        _drain(s, threads * per, got, lambda d: got.append(rec.unpack(d)),
               lambda: any(t.is_alive() for t in ts))
        for t in ts:
            t.join()
        assert len(got) == threads * per
        for t in range(threads):
            assert [i for tt, i in got if tt == t] == list(range(per))
        st = s.stats()
        assert st["reserved"] == threads * per
        assert st["avail_data"] == 0
        assert sum(s.ring(i).stats()["reserved"] for i in range(4)) == threads * per


def test_memfd_set_shared_with_forked_child():
    with ringbuf.RingSet.new(2, 65536) as s:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for i in range(1000):
                    s.output(struct.pack("<Q", i))
                code = 0
            finally:
                os._exit(code)
        got = []
        _drain(s, 1000, got, lambda d: got.append(struct.unpack("<Q", d)[0]))
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert got == list(range(1000))  # one producer thread: its order


def test_named_set_forked_producer_second_handle_unlink():
    name = unique("set")
    with pytest.raises(FileNotFoundError):
        ringbuf.RingSet.open(name)
    cons = ringbuf.RingSet.create(name, 3, 8192, role=ringbuf.ROLE_CONSUMER)
    try:
        for p in _members(name, 3):
            assert os.stat(p).st_mode & 0o777 == 0o600
        assert not os.path.exists("/dev/shm/ringbuf.%s.3" % name)
        with pytest.raises(FileExistsError):
            ringbuf.RingSet.create(name, 4, 8192)
        assert not os.path.exists("/dev/shm/ringbuf.%s.3" % name)  # nothing left behind
        with pytest.raises(OSError) as e:
            ringbuf.RingSet.open(name, role=ringbuf.ROLE_CONSUMER)
        assert e.value.errno == errno.EBUSY
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with ringbuf.RingSet.open(name, role=ringbuf.ROLE_PRODUCER) as p:
                    if len(p) == 3:
                        for i in range(500):
                            p.output(struct.pack("<Q", i))
                        code = 0
            finally:
                os._exit(code)
        got = []
        _drain(cons, 500, got, lambda d: got.append(struct.unpack("<Q", d)[0]))
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert got == list(range(500))
        with ringbuf.RingSet.open(name, role=ringbuf.ROLE_OBSERVER) as ob:
            assert len(ob) == 3
            assert ob.stats()["reserved"] == 500
            ids = {ob.ring(i).query(ringbuf.SET_ID) for i in range(3)}
            assert len(ids) == 1 and ids.pop() != 0
            assert [ob.ring(i).query(ringbuf.SET_INDEX) for i in range(3)] == [0, 1, 2]
            assert ob.ring(2).query(ringbuf.SET_COUNT) == 3
            with pytest.raises(OSError) as e:
                ob.output(b"no")
            assert e.value.errno == errno.EOPNOTSUPP
        ringbuf.RingSet.unlink(name)
        assert not any(os.path.exists(p) for p in _members(name, 3))
        assert cons.stats()["reserved"] == 500  # an open handle keeps working
        with pytest.raises(FileNotFoundError):
            ringbuf.RingSet.open(name)
        with pytest.raises(FileNotFoundError):
            ringbuf.RingSet.unlink(name)
    finally:
        cons.close()
        for p in _members(name, 4):
            if os.path.exists(p):
                os.unlink(p)


def test_stats_summed():
    with ringbuf.RingSet.new(3, 4096) as s:
        for i in range(3):
            for _ in range(i + 1):
                s.ring(i).output(b"x" * (i + 1))
        with s.reserve(5) as rec:
            rec[:] = b"hello"
        s.reserve(2).discard()
        with pytest.raises(BlockingIOError):
            while True:
                s.ring(1).output(b"12345678")
        with pytest.raises(OSError) as e:
            s.output(b"x" * 5000)
        assert e.value.errno == errno.E2BIG
        per = [s.ring(i).stats() for i in range(3)]
        st = s.stats()
        assert set(st) == set(per[0])  # the shape of Ring.stats()
        for k in ("reserved", "reserved_bytes", "discarded", "refused_full",
                  "refused_too_big", "ring_size", "avail_data"):
            assert st[k] == sum(p[k] for p in per), k
        assert st["ring_size"] == 3 * 4096
        assert st["discarded"] == 1
        assert st["refused_full"] == 1
        assert st["refused_too_big"] == 1
        assert st["consumer_pos"] == st["producer_pos"] == 0  # per ring only
        assert per[2]["reserved"] >= 3 and per[2]["producer_pos"] > 0


def test_bad_arguments():
    for n, size in ((0, 4096), (1025, 4096), (2, 1000), (2, 0)):
        with pytest.raises(OSError) as e:
            ringbuf.RingSet.new(n, size)
        assert e.value.errno == errno.EINVAL, (n, size)
        assert "ringbuf_set_new" in str(e.value)
    for bad in ("bad/name", "", "x" * 199):  # a member needs room for ".N"
        with pytest.raises(OSError) as e:
            ringbuf.RingSet.create(bad, 2, 4096)
        assert e.value.errno == errno.EINVAL, bad
    plain = unique("plain")
    with ringbuf.Ring.create(plain + ".0", 4096):
        try:
            with pytest.raises(OSError) as e:
                ringbuf.RingSet.open(plain)
            assert e.value.errno == errno.EPROTO
            with pytest.raises(OSError) as e:
                ringbuf.RingSet.unlink(plain)
            assert e.value.errno == errno.EPROTO
            assert os.path.exists("/dev/shm/ringbuf.%s.0" % plain)  # not a set's: kept
        finally:
            ringbuf.unlink(plain + ".0")
    s = ringbuf.RingSet.new(2, 4096)
    with pytest.raises(IndexError):
        s.ring(2)
    with pytest.raises(IndexError):
        s.ring(-1)
    with pytest.raises(OSError) as e:
        s.output(b"x", flags=1 << 40)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        s.reserve(1 << 40)
    assert e.value.errno in (errno.E2BIG, errno.EINVAL)
    s.output(b"a")
    s.output(b"b")

    def reenter(d):
        s.consume(lambda d: None)  # the set's own consume from its callback

    with pytest.raises(OSError) as e:
        s.consume(reenter)
    assert e.value.errno == errno.EBUSY
    view = s.ring(0)
    s.close()
    s.close()
    with pytest.raises(ValueError):
        s.output(b"x")
    with pytest.raises(ValueError):
        view.stats()  # the set freed its rings: the view says so, never a crash
    view.close()  # frees nothing
    with pytest.raises(ValueError):
        ringbuf.RingSet.from_map()
    with pytest.raises(FileNotFoundError):
        ringbuf.RingSet.from_map("/sys/fs/bpf/ringbuf-no-such-map-%d" % os.getpid())


def test_producer_only_set_has_no_consumer_calls():
    name = unique("prod")
    with ringbuf.RingSet.create(name, 2, 4096, mode=0o640):
        try:
            with ringbuf.RingSet.open(name, role=ringbuf.ROLE_PRODUCER) as p:
                p.output(b"x")
                with pytest.raises(OSError) as e:
                    p.epoll_fd()
                assert e.value.errno == errno.EOPNOTSUPP
        finally:
            ringbuf.RingSet.unlink(name)


def test_callback_exception_propagates():
    with ringbuf.RingSet.new(2, 4096) as s:
        for i in range(3):
            s.ring(0).output(bytes([i]))
        seen = []

        def cb(d):
            seen.append(d)
            if d == b"\x01":
                raise KeyError("stop here")

        with pytest.raises(KeyError):
            s.consume(cb)
        assert seen == [b"\x00", b"\x01"]
        rest = []
        assert s.consume(rest.append) == 1
        assert rest == [b"\x02"]


def test_poll_records_epoll_fd():
    with ringbuf.RingSet.new(2, 4096) as s:
        assert s.poll(lambda d: None, 20) == 0
        fd = s.epoll_fd()
        assert s.epoll_fd() == fd
        assert select.select([fd], [], [], 0)[0] == []
        s.ring(1).output(b"wake")
        assert select.select([fd], [], [], 5)[0] == [fd]
        got = []
        assert s.poll(got.append, 0) == 1
        assert got == [b"wake"]
        for i in range(6):
            s.ring(i % 2).output(bytes([i]))
        it = s.records(timeout_ms=0)
        first = [next(it) for _ in range(2)]
        it.close()
        rest = list(s.records(timeout_ms=0))
        assert len(first) == 2 and len(rest) == 4  # leaving early lost nothing
        allr = first + rest
        assert sorted(allr) == [bytes([i]) for i in range(6)]
        for ring in (0, 1):  # per ring, the order written
            mine = [d for d in allr if d[0] % 2 == ring]
            assert mine == sorted(mine)
        assert s.stats()["avail_data"] == 0


TS = struct.Struct("=IIQ")  # tag, pad, timestamp at offset 8


def test_consume_ordered():
    with ringbuf.RingSet.new(3, 4096) as s:
        r0, r1, r2 = (s.ring(i) for i in range(3))
        got = []

        def take(d):
            got.append(TS.unpack(d)[0] if len(d) == TS.size else d)

        # timestamps an hour ahead: never "lag_ns old", so only a record
        # every ring has a successor to is delivered
        base = time.monotonic_ns() + 3600 * 10**9
        for tag in (1, 4, 5):
            r0.output(TS.pack(tag, 0, base + tag))
        for tag in (2, 3, 6):
            r1.output(TS.pack(tag, 0, base + tag))
        assert s.consume_ordered(take, 8, 10**9) == 0  # ring 2 empty: all held
        r2.output(TS.pack(7, 0, base + 7))
        assert s.consume_ordered(take, 8, 10**9) == 5
        assert got == [1, 2, 3, 4, 5]
        r0.output(TS.pack(8, 0, base + 8))
        r1.output(TS.pack(10, 0, base + 10))
        assert s.consume_ordered(take, 8, 10**9) == 2  # 6, 7; then ring 2 is empty
        assert got[5:] == [6, 7]
        # what is held goes to a plain consume
        assert s.consume(take) == 2
        assert sorted(got[7:]) == [8, 10]
        # timestamps long past: "lag_ns old", delivered with rings empty;
        # a record too short for one counts as the oldest
        got.clear()
        r0.output(TS.pack(10, 0, 1000))
        r0.output(TS.pack(30, 0, 3000))
        r1.output(b"short")
        r1.output(TS.pack(20, 0, 2000))
        assert s.consume_ordered(take, 8, 10**9) == 4
        assert got == [b"short", 10, 20, 30]
        # the offset is obeyed: read at 0, the tags order them
        got.clear()
        r0.output(TS.pack(2, 0, 1))
        r1.output(TS.pack(1, 0, 2))
        assert s.consume_ordered(take, 0, 10**9) == 2
        assert got == [1, 2]
        # an exception from the callback: its record consumed, the rest kept
        got.clear()
        for tag in (1, 2, 3):
            r0.output(TS.pack(tag, 0, tag))

        def boom(d):
            take(d)
            if got[-1] == 2:
                raise KeyError("stop")

        with pytest.raises(KeyError):
            s.consume_ordered(boom, 8, 10**9)
        assert s.consume_ordered(take, 8, 10**9) == 1
        assert got == [1, 2, 3]


def test_records_waits_for_ever_in_a_thread():
    with ringbuf.RingSet.new(2, 4096) as s:
        got = []

        def consume():
            for d in s.records():  # -1: ends only by this break
                got.append(d)
                if len(got) == 20:
                    break

        t = threading.Thread(target=consume)
        t.start()
        for i in range(20):
            s.ring(i % 2).output(bytes([i]))
            if i % 5 == 4:
                time.sleep(0.01)  # let it wait again (no timed assertion)
        t.join(60)
        assert not t.is_alive()
        assert sorted(got) == [bytes([i]) for i in range(20)]
