"""What S3 Select refuses, with AWS's error codes: HTTP errors before the stream, error events within it."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from tests.select.conftest import select
from tests.support.rawhttp import call

USE = {"CSV": {"FileHeaderInfo": "USE"}}


def error_of(s3: Any, bucket: str, expression: str, inp: dict[str, Any] | None = None, **extra: Any) -> tuple[int, str]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        select(s3, bucket, "p.csv", expression, inp or USE, **extra)
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"], e.value.response["Error"]["Code"]


@pytest.fixture
def csv_bucket(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=b"a,b\n1,x\n2,y\n")
    return bucket


@pytest.mark.parametrize(
    ("expression", "code"),
    [
        ("SELECT FROM S3Object", "ParseUnexpectedToken"),
        ("SELECT a FROM S3Object WHERE", "ParseUnexpectedToken"),
        ("SELECT a FROM S3Object WHERE a = $1", "LexerInvalidChar"),
        ("SELECT a FROM elsewhere", "ParseUnexpectedToken"),
        ("SELECT SHA256(a) FROM S3Object", "UnsupportedFunction"),
        ("SELECT _0 FROM S3Object", "InvalidColumnIndex"),
        ("SELECT a, COUNT(*) FROM S3Object", "UnsupportedSyntax"),
        ("SELECT a FROM S3Object WHERE COUNT(*) > 1", "UnsupportedSyntax"),
        ("SELECT CAST(a AS BLOB) FROM S3Object", "ParseInvalidTypeParam"),
        ("SELECT LOWER(a, b) FROM S3Object", "EvaluatorInvalidArguments"),
        ("SELECT a FROM S3Object[*].x", "UnsupportedSyntax"),
        ("SELECT CAST(b AS INT) FROM S3Object", "CastFailed"),
        ("SELECT a FROM S3Object WHERE " + "(" * 200 + "1=1" + ")" * 200, "ParseExpressionTooComplex"),
        ("SELECT a FROM S3Object LIMIT " + "9" * 5000, "IntegerOverflow"),  # past int()'s digit limit
    ],
)
def test_query_errors(s3: Any, csv_bucket: str, expression: str, code: str) -> None:
    assert error_of(s3, csv_bucket, expression) == (400, code)


@pytest.mark.parametrize(
    ("inp", "code"),
    [
        ({"CSV": {"FileHeaderInfo": "SOMETIMES"}}, "InvalidFileHeaderInfo"),
        ({"JSON": {"Type": "TABLE"}}, "InvalidJsonType"),
        ({"CSV": {}, "JSON": {"Type": "LINES"}}, "ObjectSerializationConflict"),
        ({"CSV": {}, "CompressionType": "ZSTD"}, "InvalidCompressionFormat"),
        ({"Parquet": {}, "CompressionType": "GZIP"}, "InvalidCompressionFormat"),
        ({"CSV": {"FieldDelimiter": ";;"}}, "InvalidRequestParameter"),
    ],
)
def test_input_serialization_errors(s3: Any, csv_bucket: str, inp: dict[str, Any], code: str) -> None:
    assert error_of(s3, csv_bucket, "SELECT * FROM S3Object", inp) == (400, code)


def test_unsupported_record_delimiter_is_501(s3: Any, csv_bucket: str) -> None:
    assert error_of(s3, csv_bucket, "SELECT * FROM S3Object", {"CSV": {"RecordDelimiter": ";"}}) == (
        501,
        "NotImplemented",
    )


def test_scan_range_on_compressed_input_is_refused(s3: Any, csv_bucket: str) -> None:
    inp = {"CSV": {}, "CompressionType": "GZIP"}
    got = error_of(s3, csv_bucket, "SELECT * FROM S3Object", inp, ScanRange={"Start": 0, "End": 10})
    assert got == (400, "UnsupportedScanRangeInput")


def test_bad_quote_fields(s3: Any, csv_bucket: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        select(s3, csv_bucket, "p.csv", "SELECT * FROM S3Object", USE, {"CSV": {"QuoteFields": "NEVER"}})
    assert e.value.response["Error"]["Code"] == "InvalidQuoteFields"


def test_missing_key(s3: Any, bucket: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        select(s3, bucket, "nothing.csv", "SELECT * FROM S3Object", USE)
    assert e.value.response["Error"]["Code"] == "NoSuchKey"


def test_a_failure_after_the_first_records_is_an_error_event(s3: Any, bucket: str) -> None:
    body = b"n\n" + b"".join(b"%d\n" % i for i in range(200_000)) + b"oops\n"
    s3.put_object(Bucket=bucket, Key="late.csv", Body=body)
    r = s3.select_object_content(
        Bucket=bucket, Key="late.csv", Expression="SELECT CAST(s.n AS INT) FROM S3Object s", ExpressionType="SQL",
        InputSerialization=USE, OutputSerialization={"CSV": {}},
    )  # fmt: skip
    seen = []
    with pytest.raises(botocore.exceptions.EventStreamError) as e:
        for event in r["Payload"]:
            seen.append(event)
    assert e.value.response["Error"]["Code"] == "CastFailed"
    assert any("Records" in ev for ev in seen)


def _raw_select(server: Any, bucket: str, kind: str = "SQL", more: str = "") -> tuple[int, str | None]:
    """Status and error code of a SelectObjectContent whose request document is written by hand."""
    body = (
        "<SelectObjectContentRequest><Expression>SELECT * FROM S3Object</Expression>"
        f"<ExpressionType>{kind}</ExpressionType>"
        "<InputSerialization><CSV/></InputSerialization><OutputSerialization><CSV/></OutputSerialization>"
        f"{more}</SelectObjectContentRequest>"
    ).encode()
    r = call(server, "POST", f"/{bucket}/p.csv", query="select&select-type=2", body=body)
    return r.status, r.error_code


def test_expression_type_must_be_sql(server: Any, csv_bucket: str) -> None:
    assert _raw_select(server, csv_bucket, kind="XPATH") == (400, "InvalidExpressionType")


def test_scan_range_start_with_a_space_is_invalid_scan_range(server: Any, csv_bucket: str) -> None:
    assert _raw_select(server, csv_bucket, more="<ScanRange><Start> 0</Start></ScanRange>") == (400, "InvalidScanRange")


def test_select_type_must_be_2(server: Any, csv_bucket: str) -> None:
    r = call(server, "POST", f"/{csv_bucket}/p.csv", query="select&select-type=1")
    assert (r.status, r.error_code) == (400, "InvalidArgument")


@pytest.mark.parametrize("kind", ["GZIP", "BZIP2"])
def test_an_object_that_does_not_decompress(s3: Any, csv_bucket: str, kind: str) -> None:
    inp = {"CSV": {}, "CompressionType": kind}
    assert error_of(s3, csv_bucket, "SELECT * FROM S3Object", inp) == (400, "InvalidCompressionFormat")


def test_malformed_json(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=b'{"a": 1}\n{not json\n')
    assert error_of(s3, bucket, "SELECT * FROM S3Object", {"JSON": {"Type": "LINES"}}) == (400, "JSONParsingError")
