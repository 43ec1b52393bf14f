"""The SelectObjectContent request document, parsed and checked (AWS's error codes for what is wrong)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from s3d.s3 import integers, xml
from s3d.s3.errors import S3Error

ROOT = "SelectObjectContentRequest"
SQL = "SQL"
CSV, JSON, PARQUET = "CSV", "JSON", "Parquet"
NONE, GZIP, BZIP2 = "NONE", "GZIP", "BZIP2"
USE, IGNORE = "USE", "IGNORE"  # FileHeaderInfo (and NONE)
DOCUMENT, LINES = "DOCUMENT", "LINES"
ALWAYS, ASNEEDED = "ALWAYS", "ASNEEDED"
HEADER_INFOS = (NONE, USE, IGNORE)
COMPRESSIONS = (NONE, GZIP, BZIP2)
JSON_TYPES = (DOCUMENT, LINES)
QUOTE_FIELDS = (ALWAYS, ASNEEDED)


@dataclass(frozen=True, slots=True)
class CsvInput:
    header: str = NONE
    field_delimiter: str = ","
    record_delimiter: str = "\n"
    quote: str = '"'
    quote_escape: str = '"'
    comments: str = "#"
    allow_quoted_record_delimiter: bool = False


@dataclass(frozen=True, slots=True)
class JsonInput:
    type: str


@dataclass(frozen=True, slots=True)
class ParquetInput:
    pass


Input = CsvInput | JsonInput | ParquetInput


@dataclass(frozen=True, slots=True)
class CsvOutput:
    field_delimiter: str = ","
    record_delimiter: str = "\n"
    quote: str = '"'
    quote_escape: str = '"'
    quote_fields: str = ASNEEDED


@dataclass(frozen=True, slots=True)
class JsonOutput:
    record_delimiter: str = "\n"


Output = CsvOutput | JsonOutput


@dataclass(frozen=True, slots=True)
class ScanRange:
    start: int | None
    end: int | None


@dataclass(frozen=True, slots=True)
class SelectRequest:
    expression: str
    input: Input
    compression: str
    output: Output
    progress: bool
    scan_range: ScanRange | None


def _invalid(message: str, code: str = "InvalidRequestParameter") -> S3Error:
    return S3Error(code, message)


def _one_format(el: ET.Element, names: tuple[str, ...], what: str) -> tuple[str, ET.Element]:
    present = [(n, c) for n in names if (c := el.find(n)) is not None]
    if not present:
        raise S3Error("MissingRequiredParameter", f"{what} names no format ({', '.join(names)}).")
    if len(present) > 1:
        raise S3Error("ObjectSerializationConflict", f"{what} names more than one format.")
    return present[0]


def _char(el: ET.Element, name: str, default: str, allow_empty: bool = False) -> str:
    value = xml.text(el, name)
    if value is None:
        return default
    if value == "" and allow_empty:
        return ""
    if len(value) != 1:
        raise _invalid(f"{name} must be one character.")
    return value


def _delimiter(el: ET.Element, name: str, default: str, choices: tuple[str, ...] | None) -> str:
    value = xml.text(el, name)
    if value is None or value == "":
        return default
    if choices is not None and value not in choices:
        raise S3Error("NotImplemented", f"s3d does not implement the {name} {value!r}: one of {choices!r}.")
    if choices is None and len(value) != 1:
        raise _invalid(f"{name} must be one character.")
    return value


def _choice(el: ET.Element, name: str, choices: tuple[str, ...], default: str, code: str) -> str:
    value = xml.text(el, name)
    if value is None:
        return default
    upper = value.strip().upper()
    for choice in choices:
        if choice.upper() == upper:
            return choice
    raise S3Error(code, f"{name} must be one of {', '.join(choices)}.")


CR_REFERENCE = b"&#13;"
RECORD_DELIMITERS = ("\n", "\r\n", "\r")  # what the CSV reader splits records on


def _csv_input(el: ET.Element) -> CsvInput:
    return CsvInput(
        header=_choice(el, "FileHeaderInfo", HEADER_INFOS, NONE, "InvalidFileHeaderInfo"),
        field_delimiter=_delimiter(el, "FieldDelimiter", ",", None),
        record_delimiter=_delimiter(el, "RecordDelimiter", "\n", RECORD_DELIMITERS),
        quote=_char(el, "QuoteCharacter", '"'),
        quote_escape=_char(el, "QuoteEscapeCharacter", '"'),
        comments=_char(el, "Comments", "#", allow_empty=True),
        allow_quoted_record_delimiter=xml.boolean(el, "AllowQuotedRecordDelimiter", False),
    )


def _csv_output(el: ET.Element) -> CsvOutput:
    record = xml.text(el, "RecordDelimiter")
    return CsvOutput(
        field_delimiter=_char(el, "FieldDelimiter", ","),
        record_delimiter=record if record else "\n",
        quote=_char(el, "QuoteCharacter", '"'),
        quote_escape=_char(el, "QuoteEscapeCharacter", '"'),
        quote_fields=_choice(el, "QuoteFields", QUOTE_FIELDS, ASNEEDED, "InvalidQuoteFields"),
    )


def _long(el: ET.Element, name: str) -> int | None:
    value = xml.text(el, name)
    if value is None:
        return None
    n = integers.parse(value, 0, integers.LONG_MAX)
    if n is None:
        raise _invalid(f"ScanRange {name} must be a non-negative number.", "InvalidScanRange")
    return n


def _scan_range(el: ET.Element | None) -> ScanRange | None:
    if el is None:
        return None
    start, end = _long(el, "Start"), _long(el, "End")
    if start is None and end is None:
        return None
    if start is not None and end is not None and start > end:
        raise _invalid("ScanRange Start must not be after End.", "InvalidScanRange")
    return ScanRange(start, end)


CSV_INPUT = xml.Shape(
    {
        "FileHeaderInfo": xml.TEXT, "Comments": xml.TEXT, "QuoteEscapeCharacter": xml.TEXT, "RecordDelimiter": xml.TEXT,
        "FieldDelimiter": xml.TEXT, "QuoteCharacter": xml.TEXT, "AllowQuotedRecordDelimiter": xml.TEXT,
    }
)  # fmt: skip
CSV_OUTPUT = xml.Shape(
    {
        "QuoteFields": xml.TEXT, "QuoteEscapeCharacter": xml.TEXT, "RecordDelimiter": xml.TEXT,
        "FieldDelimiter": xml.TEXT, "QuoteCharacter": xml.TEXT,
    }
)  # fmt: skip
REQUEST = xml.Shape(
    {
        "Expression": xml.TEXT,
        "ExpressionType": xml.TEXT,
        "RequestProgress": xml.Shape({"Enabled": xml.TEXT}),
        "InputSerialization": xml.Shape(
            {CSV: CSV_INPUT, "CompressionType": xml.TEXT, JSON: xml.Shape({"Type": xml.TEXT}), PARQUET: xml.Shape()}
        ),
        "OutputSerialization": xml.Shape({CSV: CSV_OUTPUT, JSON: xml.Shape({"RecordDelimiter": xml.TEXT})}),
        "ScanRange": xml.Shape({"Start": xml.TEXT, "End": xml.TEXT}),
    }
)


def parse(body: bytes) -> SelectRequest:
    if not body:
        raise S3Error("MissingRequestBodyError", "Request Body is empty")
    # an XML parser reads a raw CR as LF; SDKs send delimiters such as "\r\n" raw, so keep them as written
    root = xml.parse(body.replace(b"\r", CR_REFERENCE))
    xml.conform(root, ROOT, REQUEST)
    expression = xml.text(root, "Expression")
    if not expression:
        raise S3Error("MissingRequiredParameter", "The SelectRequest entity is missing the Expression.")
    kind = xml.text(root, "ExpressionType")
    if kind is None:
        raise S3Error("MissingRequiredParameter", "The SelectRequest entity is missing the ExpressionType.")
    if kind.strip().upper() != SQL:
        raise S3Error("InvalidExpressionType", "The ExpressionType is invalid. Only SQL expressions are supported.")
    progress_el = root.find("RequestProgress")
    progress = xml.boolean(progress_el, "Enabled", False) if progress_el is not None else False
    in_el = root.find("InputSerialization")
    out_el = root.find("OutputSerialization")
    if in_el is None or out_el is None:
        raise S3Error("MissingRequiredParameter", "InputSerialization and OutputSerialization are required.")
    compression = _choice(in_el, "CompressionType", COMPRESSIONS, NONE, "InvalidCompressionFormat")
    in_name, in_fmt = _one_format(in_el, (CSV, JSON, PARQUET), "InputSerialization")
    inp: Input
    if in_name == CSV:
        inp = _csv_input(in_fmt)
    elif in_name == JSON:
        json_type = xml.text(in_fmt, "Type")
        if json_type is None:
            raise S3Error("MissingRequiredParameter", "JSON input needs its Type (DOCUMENT or LINES).")
        inp = JsonInput(_choice(in_fmt, "Type", JSON_TYPES, DOCUMENT, "InvalidJsonType"))
    else:
        inp = ParquetInput()
        if compression != NONE:
            raise S3Error("InvalidCompressionFormat", "Parquet objects take CompressionType NONE.")
    out_name, out_fmt = _one_format(out_el, (CSV, JSON), "OutputSerialization")
    out: Output = _csv_output(out_fmt) if out_name == CSV else JsonOutput(xml.text(out_fmt, "RecordDelimiter") or "\n")
    scan = _scan_range(root.find("ScanRange"))
    if scan is not None and isinstance(inp, ParquetInput):
        raise S3Error("NotImplemented", "s3d does not implement ScanRange on Parquet objects.")
    if scan is not None and (compression != NONE or (isinstance(inp, JsonInput) and inp.type != LINES)):
        raise S3Error(
            "UnsupportedScanRangeInput",
            "ScanRange is supported for uncompressed CSV and JSON LINES objects only.",
        )
    return SelectRequest(expression, inp, compression, out, progress, scan)
