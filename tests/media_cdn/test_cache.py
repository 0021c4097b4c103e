"""The byte-bounded LRU never holds more bytes than its bound."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media_cdn.cache import ByteLRU


def test_it_evicts_the_least_recently_used_first() -> None:
    lru: ByteLRU[str] = ByteLRU(100)
    lru.put("a", "A", 40)
    lru.put("b", "B", 40)
    assert lru.get("a") == "A"  # a is now the most recent
    lru.put("c", "C", 40)
    assert "b" not in lru and lru.get("a") == "A" and lru.get("c") == "C"
    assert lru.total_bytes == 80


def test_an_item_larger_than_the_bound_is_never_stored_and_evicts_nothing() -> None:
    lru: ByteLRU[str] = ByteLRU(100)
    lru.put("a", "A", 60)
    assert lru.put("huge", "H", 101) is False
    assert "huge" not in lru and lru.get("a") == "A"


def test_replacing_a_key_counts_its_new_size_only() -> None:
    lru: ByteLRU[str] = ByteLRU(100)
    lru.put("a", "A", 70)
    lru.put("a", "A2", 30)
    assert lru.total_bytes == 30 and lru.get("a") == "A2"
    assert lru.pop("a") == "A2" and lru.total_bytes == 0


def test_it_counts_hits_and_misses() -> None:
    lru: ByteLRU[int] = ByteLRU(10)
    lru.put("x", 1, 1)
    lru.get("x")
    lru.get("y")
    assert (lru.hits, lru.misses) == (1, 1)


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        ByteLRU(-1)
    with pytest.raises(ValueError):
        ByteLRU(10).put("a", 1, -5)


@given(
    bound=st.integers(min_value=0, max_value=500),
    operations=st.lists(
        st.tuples(st.sampled_from(["put", "get", "pop"]), st.integers(0, 20), st.integers(0, 300)), max_size=200
    ),
)
def test_the_total_never_exceeds_the_bound_and_matches_the_items(bound: int, operations: list) -> None:
    lru: ByteLRU[int] = ByteLRU(bound)
    sizes: dict[int, int] = {}
    for op, key, size in operations:
        if op == "put":
            stored = lru.put(key, key, size)
            sizes.pop(key, None)
            if stored:
                sizes[key] = size
                assert lru.get(key) == key  # the newest item is always kept
        elif op == "get":
            lru.get(key)
        else:
            lru.pop(key)
            sizes.pop(key, None)
        assert lru.total_bytes <= bound
        sizes = {k: v for k, v in sizes.items() if k in lru}
        assert lru.total_bytes == sum(sizes.values())
