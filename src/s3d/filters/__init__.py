"""The filter language: which objects are uploaded, cached, synced and mounted (docs/filters.md)."""

from s3d.filters.evaluate import DEFAULT_INCLUDE, Decision, Filter, Step, Subject
from s3d.filters.rules import Condition, Field, Op, Rule
from s3d.filters.syntax import FilterError, parse

__all__ = [
    "DEFAULT_INCLUDE", "Condition", "Decision", "Field", "Filter", "FilterError", "Op", "Rule", "Step", "Subject", "parse",
]  # fmt: skip
