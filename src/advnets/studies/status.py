"""`advnets study status`: where a study stands, trial by trial, from its storage."""

from __future__ import annotations

from collections import Counter

from advnets.studies import storage as stores


def status_text(opened: stores.OpenStudy) -> str:
    """Counts of done / running / waiting / failed trials, who runs what, and each failure's reason."""
    from optuna.trial import TrialState

    spec = opened.spec
    trials = stores.units(opened.study)
    latest = {}  # (setting, seed) -> its latest trial (a stale trial's retry replaces it)
    for t in trials:
        latest[(t.user_attrs["setting"], t.user_attrs["seed"])] = t
    states = Counter(t.state for t in latest.values())
    planned = (len(spec.settings) if spec.sampler != "tpe" else spec.n_settings) * len(spec.seeds)
    lines = [f"study {spec.name} ({stores.shown(opened.folder.storage)}): {planned} trials planned "
             f"({len(spec.settings) if spec.sampler != 'tpe' else spec.n_settings} settings x {len(spec.seeds)} "
             f"seeds); {states[TrialState.COMPLETE]} done, {states[TrialState.RUNNING]} running, "
             f"{states[TrialState.WAITING]} waiting, {states[TrialState.FAIL]} failed"]
    for (setting, seed), t in sorted(latest.items()):
        if t.state == TrialState.RUNNING:
            lines.append(f"  running: {setting}, seed {seed} (trial {t.number}, on {t.user_attrs.get('machine', '?')})")
        elif t.state == TrialState.FAIL:
            lines.append(f"  failed: {setting}, seed {seed} (trial {t.number}): {t.user_attrs.get('reason', '?')}")
    earlier = sum(1 for t in trials if t is not latest[(t.user_attrs["setting"], t.user_attrs["seed"])])
    if earlier:
        lines.append(f"  {earlier} earlier attempt(s) stopped (a worker that died or was interrupted) and were queued "
                     "again")
    tested = opened.study.user_attrs.get(stores.TEST_ATTR, [])
    if tested:
        lines.append(f"  tested: {', '.join(r['setting'] + ' (' + r['date'] + ')' for r in tested)}")
    return "\n".join(lines)
