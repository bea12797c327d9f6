"""The serde -> named tuple bridge (src/topy.rs): fields are filled by name in the tuple's own
order, a field the record lacks is None, fields the tuple lacks are dropped, and of several
tuples registered for one Rust struct the one with the most fields the record all has wins."""

from collections import namedtuple

import pytest

import memsight
from memsight import _native


@pytest.fixture
def restore_memory_info():
    yield
    # Registering the same (name, fields) again replaces the entry: put psutil's pmem back on top.
    _native.register_type("MemoryInfo", memsight.pmem)


def test_fields_are_filled_by_name_in_the_tuples_order(restore_memory_info):
    pid = memsight.Process().pid
    # A tuple with a field the record lacks is never chosen while one without exists.
    _native.register_type("MemoryInfo", namedtuple("extra", list(memsight.pmem._fields) + ["x"]))
    assert type(memsight.Process(pid).memory_info()) is memsight.pmem
    # A subset of the fields loses to pmem, which has more of them.
    _native.register_type("MemoryInfo", namedtuple("subset", "dirty rss"))
    assert type(memsight.Process(pid).memory_info()) is memsight.pmem
    # Of equally long ones the latest registered wins, filled by name in its own order.
    reordered = namedtuple("reordered", "dirty data lib text shared vms rss")
    _native.register_type("MemoryInfo", reordered)
    got = memsight.Process(pid).memory_info()
    assert type(got) is reordered
    want = memsight.pmem(*reversed(tuple(got)))
    assert tuple(want) == (got.rss, got.vms, got.shared, got.text, got.lib, got.data, got.dirty)
    assert got.vms >= got.rss > 0 and got.text > 0


def test_the_restored_tuple_is_psutils_again():
    assert type(memsight.Process().memory_info()) is memsight.pmem


def test_grouped_and_ungrouped_maps_get_their_own_tuples():
    p = memsight.Process()
    assert type(p.memory_maps()[0]) is memsight.pmmap_grouped
    assert type(p.memory_maps(grouped=False)[0]) is memsight.pmmap_ext


def test_extra_rust_fields_are_dropped_and_nested_records_converted():
    # HeapInfo has allocator and legacy_mallinfo besides psutil's two fields.
    assert memsight.heap_info()._fields == ("heap_used", "mmap_used")
    cg = memsight.cgroup_memory()
    if cg is not None and cg.pressure is not None:
        assert type(cg.pressure) is memsight.smempressure
        assert type(cg.pressure.some) is memsight.spressure


def test_maps_lists_and_options_map_to_dict_list_none():
    env = memsight.Process().environ()
    assert type(env) is dict and all(type(k) is str and type(v) is str for k, v in env.items())
    assert type(memsight.Process().cmdline()) is list
    assert memsight.Process().terminal() is None or type(memsight.Process().terminal()) is str
