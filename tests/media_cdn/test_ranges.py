"""The Range parser and /gifs/ under hostile input: every header gets 200, 206 or 416, never a 5xx.

Property tests (hypothesis) over arbitrary text, well-formed ranges with absurd numbers (thousands of
digits, past Python's int-string limit), and URL names; plus the cases that once answered 500.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media_cdn.models import GifRendition
from media_cdn.ranges import UNSATISFIABLE, Span, range_parse

OUTCOMES: Counter[str] = Counter()  # what the client-level properties saw, for the record

digits = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),  # past int()'s 4,300-digit limit
    st.just(""),
)
well_formed = st.builds(lambda a, b, sp: f"bytes{sp}={sp}{a}{sp}-{sp}{b}", digits, digits, st.sampled_from(["", " "]))
hostile = st.one_of(
    well_formed,
    st.text(max_size=300),
    st.text(alphabet="bytes=-0123456789,٠١٢ \t", max_size=80),  # near misses, Arabic-Indic digits
    st.lists(well_formed, min_size=2, max_size=5).map(lambda r: ",".join(r)),
)


@given(header=hostile, size=st.integers(min_value=0, max_value=2**40))
@settings(max_examples=600, deadline=None)
def test_the_parser_never_raises_and_a_span_is_inside_the_file(header: str, size: int) -> None:
    span = range_parse(header, size)
    assert span is None or span == UNSATISFIABLE or isinstance(span, Span)
    if isinstance(span, Span):
        assert 0 <= span.start <= span.end <= size - 1


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=" + "1" * 5000 + "-", 100, None),  # once ValueError (int's digit limit): a 500; now ignored
        ("bytes=" + "1" * 100 + "-", 100, UNSATISFIABLE),  # past any file, never converted
        ("bytes=0-" + "9" * 150, 100, Span(0, 99)),
        ("bytes=-" + "9" * 150, 100, Span(0, 99)),
        ("bytes=" + "0" * 150 + "7-8", 100, Span(7, 8)),
        ("bytes=0-0", 0, UNSATISFIABLE),  # nothing of an empty file can be served
        ("bytes=-5", 0, UNSATISFIABLE),
        ("bytes=٠-٩", 100, None),  # non-ASCII digits are not digits here
        ("bytes=5-2", 100, None),
        ("bytes=0-1,5-6", 100, None),
        ("items=0-5", 100, None),
        ("BYTES = 10 - 19", 100, Span(10, 19)),
        ("bytes=" + "0" * 300 + "1-", 100, None),  # over the header limit: ignored
    ],
)
def test_cases_that_once_broke_or_are_easy_to_get_wrong(header: str, size: int, expected) -> None:
    assert range_parse(header, size) == expected


@pytest.fixture
def hug(starter) -> GifRendition:
    return GifRendition.objects.get(asset__name="hug", kind="mp4")


@pytest.mark.django_db
@given(header=hostile, method=st.sampled_from(["get", "head"]))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_range_header_gets_200_206_or_416_on_get_and_head(client, hug, header: str, method: str) -> None:
    response = getattr(client, method)("/gifs/hug.mp4", HTTP_RANGE=header)
    OUTCOMES[f"range_{response.status_code}"] += 1
    assert response.status_code in {200, 206, 416}
    if response.status_code == 416:
        assert response["Content-Range"] == f"bytes */{hug.bytes}"
    if response.status_code == 206:
        first, last = response["Content-Range"].removeprefix("bytes ").split("/")[0].split("-")
        assert int(response["Content-Length"]) == int(last) - int(first) + 1


@pytest.mark.django_db
@given(name=st.text(max_size=120), ext=st.text(max_size=8))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_url_name_gets_an_answer_never_a_5xx(client, hug, name: str, ext: str) -> None:
    from urllib.parse import quote

    response = client.get(f"/gifs/{quote(name, safe='')}.{quote(ext, safe='')}")
    OUTCOMES[f"name_{response.status_code}"] += 1
    assert response.status_code < 500


def teardown_module() -> None:  # the figures quoted in notes: cases per outcome in this run
    print(f"\nFIGURE gifs_hostile_requests {' '.join(f'{k}={v}' for k, v in sorted(OUTCOMES.items()))}")


@pytest.mark.django_db
@given(header=hostile)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_get_and_head_answer_a_range_alike(client, hug, header: str) -> None:
    got, head = client.get("/gifs/hug.mp4", HTTP_RANGE=header), client.head("/gifs/hug.mp4", HTTP_RANGE=header)
    OUTCOMES[f"same_{got.status_code}"] += 1
    assert head.status_code == got.status_code
    for name in ("Content-Range", "Content-Length", "Content-Type", "ETag"):
        assert head.get(name) == got.get(name), name
