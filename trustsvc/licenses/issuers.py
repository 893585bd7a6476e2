"""Who may issue a license type: the type's issuer rule, and the one decision.

A license type names the departments entitled to issue it (``[issuers]`` in its
TOML file): every department, or those of some kinds (市场监督管理, ...), in
some regions (GB/T 2260 code prefixes), and/or by credit code. On top of the
rule an operator records explicit grants and denials, each with its time.
``is_entitled`` is the only place the rule is applied: issuance asks it at the
moment of sealing, verification as of the time the seal was made, so a later
denial does not undo licenses sealed before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from trustsvc.departments.kinds import DepartmentKind
from trustsvc.errors import InvalidInputError

_REGION_PREFIX = re.compile(r"[0-9]{2}(?:[0-9]{2}){0,2}")


def validate_region_prefix(prefix: str) -> str:
    """A GB/T 2260 region code prefix: province (2 digits), city (4) or county (6)."""
    if not _REGION_PREFIX.fullmatch(prefix):
        raise InvalidInputError(
            f"region prefix {prefix!r} must be 2, 4 or 6 digits of a GB/T 2260 region code"
        )
    return prefix


@dataclass(frozen=True)
class Issuer:
    """What the rule looks at in a department."""

    code: str
    kind: DepartmentKind | None
    region_code: str | None


@dataclass(frozen=True)
class IssuerRule:
    """Which departments a type's rule entitles, before any explicit grant or denial.

    ``codes`` are entitled outright. Otherwise, unless ``any_department``, a
    department must match every condition given: a kind among ``kinds`` (when
    any are given) and a region code starting with one of ``regions`` (when
    any are given). A rule naming nothing entitles nobody: only explicit grants.
    """

    any_department: bool = False
    kinds: frozenset[DepartmentKind] = frozenset()
    regions: tuple[str, ...] = ()
    codes: frozenset[str] = frozenset()

    def admits(self, issuer: Issuer) -> bool:
        if self.any_department or issuer.code in self.codes:
            return True
        if not self.kinds and not self.regions:
            return False
        if self.kinds and issuer.kind not in self.kinds:
            return False
        region = issuer.region_code or ""
        return not self.regions or any(region.startswith(prefix) for prefix in self.regions)

    def describe(self) -> str:
        """The rule in words, for a refusal."""
        if self.any_department:
            return "any department"
        parts = []
        if self.kinds:
            parts.append(" or ".join(sorted(f"{k.value} ({k.label_zh})" for k in self.kinds)))
        if self.regions:
            parts.append("in region " + " or ".join(self.regions))
        if self.codes:
            parts.append(("or " if parts else "") + "departments " + ", ".join(sorted(self.codes)))
        return " ".join(parts) or "only departments granted it explicitly"


@dataclass(frozen=True)
class Decision:
    """An explicit grant (``allowed``) or denial, from ``at`` on."""

    at: datetime
    allowed: bool


def is_entitled(
    rule: IssuerRule, issuer: Issuer, decisions: Iterable[Decision], moment: datetime
) -> bool:
    """Whether ``issuer`` may issue under ``rule`` at ``moment``.

    The newest explicit decision made at or before ``moment`` wins; without one,
    the type's rule decides.
    """
    latest: Decision | None = None
    for decision in decisions:
        if decision.at <= moment and (latest is None or decision.at >= latest.at):
            latest = decision
    if latest is not None:
        return latest.allowed
    return rule.admits(issuer)


__all__ = [
    "Decision",
    "Issuer",
    "IssuerRule",
    "is_entitled",
    "validate_region_prefix",
]
