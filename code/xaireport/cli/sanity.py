"""``xaireport sanity``: model-parameter randomization checks (cascading and independent) for a folder of images
(chapter 5's computation)."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, parse_methods, prepare, session_from


def _configure(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated registered methods, e.g. gradcam,ablationcam,scorecam,lime (default: the "
        "sanity.methods setting)",
    )
    p.add_argument(
        "--lime-num-samples",
        type=int,
        default=None,
        help="LIME samples per explanation (default: sanity.lime_num_samples)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="randomization seeds of the cascade, from the seed setting on (default: sanity.seeds)",
    )


@command(
    "sanity",
    "model-parameter randomization: how much each method's maps change as the model's weights are randomized",
    _configure,
)
def _sanity(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {"sanity.methods": parse_methods(args.methods)}
    overrides["sanity.lime_num_samples"] = args.lime_num_samples
    overrides["sanity.seeds"] = args.seeds
    session = session_from(args, {k: v for k, v in overrides.items() if v is not None})
    clf = prepare(args, session, out=args.out)
    from xaireport.methods.registry import label
    from xaireport.methods.sanity import blocks
    from xaireport.report import sanity_checks
    from xaireport.results.sanity import run

    blocks(clf)  # an architecture without a known cascade order fails before any work
    s = session.settings
    checks = run(session, images=session.images())
    args.out.mkdir(parents=True, exist_ok=True)
    sanity_checks.save_all(checks, args.out)
    sanity_checks.cascade_figure(checks, s.display.outlier_percent, args.out / "cascade.png")
    sanity_checks.curve_figure(checks, args.out / "curves.png")
    for v in sanity_checks.verdicts(checks, s.sanity.threshold, s.sanity.within_blocks):
        outcome = v.decision.undecided_reason() if v.outcome == "undecided" else v.outcome
        print(
            f"{label(v.method)}: {outcome} (threshold {s.sanity.threshold}; mean |ρ| with the top {v.step} "
            f"block(s) random: {v.decision.describe()}; every block random: {v.final:.2f})"
        )
    print(
        f"wrote cascade.csv, independent.csv, cascade.png and curves.png for {len(session.images())} images × "
        f"{len(s.sanity.methods)} methods × {len(checks.order)} blocks × {s.sanity.seeds} seeds to {args.out}"
    )
    return 0
