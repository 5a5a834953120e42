# SPDX-License-Identifier: MIT
"""Ring.from_map on real kernel maps (BPF_MAP_TYPE_RINGBUF, USER_RINGBUF),
made with bpf(2) through ctypes: by id, and by a path pinned in a bpffs
mounted in a mount namespace of a child's own; RingSet.from_map on an
ARRAY_OF_MAPS of ring buffers.  Skipped where bpf(2) is not
permitted."""

import ctypes
import errno
import os
import platform
import tempfile

import pytest

import ringbuf

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "i686": 357, "i386": 357}.get(platform.machine())
BPF_MAP_CREATE, BPF_OBJ_PIN, BPF_OBJ_GET_INFO_BY_FD = 0, 6, 15
BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM = 2, 3
MAP_RINGBUF, MAP_USER_RINGBUF = 27, 31
MAP_ARRAY_OF_MAPS = 12
CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x20000, 0x4000, 1 << 18
SIZE = 16384

_libc = ctypes.CDLL(None, use_errno=True)


def _bpf(cmd, attr):
    buf = ctypes.create_string_buffer(bytes(attr), 128)
    r = _libc.syscall(ctypes.c_long(_SYS_BPF), ctypes.c_int(cmd), buf, ctypes.c_uint(128))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r, buf


def _map_create(map_type, key=0, value=0, entries=SIZE, inner_fd=0):
    if _SYS_BPF is None:
        pytest.skip("bpf(2) number unknown for %s" % platform.machine())
    attr = (ctypes.c_uint32 * 6)(map_type, key, value, entries, 0, inner_fd)
    try:
        fd, _ = _bpf(BPF_MAP_CREATE, attr)
    except OSError as e:
        if e.errno in (errno.EPERM, errno.EACCES, errno.ENOSYS, errno.EINVAL):
            pytest.skip("cannot create a BPF ring buffer map here: %s" % e)
        raise
    return fd


def _map_id(fd):
    info = (ctypes.c_uint32 * 32)()
    attr = (ctypes.c_uint64 * 2)(fd | (ctypes.sizeof(info) << 32), ctypes.addressof(info))
    _bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    return info[1]  # struct bpf_map_info: type, id, ...


def test_ringbuf_map_by_id():
    fd = _map_create(MAP_RINGBUF)
    try:
        with ringbuf.Ring.from_map(_map_id(fd)) as r:
            assert r.query(ringbuf.RING_SIZE) == SIZE
            assert r.poll(lambda d: None, 10) == 0  # nothing produced: a timeout
            with pytest.raises(OSError) as e:
                r.output(b"the kernel produces here")
            assert e.value.errno == errno.EOPNOTSUPP
            assert r.query(ringbuf.PROD_POS) == 0
    finally:
        os.close(fd)


def test_user_ringbuf_map_by_id():
    fd = _map_create(MAP_USER_RINGBUF)
    try:
        with ringbuf.Ring.from_map(map_id=_map_id(fd)) as r:
            r.output(b"abc")
            with r.reserve(5) as rec:
                rec[:] = b"hello"
            assert r.query(ringbuf.PROD_POS) == 32  # two records of 8 + 8 bytes
            assert r.query(ringbuf.AVAIL_DATA) == 32  # no BPF program drains it
            with pytest.raises(OSError) as e:
                r.consume(lambda d: None)
            assert e.value.errno == errno.EOPNOTSUPP
    finally:
        os.close(fd)


def test_pinned_map():
    fd = _map_create(MAP_RINGBUF)
    pid = os.fork()
    if pid == 0:  # the child mounts a bpffs of its own, pins and opens
        code = 3
        try:
            if _libc.unshare(CLONE_NEWNS) != 0:
                os._exit(4)
            _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
            d = tempfile.mkdtemp(prefix="t_py_bpffs.")
            if _libc.mount(b"bpf", d.encode(), b"bpf", 0, None) != 0:
                os._exit(4)
            path = os.path.join(d, "events")
            name = ctypes.create_string_buffer(path.encode())
            attr = (ctypes.c_uint64 * 2)(ctypes.addressof(name), fd)
            _bpf(BPF_OBJ_PIN, attr)
            with ringbuf.Ring.from_map(path) as r:
                code = 0 if r.query(ringbuf.RING_SIZE) == SIZE else 1
            try:
                ringbuf.Ring.from_map(os.path.join(d, "none"))
                code = 2
            except FileNotFoundError:
                pass
            _libc.umount2(d.encode(), 0)
            os.rmdir(d)
        finally:
            os._exit(code)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status)
    if os.WEXITSTATUS(status) == 4:
        pytest.skip("cannot mount a bpffs in a mount namespace of our own")
    assert os.WEXITSTATUS(status) == 0


def _slot(outer, key, inner=None):
    """Put the map INNER in slot KEY of OUTER, or empty the slot (None)."""
    k, v = ctypes.c_uint32(key), ctypes.c_uint32(inner or 0)
    if inner is None:  # delete: nothing after the key may be set
        _bpf(BPF_MAP_DELETE_ELEM, (ctypes.c_uint64 * 2)(outer, ctypes.addressof(k)))
    else:
        _bpf(BPF_MAP_UPDATE_ELEM,
             (ctypes.c_uint64 * 4)(outer, ctypes.addressof(k), ctypes.addressof(v), 0))


def test_set_over_array_of_maps():
    inner = [_map_create(MAP_RINGBUF) for _ in range(4)]
    outer = _map_create(MAP_ARRAY_OF_MAPS, 4, 4, 4, inner[0])
    try:
        for k in range(3):  # slot 3 stays empty: skipped
            _slot(outer, k, inner[k])
        with ringbuf.RingSet.from_map(fd=outer) as s:
            assert len(s) == 3
            assert [s.ring(i).query(ringbuf.RING_SIZE) for i in range(3)] == [SIZE] * 3
            assert s.stats()["ring_size"] == 3 * SIZE
            assert s.poll(lambda d: None, 10) == 0  # no BPF program produces
            for produce in (lambda: s.output(b"x"), lambda: s.reserve(8)):
                with pytest.raises(OSError) as e:
                    produce()
                assert e.value.errno == errno.EOPNOTSUPP
            r2 = s.ring(2)
            _slot(outer, 1)  # removed: dropped
            assert s.refresh() == 2
            with pytest.raises(ValueError):
                r2.stats()  # it moved to index 1: the old view refuses, never dangles
            assert s.ring(1).query(ringbuf.RING_SIZE) == SIZE
            _slot(outer, 3, inner[3])  # added: opened
            assert s.refresh() == 3 == len(s)
        with ringbuf.RingSet.from_map(_map_id(outer)) as s:
            assert len(s) == 3
        with pytest.raises(OSError) as e:
            ringbuf.RingSet.from_map(fd=inner[0])  # a ring, not a map of them
        assert e.value.errno == errno.EMEDIUMTYPE
    finally:
        for fd in inner + [outer]:
            os.close(fd)
