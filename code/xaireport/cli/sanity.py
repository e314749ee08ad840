"""``xaireport sanity``: model-parameter randomization checks (cascading and independent) for a folder of images."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, load_inputs, parse_methods, settings_from


def _configure(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated: gradcam,ablationcam,scorecam,lime (default: the sanity.methods setting)",
    )
    p.add_argument(
        "--lime-num-samples",
        type=int,
        default=None,
        help="LIME samples per explanation (default: sanity.lime_num_samples)",
    )


@command(
    "sanity",
    "model-parameter randomization: how much each method's maps change as the model's weights are randomized",
    _configure,
)
def _sanity(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {}
    if args.methods is not None:
        overrides["sanity.methods"] = parse_methods(args.methods, [], extra=("lime",))
    if args.lime_num_samples is not None:
        overrides["sanity.lime_num_samples"] = args.lime_num_samples
    settings = settings_from(args, overrides)
    methods = list(settings["sanity.methods"])
    imgs, clf = load_inputs(args, settings, out=args.out)
    from xaireport.core.cache import ResultCache
    from xaireport.methods.sanity import blocks
    from xaireport.report import sanity_checks

    blocks(clf)  # an architecture without a known cascade order fails before any work
    run = sanity_checks.run_checks(clf, imgs, methods, ResultCache(settings.required_path("paths.cache")), settings)
    args.out.mkdir(parents=True, exist_ok=True)
    sanity_checks.save_all(run, args.out)
    sanity_checks.cascade_figure(run, args.out / "cascade.png")
    sanity_checks.curve_figure(run, args.out / "curves.png")
    for v in sanity_checks.verdicts(run, settings["sanity.threshold"], settings["sanity.within_blocks"]):
        print(v.sentence(settings["sanity.threshold"], settings["sanity.within_blocks"]).replace("**", ""))
    print(
        f"wrote cascade.csv, independent.csv, cascade.png and curves.png for {len(imgs)} images × {len(methods)} "
        f"methods × {len(run.order)} blocks to {args.out}"
    )
    return 0
