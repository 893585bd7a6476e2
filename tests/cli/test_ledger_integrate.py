"""``trustsvc ledger integrate`` and ``ledger log-key``: the log caught up and published."""

from __future__ import annotations

from tests.cli.running import invoke
from trustsvc.audit.log import append_many, reading
from trustsvc.services import Services
from trustsvc.tlog.checkpoint import open_checkpoint
from trustsvc.tlog.note import note_verifier


def test_integrate_folds_the_entries_and_publishes_a_checkpoint_the_log_key_verifies(
    services: Services,
) -> None:
    with services.database.begin() as session:
        append_many(session, [b"one", b"two", b"three"])
    code, out, err = invoke(services.settings, "ledger", "integrate")
    assert code == 0, err
    head = reading.head(services.database)
    assert head.size == 3
    assert out.strip() == (
        f"tree: 3 entries, root {head.root.hex()}; published checkpoint 3 (no witnesses)"
    )
    code, out, err = invoke(services.settings, "ledger", "log-key")
    assert code == 0, err
    origin, vkey = out.split()
    assert origin == services.settings.resolved_log_origin
    published = reading.latest_checkpoint(services.database)
    assert published is not None
    assert open_checkpoint(published.note.encode(), note_verifier(vkey)).checkpoint.size == 3
    # Nothing new: the tree is reported, no second checkpoint.
    code, out, _ = invoke(services.settings, "ledger", "integrate", "--no-publish")
    assert code == 0 and out.strip() == f"tree: 3 entries, root {head.root.hex()}"
