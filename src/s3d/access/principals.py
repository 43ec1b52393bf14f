"""Who a request is, as policies and ACLs name it.

s3d is one account holding its configured users. A user is named in a policy as
``arn:aws:iam::<account>:user/<name>`` (any 12-digit account number), by its access key, or by its
canonical user id (its name, as ListBuckets' Owner/ID shows); ``arn:aws:iam::<account>:root`` or a
bare 12-digit account number names every configured user; ``*`` names everyone, anonymous included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from s3d.config import User
from s3d.s3.errors import S3Error

Principal = User
EVERYONE = "*"
ANONYMOUS_ID = "anonymous"  # the initiator an unsigned request is shown as
_USER_ARN = re.compile(r"arn:aws:iam::(\d{12}):user/(.+)")
_ROOT = re.compile(r"(?:arn:aws:iam::)?(\d{12})(?::root)?")
SERVICE_KINDS = ("Service", "Federated")  # valid in a policy; never an s3d caller


def canonical_id(user: User) -> str:
    return user.name


@dataclass(frozen=True, slots=True)
class PrincipalSet:
    everyone: bool = False
    all_users: bool = False
    names: frozenset[str] = frozenset()

    def matches(self, p: Principal | None) -> bool:
        if self.everyone:
            return True
        if p is None:
            return False
        return self.all_users or p.name in self.names


class Directory:
    """The configured users, looked up the ways a policy may name them."""

    def __init__(self, users: Iterable[User]) -> None:
        self.by_name = {u.name: u for u in users}
        self.by_key = {u.access_key: u for u in self.by_name.values()}

    def user_named(self, ref: str) -> User | None:
        m = _USER_ARN.fullmatch(ref)
        if m:
            return self.by_name.get(m.group(2))
        return self.by_key.get(ref)

    def resolve(self, raw: Any, negated: bool = False) -> PrincipalSet:
        """A policy's Principal/NotPrincipal element; MalformedPolicy if it names no one s3d knows."""
        if raw == EVERYONE:
            return PrincipalSet(everyone=True)
        if not isinstance(raw, dict) or not raw:
            raise _invalid()
        everyone = all_users = False
        names: set[str] = set()
        for kind, value in raw.items():
            refs = [value] if isinstance(value, str) else value
            if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                raise _invalid()
            for ref in refs:
                if kind == "AWS":
                    if ref == EVERYONE:
                        everyone = True
                    elif _ROOT.fullmatch(ref):
                        all_users = True
                    else:
                        u = self.user_named(ref)
                        if u is None:
                            raise _invalid()
                        names.add(u.name)
                elif kind == "CanonicalUser":
                    if ref not in self.by_name:
                        raise _invalid()
                    names.add(ref)
                elif kind not in SERVICE_KINDS:
                    raise _invalid()
        return PrincipalSet(everyone, all_users, frozenset(names))


def _invalid() -> S3Error:
    return S3Error("MalformedPolicy", "Invalid principal in policy", status=400)
