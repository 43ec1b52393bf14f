"""Property tests of the signing endpoint's parser: whatever JSON the browser sends, a request is refused with a
SignError or signed; a signed URL is a path on this daemon that a browser sends as it was signed."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from s3d.console import presign

HOST = "127.0.0.1:9000"
ACCESS_KEY, SECRET_KEY, REGION = "AKPRESIGN", "presign-secret", "us-east-1"
# what a browser's URL parser treats as "." or ".." (WHATWG URL: %2e is a dot there too)
DOT_SEGMENT = re.compile(r"(\.|%2e){1,2}", re.IGNORECASE)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
tables = st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=3) | json_values
requests = st.fixed_dictionaries(
    {},
    optional={
        "method": st.sampled_from(sorted(presign.METHODS)) | json_values,
        "bucket": st.text(max_size=20) | json_values,
        "key": st.text(max_size=40) | json_values,
        "admin": st.just("/_s3d/status") | st.text(max_size=20).map(lambda t: "/_s3d/" + t) | json_values,
        "query": tables,
        "headers": tables,
        "expires": st.integers(-10, presign.MAX_SECONDS + 10) | json_values,
    },
)


def signed_or_refused(raw: Any, host: str = HOST) -> str | None:
    try:
        wanted = presign.parse(raw)
        presign.check_host(host)
    except presign.SignError:
        return None
    url = presign.presign(wanted, host, ACCESS_KEY, SECRET_KEY, REGION)
    assert url.startswith(wanted.path + "?"), url
    assert url.startswith("/") and not url.startswith("//"), url  # a path on this daemon, never another host
    return url


@given(requests | json_values)
def test_any_request_is_signed_or_refused(raw: Any) -> None:
    signed_or_refused(raw)


@given(st.text(max_size=40))
def test_any_host_header_is_signed_for_or_refused(host: str) -> None:
    signed_or_refused({"method": "GET", "bucket": "b", "key": "k"}, host)


@given(st.text(min_size=1, max_size=60, alphabet=st.sampled_from("ab./%é~ +?#")) | st.text(min_size=1, max_size=30))
def test_a_signed_key_path_is_what_a_browser_sends(key: str) -> None:
    url = signed_or_refused({"method": "GET", "bucket": "bucket", "key": key})
    if url is None:
        assert key in presign.DOT_SEGMENTS  # a browser drops "." and ".." from any URL: refused with a reason
        return
    path = urlsplit(url).path
    assert not any(DOT_SEGMENT.fullmatch(segment) for segment in path.split("/"))
    assert unquote(path) == f"/bucket/{key}"
