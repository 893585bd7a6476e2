"""Who checks a presentation code (亮证), and whether the code admits them.

A code may name the verifier it is meant for and the purpose (用证事由) it is
shown for; ``admits`` is the one rule that holds a checker to both. The
verifier applies it; the holder's side (``holders.presentation``) issues codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from trustsvc.verification import reasons as R
from trustsvc.verification.report import Reason


class VerifierClient(Protocol):
    """An API client of role verifier, as far as checking codes goes."""

    @property
    def name(self) -> str: ...

    @property
    def purposes(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Checker:
    """Who checks a presentation code, and what they may claim to be checking it for."""

    #: The name recorded in the holder's record.
    name: str
    #: Whether ``name`` is a verifier client's (an API key, or the CLI acting as one):
    #: only then may a code naming that verifier be checked.
    is_client: bool = False
    #: The purposes (用证事由) the checker may state; none for anonymous or the operator.
    purposes: tuple[str, ...] = ()

    @classmethod
    def of(cls, client: VerifierClient) -> Checker:
        return cls(client.name, is_client=True, purposes=tuple(client.purposes))


#: A check by nobody in particular (the default): no name or purpose to hold it to.
ANONYMOUS = Checker("anonymous")


def admits(
    checker: Checker, purpose: str | None, intended_verifier: str | None, stated: str | None
) -> list[Reason]:
    """Why this checker, stating ``stated``, may not check a code naming these; [] if it may."""
    refusals: list[Reason] = []
    if intended_verifier is not None and not (
        checker.is_client and checker.name == intended_verifier
    ):
        refusals.append(R.presentation_for(intended_verifier))
    if stated is not None and stated not in checker.purposes:
        refusals.append(R.PRESENTATION_PURPOSE_NOT_ALLOWED)
    if purpose is not None and stated != purpose:
        refusals.append(R.presentation_purpose(purpose))
    return refusals


__all__ = ["ANONYMOUS", "Checker", "VerifierClient", "admits"]
