"""The home page's findings: a teaser figure (one image with its Grad-CAM, AblationCAM, ScoreCAM and LIME
explanations side by side) and one headline number per chapter, each computed by the render from the same cached
results the chapters show (the home page renders after them, so nothing is computed twice), each linking to the
section that shows it."""

from __future__ import annotations

from pathlib import Path

from xaireport.methods.cams import LABELS


def teaser_figure(report, path: Path) -> Path:
    """The first report image as the model sees it, then each CAM method's overlay and LIME's heatmap overlay."""
    from xaireport.outputs import overlay
    from xaireport.report import cam_methods, lime
    from xaireport.report.figures import image_grid, save_figure

    cam = cam_methods.run(report, with_faithfulness=False)[0]
    lime_run = lime.run(report)[0]
    views = [cam.crop] + [overlay(cam.crop, r.map) for r in cam.results.values()]
    views.append(overlay(cam.crop, lime_run.result.heatmap))
    labels = ["input"] + [LABELS[m] for m in cam.results] + ["LIME"]
    p = cam.prediction
    fig = image_grid([views], [f"{p.class_name} ({p.score:.2f})"], labels, size=2.2)
    return save_figure(fig, path)


def headlines(report) -> list[str]:
    """One markdown bullet per chapter with its headline number and a link to the section that shows it."""
    from xaireport.report import cam_methods, gradcam_vs_lime, network_dissection, sanity_checks

    s = report.settings
    out = []
    dis = network_dissection.prepare(report)
    if dis.ready and dis.final is not None and dis.null is not None:
        ours = dis.final.iloc[0]
        out.append(
            f"**Network dissection**: final-layer check, {ours['model']}: top-1 accuracy "
            f"{ours['top-1 accuracy']:.1%} of its output units labelled with their own class "
            "([chapter 1](chapters/network-dissection.qmd#sec-dissection-results))."
        )
    else:
        why = "disabled" if not dis.enabled else "its inputs are not available offline"
        link = "[chapter 1](chapters/network-dissection.qmd)"
        out.append(f"**Network dissection**: not run in this render ({why}; {link}).")
    runs = cam_methods.run(report)
    summary = cam_methods.faithfulness_summary(runs)
    verdict = cam_methods.ranking_verdict(summary)
    reliable = "a consistent difference" if verdict.reliable else "not a reliable difference"
    out.append(
        f"**CAM faithfulness**: by mean ROAD, {verdict.best['method']} is the most faithful "
        f"({verdict.best['ROAD']:.3f}) and {verdict.worst['method']} the least ({verdict.worst['ROAD']:.3f}); "
        f"on {len(runs)} images that is {reliable} ([chapter 2](chapters/cam-methods.qmd#sec-cams-faithfulness))."
    )
    ch = gradcam_vs_lime.prepare(report)
    out.append(
        f"**Grad-CAM vs LIME**: mean area-matched IoU {ch.mean_iou_area:.3f} against a chance level of "
        f"{ch.mean_strict_chance:.3f} ({ch.ratio:.1f}× chance), above chance on {ch.above_chance} of "
        f"{len(ch.pairs)} images ([chapter 4](chapters/gradcam-vs-lime.qmd#sec-compare-results))."
    )
    run = sanity_checks.run(report)
    verdicts = sanity_checks.verdicts(run, s.sanity.threshold, s.sanity.within_blocks)
    passing = [sanity_checks.LABELS[v.method] for v in verdicts if v.passes]
    failing = [sanity_checks.LABELS[v.method] for v in verdicts if not v.passes]
    out.append(
        f"**Sanity checks**: {', '.join(passing) or 'no method'} pass{'es' if len(passing) == 1 else ''} the "
        f"model-randomization test, {', '.join(failing) or 'none'} fail{'s' if len(failing) == 1 else ''} "
        f"(threshold {s.sanity.threshold}, within {s.sanity.within_blocks} blocks; "
        "[chapter 5](chapters/sanity-checks.qmd#sec-sanity-results))."
    )
    return [f"- {line}" for line in out]
