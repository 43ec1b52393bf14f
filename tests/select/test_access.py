"""SelectObjectContent is authorized as s3:GetObject, as at AWS."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from tests.access.conftest import abucket, alice, bob, daemon, policy, user_arn  # noqa: F401 - fixtures
from tests.select.conftest import select

USE = {"CSV": {"FileHeaderInfo": "USE"}}


def test_select_needs_get_object(alice: Any, bob: Any, abucket: str) -> None:  # noqa: F811 - fixtures
    alice.put_object(Bucket=abucket, Key="t.csv", Body=b"a\n1\n")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        select(bob, abucket, "t.csv", "SELECT * FROM S3Object", USE)
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    grant = {"Effect": "Allow", "Principal": {"AWS": user_arn("bob")}, "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{abucket}/*"}  # fmt: skip
    alice.put_bucket_policy(Bucket=abucket, Policy=policy(abucket, grant))
    got, _ = select(bob, abucket, "t.csv", "SELECT * FROM S3Object", USE)
    assert got == b"1\n"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        select(bob, abucket, "missing.csv", "SELECT * FROM S3Object", USE)
    assert e.value.response["Error"]["Code"] == "AccessDenied"  # bob may not list: a missing key is not told
