"""CSV objects through SelectObjectContent (boto3 against a real daemon), each result checked against DuckDB."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path
from typing import Any

from tests.select.conftest import csv_rows, duck, json_rows, people, people_csv, select

USE = {"CSV": {"FileHeaderInfo": "USE"}}


def read_csv(path: Path, **options: str) -> str:
    extra = "".join(f", {k}={v}" for k, v in options.items())
    return f"read_csv('{path}', all_varchar=true, header=true{extra})"


def test_select_where_matches_duckdb(s3: Any, bucket: str, people_file: Path) -> None:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=people_file.read_bytes())
    got, _ = select(s3, bucket, "p.csv", "SELECT s.name, s.city FROM S3Object s WHERE CAST(s.age AS INT) > 60", USE)
    assert csv_rows(got) == duck(f"SELECT name, city FROM {read_csv(people_file)} WHERE CAST(age AS INT) > 60")
    assert len(csv_rows(got)) > 10


def test_select_star_with_limit(s3: Any, bucket: str, people_file: Path) -> None:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=people_file.read_bytes())
    got, _ = select(s3, bucket, "p.csv", "SELECT * FROM S3Object LIMIT 5", USE)
    assert csv_rows(got) == duck(f"SELECT * FROM {read_csv(people_file)} LIMIT 5")


def test_header_none_uses_positions_and_reads_the_first_line_as_a_record(
    s3: Any, bucket: str, people_file: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=people_file.read_bytes())
    got, _ = select(s3, bucket, "p.csv", "SELECT _1, _3 FROM S3Object LIMIT 3", {"CSV": {"FileHeaderInfo": "NONE"}})
    assert csv_rows(got) == [("name", "city"), *[(r[0], r[2]) for r in people()[:2]]]


def test_position_of_thousands_of_digits_is_a_missing_column(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="c.csv", Body=b"a,b\n")
    expression = "SELECT _1, _" + "9" * 5000 + " FROM S3Object"  # past int()'s digit limit
    got, _ = select(s3, bucket, "c.csv", expression, {"CSV": {"FileHeaderInfo": "NONE"}})
    assert got == b"a,\n"


def test_header_ignore_skips_the_first_line(s3: Any, bucket: str, people_file: Path) -> None:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=people_file.read_bytes())
    got, _ = select(
        s3, bucket, "p.csv", "SELECT _1 FROM S3Object s WHERE s._3 = 'Oslo'", {"CSV": {"FileHeaderInfo": "IGNORE"}}
    )
    assert csv_rows(got) == duck(f"SELECT name FROM {read_csv(people_file)} WHERE city = 'Oslo'")


def test_column_names_ignore_case_unless_quoted(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="c.csv", Body=b"Name,Age\nann,3\n")
    got, _ = select(s3, bucket, "c.csv", 'SELECT s.name, s."Age", s."age" FROM S3Object s', USE)
    assert csv_rows(got) == [("ann", "3", "")]  # "age" (quoted) is not Age: MISSING, an empty field


def test_delimiters_quotes_and_comments(s3: Any, bucket: str, tmp_path: Path) -> None:
    body = b"a;b\n# a comment line\n'x;1';2\n'it''s';3\n"
    s3.put_object(Bucket=bucket, Key="d.csv", Body=body)
    inp = {
        "CSV": {
            "FileHeaderInfo": "USE",
            "FieldDelimiter": ";",
            "QuoteCharacter": "'",
            "QuoteEscapeCharacter": "'",
            "Comments": "#",
        }
    }
    got, _ = select(s3, bucket, "d.csv", "SELECT s.a, s.b FROM S3Object s", inp)
    assert csv_rows(got) == [("x;1", "2"), ("it's", "3")]


def test_crlf_record_delimiter(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="w.csv", Body=b"a,b\r\n1,2\r\n3,4\r\n")
    inp = {"CSV": {"FileHeaderInfo": "USE", "RecordDelimiter": "\r\n"}}
    got, _ = select(s3, bucket, "w.csv", "SELECT s.b FROM S3Object s", inp)
    assert got == b"2\n4\n"


def test_quoted_record_delimiter_is_allowed(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="q.csv", Body=b'a,b\n"two\nlines",1\n')
    inp = {"CSV": {"FileHeaderInfo": "USE", "AllowQuotedRecordDelimiter": True}}
    got, _ = select(s3, bucket, "q.csv", "SELECT s.a FROM S3Object s", inp, {"JSON": {}})
    assert json_rows(got) == [{"a": "two\nlines"}]


def test_gzip_and_bzip2(s3: Any, bucket: str, people_file: Path) -> None:
    raw = people_file.read_bytes()
    s3.put_object(Bucket=bucket, Key="p.csv.gz", Body=gzip.compress(raw))
    s3.put_object(Bucket=bucket, Key="p.csv.bz2", Body=bz2.compress(raw))
    want = duck(f"SELECT name FROM {read_csv(people_file)} WHERE city = 'Kyoto'")
    for key, kind in (("p.csv.gz", "GZIP"), ("p.csv.bz2", "BZIP2")):
        inp = {"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": kind}
        got, evs = select(s3, bucket, key, "SELECT s.name FROM S3Object s WHERE s.city = 'Kyoto'", inp)
        assert csv_rows(got) == want, kind
        stats = next(e["Stats"]["Details"] for e in evs if "Stats" in e)
        assert stats["BytesScanned"] == len(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_csv_output_options(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o.csv", Body=b'a,b\nx,"y""z"\n')
    out = {
        "CSV": {
            "QuoteFields": "ALWAYS",
            "FieldDelimiter": "|",
            "RecordDelimiter": ";\n",
            "QuoteCharacter": "'",
            "QuoteEscapeCharacter": "'",
        }
    }
    got, _ = select(s3, bucket, "o.csv", "SELECT s.a, s.b FROM S3Object s", USE, out)
    assert got == b"'x'|'y\"z';\n"


def test_csv_output_quotes_as_needed(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o.csv", Body=b'a,b\nplain,"has,comma"\n')
    got, _ = select(s3, bucket, "o.csv", "SELECT s.a, s.b FROM S3Object s", USE)
    assert got == b'plain,"has,comma"\n'


def test_json_output_names_fields_by_column_or_alias(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o.csv", Body=b"a,b\n1,2\n")
    got, _ = select(
        s3,
        bucket,
        "o.csv",
        "SELECT s.a, s.b AS bee, UPPER(s.a) FROM S3Object s",
        USE,
        {"JSON": {"RecordDelimiter": "\r\n"}},
    )
    assert got == b'{"a":"1","bee":"2","_3":"1"}\r\n'


def test_stats_count_the_bytes(s3: Any, bucket: str) -> None:
    body = people_csv()
    s3.put_object(Bucket=bucket, Key="p.csv", Body=body)
    got, evs = select(s3, bucket, "p.csv", "SELECT s.name FROM S3Object s", USE)
    kinds = [next(iter(e)) for e in evs]
    assert kinds[-2:] == ["Stats", "End"]
    stats = evs[-2]["Stats"]["Details"]
    assert stats == {"BytesScanned": len(body), "BytesProcessed": len(body), "BytesReturned": len(got)}


def test_progress_when_requested(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="p.csv", Body=people_csv())
    _, evs = select(s3, bucket, "p.csv", "SELECT COUNT(*) FROM S3Object", USE, RequestProgress={"Enabled": True})
    assert any("Progress" in e for e in evs)
    _, quiet = select(s3, bucket, "p.csv", "SELECT COUNT(*) FROM S3Object", USE)
    assert not any("Progress" in e for e in quiet)


def test_large_result_comes_in_several_records_events(s3: Any, bucket: str, tmp_path: Path) -> None:
    rows = 40_000
    body = b"n,pad\n" + b"".join(b"%d,%s\n" % (i, b"x" * 20) for i in range(rows))
    s3.put_object(Bucket=bucket, Key="big.csv", Body=body)
    got, evs = select(s3, bucket, "big.csv", "SELECT s.n, s.pad FROM S3Object s", USE)
    assert got == body[len(b"n,pad\n") :]
    assert sum(1 for e in evs if "Records" in e) > 1


def test_json_output_names_a_repeated_field_by_position(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o.csv", Body=b"a,b\n1,2\n")
    got, _ = select(s3, bucket, "o.csv", "SELECT s.a, s.a FROM S3Object s", USE, {"JSON": {}})
    assert json_rows(got) == [{"a": "1", "_2": "1"}]
