"""``xaireport sanity``: model-parameter randomization checks for a folder of images (chapter 5's computation and
verdicts: :mod:`xaireport.results.sanity`)."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, prepare, session_with_methods


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
    overrides = {"sanity.lime_num_samples": args.lime_num_samples, "sanity.seeds": args.seeds}
    session = session_with_methods(
        args, "sanity.methods", overrides={k: v for k, v in overrides.items() if v is not None}
    )
    clf = prepare(args, session, out=args.out)
    from xaireport.methods.sanity import blocks
    from xaireport.report import sanity_checks  # figures and CSVs only (issue 35 moves them below report/)
    from xaireport.results.sanity import run, verdicts

    blocks(clf)  # an architecture without a known cascade order fails before any work
    s = session.settings
    checks = run(session, images=session.images())
    args.out.mkdir(parents=True, exist_ok=True)
    written = sanity_checks.save_all(checks, args.out)
    sanity_checks.cascade_figure(checks, s.display.outlier_percent, args.out / "cascade.png")
    sanity_checks.curve_figure(checks, args.out / "curves.png")
    for v in verdicts(checks, s.sanity):
        outcome = v.outcome if v.outcome != "undecided" else v.decision.undecided_reason()
        print(
            f"{sanity_checks.label(v.method)}: {outcome} (top {v.step} block(s) random; ρ with its own trained map "
            f"{v.matched:.2f}, null {v.reference:.2f}; difference (z) {v.decision.describe()}, margin {v.margin:g}; "
            f"detects a residual ρ of {v.detectable:.2f} with 80% power)"
        )
    files = ", ".join(p.name for p in written.values())
    print(
        f"wrote {files}, cascade.png and curves.png for {len(session.images())} images × "
        f"{len(s.sanity.methods)} methods × {s.sanity.seeds} seeds to {args.out}"
    )
    return 0
