"""``xaireport models``: the model names the report can explain (its four named models, every timm model and
every torchvision classifier)."""

from __future__ import annotations

import argparse

from xaireport.cli.options import command


def _configure_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("--filter", default="", help="only names containing TEXT (e.g. resnet, vit_, convnext)")


@command("models", "list the model names --model and classifier.model accept", _configure_models)
def _models(args: argparse.Namespace) -> int:
    from xaireport.models.registry import model_names, prefix_names, prefixes

    text = args.filter.strip()
    named = [n for n in model_names() if text in n]
    for n in named:
        print(n)
    total = len(named)
    for prefix in prefixes():
        listed = prefix_names(prefix, text)
        for n in listed:
            print(f"{prefix}:{n}")
        total += len(listed)
    print(f"# {total} models{f' matching {text!r}' if text else ''}; timm:<name>.<tag> picks a pretrained tag")
    return 0
