"""Kinds of department, by their line of work (市场监督管理, 住房和城乡建设, ...).

License types name the kinds entitled to issue them; a department's kind is given
when it is added, or read from its official name.
"""

from __future__ import annotations

from enum import StrEnum

from trustsvc.errors import InvalidInputError


class DepartmentKind(StrEnum):
    """Kinds of department (by their line of work), as licensing rules name them."""

    MARKET_REGULATION = "market-regulation"
    HOUSING_CONSTRUCTION = "housing-construction"
    NATURAL_RESOURCES = "natural-resources"
    ADMINISTRATIVE_APPROVAL = "administrative-approval"
    PUBLIC_SECURITY = "public-security"
    CIVIL_AFFAIRS = "civil-affairs"
    HEALTH = "health"
    HUMAN_RESOURCES = "human-resources"
    TRANSPORT = "transport"
    ECOLOGY_ENVIRONMENT = "ecology-environment"
    EDUCATION = "education"

    @property
    def label_zh(self) -> str:
        return _LABELS[self]


_LABELS = {
    DepartmentKind.MARKET_REGULATION: "市场监督管理",
    DepartmentKind.HOUSING_CONSTRUCTION: "住房和城乡建设",
    DepartmentKind.NATURAL_RESOURCES: "自然资源",
    DepartmentKind.ADMINISTRATIVE_APPROVAL: "行政审批",
    DepartmentKind.PUBLIC_SECURITY: "公安",
    DepartmentKind.CIVIL_AFFAIRS: "民政",
    DepartmentKind.HEALTH: "卫生健康",
    DepartmentKind.HUMAN_RESOURCES: "人力资源和社会保障",
    DepartmentKind.TRANSPORT: "交通运输",
    DepartmentKind.ECOLOGY_ENVIRONMENT: "生态环境",
    DepartmentKind.EDUCATION: "教育",
}
#: Words a department's official name carries for its kind (the same table as migration 0013).
_NAME_WORDS = (
    *((label, kind) for kind, label in _LABELS.items()),
    ("不动产登记", DepartmentKind.NATURAL_RESOURCES),
)


def parse_kind(text: str) -> DepartmentKind:
    """A kind from its slug (``market-regulation``) or its Chinese name (市场监督管理)."""
    wanted = text.strip()
    for kind in DepartmentKind:
        if wanted in (kind.value, kind.label_zh):
            return kind
    known = ", ".join(f"{k.value} ({k.label_zh})" for k in DepartmentKind)
    raise InvalidInputError(f"unknown department kind {text!r}; known kinds: {known}")


def kind_from_name(name: str) -> DepartmentKind | None:
    """The kind an official department name states (杭州市市场监督管理局 -> market regulation)."""
    for words, kind in _NAME_WORDS:
        if words in name:
            return kind
    return None


__all__ = ["DepartmentKind", "kind_from_name", "parse_kind"]
