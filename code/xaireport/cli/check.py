"""``xaireport check``: validate settings, images and model, and print what a render would use."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, load_inputs, settings_from


def _configure_check(p: argparse.ArgumentParser) -> None:
    add_common(p, out=False)


@command("check", "validate settings, images and model; print what a render would use", _configure_check)
def _check(args: argparse.Namespace) -> int:
    from xaireport.core import progress

    settings = settings_from(args)
    imgs, clf = load_inputs(args, settings)
    print(f"project   {settings.project_dir}  (profile: {settings.profile_name})")
    print(f"model     {clf.name} on {clf.device}  (weights sha256 {clf.weights_id[:12]})")
    print(
        f"input     shorter side → {clf.resize_to} ({clf.interpolation}), centre crop {clf.crop_size}, "
        f"mean {clf.mean}, std {clf.std}"
    )
    for im in progress.bar(imgs, desc="predicting", unit="image"):
        probs = clf.probabilities(im.array)
        top = int(probs.argmax())
        print(
            f"image     {im.name:24s} {im.array.shape[1]}x{im.array.shape[0]}  "
            f"→ {clf.categories[top]} ({probs[top]:.3f})",
            flush=True,
        )
    return 0
