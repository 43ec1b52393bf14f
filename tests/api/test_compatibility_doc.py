"""docs/compatibility.md is generated from the route table and must match it."""

from __future__ import annotations

from pathlib import Path

from s3d.s3.handlers import HANDLERS
from s3d.s3.routes import ROUTES, compatibility_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "compatibility.md"


def test_doc_is_generated_from_routes() -> None:
    assert DOC.read_text() == compatibility_markdown(), "run: python -m s3d.s3.routes > docs/compatibility.md"


def test_every_handler_has_a_route() -> None:
    assert set(HANDLERS) <= {r.operation for r in ROUTES}


def test_unimplemented_operation_answers_501(s3, bucket) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        s3.get_bucket_website(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
