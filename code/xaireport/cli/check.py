"""``xaireport check``: validate settings, images and model, and print what a render would use."""

from __future__ import annotations

import argparse

from xaireport.cli.options import add_common, command, prepare, session_from


def describe_head(clf) -> str:
    """What AblationCAM evaluates above the target layer, in words."""
    if clf.head is None:
        return "none (the network cannot be cut there): AblationCAM runs the grad-cam package's full re-runs"
    from torch import fx

    if isinstance(clf.head, fx.GraphModule):
        kind = f"fx graph after the layer: {' → '.join(graph_steps(clf.head))}"
    else:
        kind = getattr(clf.head, "__name__", type(clf.head).__name__)
    return f"{kind} (checked: equals the model's logits on a random input)"


def graph_steps(graph_module) -> list[str]:
    """The top-level modules and functions an fx graph runs, in order: ``layer4 → global_pool → fc`` (functions
    inside a module, such as a block's residual ``add``, are not listed)."""
    raw = []
    for n in graph_module.graph.nodes:
        if n.op == "call_module":
            raw.append((True, str(n.target).split(".")[0]))
        elif n.op in ("call_function", "call_method"):
            raw.append((False, getattr(n.target, "__name__", str(n.target))))
    steps: list[str] = []
    for i, (is_module, name) in enumerate(raw):
        if not is_module:
            before = next((m for mod, m in reversed(raw[:i]) if mod), None)
            after = next((m for mod, m in raw[i + 1 :] if mod), None)
            if before is not None and before == after:
                continue
        if not steps or steps[-1] != name:
            steps.append(name)
    return steps


def _configure_check(p: argparse.ArgumentParser) -> None:
    add_common(p, out=False)


@command("check", "validate settings, images and model; print what a render would use", _configure_check)
def _check(args: argparse.Namespace) -> int:
    from xaireport.core import progress

    session = session_from(args)
    clf = prepare(args, session)
    settings, imgs = session.settings, session.images()
    print(f"project   {settings.project_dir}  (profile: {settings.profile_name})")
    print(f"model     {clf.name} on {clf.device}  (weights sha256 {clf.weights_id[:12]})")
    print(f"classes   {len(clf.categories)} ({clf.label_set}): {', '.join(clf.categories[:3])}, …")
    print(f"layer     {clf.target_layer_name}  ({type(clf.target_layer).__name__}; the CAMs' target layer)")
    if clf.reshape_transform is not None:
        print(f"reshape   {clf.reshape_transform!r}")
    print(f"head      {describe_head(clf)}")
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
