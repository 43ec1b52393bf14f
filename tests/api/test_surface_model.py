"""The surface table decides every header and query parameter S3's model defines for each implemented operation."""

from __future__ import annotations

import botocore.session
import pytest

from s3d.s3.handlers import HANDLERS
from s3d.s3.surface import QUERY_PARAMETERS, SURFACE

MODEL = botocore.session.get_session().get_service_model("s3")
IN_MODEL = sorted(op for op in HANDLERS if op in MODEL.operation_names)


def model_names(operation: str) -> set[str]:
    shape = MODEL.operation_model(operation).input_shape
    names: set[str] = set()
    for member in shape.members.values() if shape else ():
        where = member.serialization.get("location")
        if where == "header":
            names.add(member.serialization["name"].lower())
        elif where == "headers":
            names.add(member.serialization["name"].lower() + "*")
        elif where == "querystring":
            names.add(member.serialization["name"])
    return names


@pytest.mark.parametrize("operation", IN_MODEL)
def test_every_model_parameter_is_decided(operation: str) -> None:
    decided = set(SURFACE.get(operation, {}))
    missing = model_names(operation) - decided
    assert not missing, f"{operation}: decide these in s3d/s3/surface.py: {sorted(missing)}"


def test_every_implemented_operation_has_a_table() -> None:
    assert set(IN_MODEL) <= set(SURFACE)


@pytest.mark.parametrize("operation", IN_MODEL)
def test_query_parameters_are_known_as_such(operation: str) -> None:
    shape = MODEL.operation_model(operation).input_shape
    in_query = {
        m.serialization["name"]
        for m in (shape.members.values() if shape else ())
        if m.serialization.get("location") == "querystring"
    }
    assert in_query <= QUERY_PARAMETERS
