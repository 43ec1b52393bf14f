"""`s3d filter why`: for each feature, which rule decided about an object and why, as JSON for the CLI."""

from __future__ import annotations

from typing import Any

from s3d.filters.evaluate import Decision, Filter, Step
from s3d.filters.gateway import HOLD_TAG, SHIP_TAG
from s3d.filters.objects import subject
from s3d.filters.setting import Feature
from s3d.store.store import Object


def _step(s: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"line": s.rule.line, "rule": s.rule.text()}
    if not s.pattern_matched:
        out["result"] = "pattern does not match"
    elif s.failed is not None:
        seen = "absent" if s.actual is None else repr(s.actual)
        out["result"] = f"pattern matches; {s.failed.text()} is false (the object has {seen})"
    else:
        out["result"] = "matches"
    return out


def _filter_verdict(feature: Feature, f: Filter, d: Decision, steps: list[Step]) -> dict[str, Any]:
    verdict = "include" if d.include else "exclude"
    if d.rule is None:
        reason = f"no rule of {feature.setting} matches: {verdict} (the default)"
    else:
        reason = f"{feature.setting} line {d.rule.line} `{d.rule.text()}` matches: {verdict}"
    rule = None if d.rule is None else {"line": d.rule.line, "rule": d.rule.text()}
    return {"include": d.include, "decided_by": "rule" if rule else "default", "rule": rule, "reason": reason,
            "steps": [_step(s) for s in steps]}  # fmt: skip


def explain(
    filters: dict[Feature, Filter | None], obj: Object, btags: dict[str, str], pinned: bool | None
) -> dict[str, Any]:
    """Every feature's decision about one object; ``pinned`` is None outside gateway mode."""
    s = subject(obj, btags)
    tags = obj.tags or []
    features: dict[str, Any] = {}
    for feature in Feature:
        f = filters.get(feature)
        verdict: dict[str, Any] = {"filter": f is not None}
        if f is not None:
            d, steps = f.explain(s)
            verdict.update(_filter_verdict(feature, f, d, steps))
        else:
            verdict.update({"include": True, "decided_by": "no filter", "rule": None, "steps": [],
                            "reason": f"no {feature.setting}: everything is included"})  # fmt: skip
        if feature is Feature.UPLOAD and (HOLD_TAG in tags or SHIP_TAG in tags):
            ship = SHIP_TAG in tags and HOLD_TAG not in tags
            verdict.update({"include": ship, "decided_by": "tag",
                            "reason": f"tag {'='.join(HOLD_TAG if not ship else SHIP_TAG)} wins over the filter"})  # fmt: skip
        if feature is Feature.CACHE and pinned:
            verdict.update({"include": True, "decided_by": "pin", "reason": "pinned: a pin wins over the filter"})
        features[feature.value] = verdict
    return {
        "bucket": obj.bucket,
        "key": s.key,
        "object": {
            "size": obj.size,
            "last_modified": obj.mtime,
            "tags": dict(s.tags),
            "bucket_tags": dict(btags),
            "metadata": dict(obj.meta),
        },  # fmt: skip
        "features": features,
    }
