"""Where to explain a network: its target layer, the head above it, and the reshape of a transformer's tokens.

**Target layer** (the module whose output the CAMs weight), unless the setting ``classifier.target_layer`` names one:

* timm CNNs: the module that produces ``forward_features``' output (the input of ``forward_head``), the
  outermost one that is not an ``Identity``: ``layer4`` (ResNet), ``stages`` (ConvNeXt), ``bn2`` (EfficientNet),
  ``blocks`` (MobileNetV3), ``s4`` (RegNet), ``features`` (DenseNet).
* torchvision CNNs: the last module, in execution order, whose output is a 4-D feature map larger than 1×1 and
  that is not an adaptive (global) pooling layer; the outermost of the modules giving that same tensor:
  ``layer4`` (ResNet), ``features`` (VGG, DenseNet, MobileNet, EfficientNet, ConvNeXt), ``trunk_output`` (RegNet).
* Vision transformers, as ``grad-cam``'s documentation does: the first LayerNorm of the last block
  (timm ViT/DeiT ``blocks.-1.norm1``, torchvision ViT ``encoder.layers.-1.ln_1``, Swin ``…blocks.-1.norm1``),
  with a ``reshape_transform``: ViT tokens → drop the class (and distillation/register) tokens → grid → N×C×H×W;
  Swin's N×H×W×C → N×C×H×W.

**Head** (the part above the target layer, for the fast AblationCAM): timm's ``forward_head`` when the target
layer gives ``forward_features``' output; otherwise the part of the ``torch.fx`` graph after the target layer,
when nothing after it reads anything computed before it. Either is checked against the full model's logits on a
random input when the model is loaded (:func:`split`); a network that cannot be split (transformers: the block's
residual reads the block's input) has no head, and AblationCAM falls back to the ``grad-cam`` package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from xaireport.core.errors import UserError

Reshape = Callable[[torch.Tensor], torch.Tensor]


def example_input(model: nn.Module, size: int) -> torch.Tensor:
    """A seeded random 1×3×size×size batch on the model's device (shape probing and the head check)."""
    g = torch.Generator().manual_seed(0)
    device = next(model.parameters()).device
    return torch.randn(1, 3, size, size, generator=g).to(device)


def _outputs_in_order(model: nn.Module, run: Callable[[], Any]) -> list[tuple[str, nn.Module, Any]]:
    """(name, module, output) of every submodule, in the order the modules finish during ``run()``."""
    seen: list[tuple[str, nn.Module, Any]] = []
    hooks = [
        m.register_forward_hook(lambda mod, _i, out, n=n: seen.append((n, mod, out)))
        for n, m in model.named_modules()
        if n
    ]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in hooks:
            h.remove()
    return seen


def _outermost(seen: list[tuple[str, nn.Module, Any]], out: torch.Tensor) -> str | None:
    """The last-finishing (outermost) non-Identity module whose output is the tensor ``out`` itself."""
    names = [n for n, m, o in seen if o is out and not isinstance(m, nn.Identity)]
    return names[-1] if names else None


def transformer_kind(model: nn.Module) -> str | None:
    """``vit`` (tokens with prefix tokens), ``swin`` (N×H×W×C) or ``None`` for a CNN."""
    cls = type(model).__name__
    if "Swin" in cls:
        return "swin"
    if cls in {"VisionTransformer", "VisionTransformerDistilled", "Eva", "Beit", "Deit"}:
        return "vit"
    return None


def _transformer_layer(model: Any) -> str:
    names = [n for n, _ in model.named_modules()]
    wanted = ("norm1", "ln_1")
    candidates = [n for n in names if n.rsplit(".", 1)[-1] in wanted]
    if not candidates:
        raise UserError(f"{type(model).__name__}: no block LayerNorm found: set classifier.target_layer")
    return candidates[-1]


def reshape_for(model: Any, kind: str | None, size: int) -> Reshape | None:
    """The ``reshape_transform`` for a transformer's target layer (``None`` for CNNs)."""
    if kind == "swin":
        return nhwc_to_nchw
    if kind == "vit":
        if hasattr(model, "patch_embed"):  # timm
            prefix = int(getattr(model, "num_prefix_tokens", 1))
            h, w = (int(v) for v in model.patch_embed.grid_size)
        else:  # torchvision: one class token, image_size // patch_size patches a side
            prefix, h = 1, size // int(model.patch_size)
            w = h
        return TokensToGrid(prefix, h, w)
    return None


class TokensToGrid:
    """ViT tokens N×(P+H·W)×C → drop the ``P`` prefix tokens → N×C×H×W (``grad-cam``'s ``reshape_transform``)."""

    def __init__(self, prefix: int, height: int, width: int):
        self.prefix, self.height, self.width = prefix, height, width

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        t = tokens[:, self.prefix :, :]
        return t.reshape(t.size(0), self.height, self.width, t.size(2)).permute(0, 3, 1, 2)

    def __repr__(self) -> str:
        return f"tokens → drop {self.prefix} prefix token(s) → {self.height}×{self.width} grid"


def nhwc_to_nchw(t: torch.Tensor) -> torch.Tensor:
    """Swin's N×H×W×C feature map → N×C×H×W."""
    return t.permute(0, 3, 1, 2)


def find_target_layer(model: nn.Module, size: int) -> str:
    """The dotted name of the default target layer (rules in the module docstring)."""
    kind = transformer_kind(model)
    if kind is not None:
        return _transformer_layer(model)
    x = example_input(model, size)
    m: Any = model
    if hasattr(m, "forward_features") and hasattr(m, "forward_head"):  # timm
        box: dict[str, torch.Tensor] = {}
        seen = _outputs_in_order(model, lambda: box.setdefault("out", m.forward_features(x)))
        out = box["out"]
        name = _outermost(seen, out) if out.dim() == 4 else None
        if name:
            return name
        info = getattr(m, "feature_info", None)
        if info:
            return str(info[-1]["module"])
    seen = _outputs_in_order(model, lambda: model(x))
    pools = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    maps = [
        o
        for _n, mod, o in seen
        if isinstance(o, torch.Tensor) and o.dim() == 4 and o.shape[-1] * o.shape[-2] > 1 and not isinstance(mod, pools)
    ]
    if not maps:
        raise UserError(f"{type(model).__name__}: no 4-D feature map found: set classifier.target_layer")
    return _outermost(seen, maps[-1]) or ""


def check_layer_name(model: nn.Module, name: str) -> None:
    """Raises :class:`UserError` listing close names when ``name`` is not a submodule of ``model``."""
    names = [n for n, _ in model.named_modules() if n]
    if name not in names:
        import difflib

        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        hint = f"; close names: {', '.join(close)}" if close else f"; e.g. {', '.join(names[-5:])}"
        raise UserError(f"target layer {name!r} is not a module of {type(model).__name__}{hint}")


class _LeafTracer(torch.fx.Tracer):
    """An fx tracer that keeps the target layer as one call (so the graph can be cut at its output)."""

    def __init__(self, leaf: str):
        super().__init__()
        self.leaf = leaf

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return qualname == self.leaf or super().is_leaf_module(m, qualname)


def fx_head(model: nn.Module, layer: str) -> nn.Module | None:
    """The part of ``model``'s fx graph after the output of ``layer``, as a module taking that output; ``None``
    when fx cannot trace the model or something after the layer reads a value computed before it."""
    from torch import fx

    try:
        graph = _LeafTracer(layer).trace(model)
    except Exception:  # noqa: BLE001 - fx raises many types for untraceable models
        return None
    calls = [n for n in graph.nodes if n.op == "call_module" and n.target == layer]
    if len(calls) != 1:
        return None
    cut = calls[0]
    output = next(n for n in graph.nodes if n.op == "output")
    needed: set[fx.Node] = set()
    stack = [output]
    while stack:  # everything the output needs, stopping at the cut
        node = stack.pop()
        if node in needed or node is cut:
            continue
        if node.op == "placeholder":
            return None  # the head would read the network's input
        needed.add(node)
        stack.extend(node.all_input_nodes)
    order = {n: i for i, n in enumerate(graph.nodes)}
    if any(order[n] < order[cut] and n.op != "get_attr" for n in needed):
        return None  # reads something computed before the cut (a skip connection around it)
    head = fx.Graph()
    env: dict[fx.Node, fx.Node] = {cut: head.placeholder("activations")}
    for node in graph.nodes:
        if node in needed:
            env[node] = head.node_copy(node, lambda n: env[n])
    module = fx.GraphModule(model, head)
    module.eval()
    return module


def split(model: nn.Module, layer: str, size: int) -> tuple[Callable, Callable | None]:
    """``(features, head)`` at ``layer``: ``features(x)`` runs the model up to the layer (a hook; the rest of
    the pass is skipped); ``head(a)`` is timm's ``forward_head`` or the fx graph after the layer, kept only when
    ``head(features(x))`` equals ``model(x)`` on a random input (``None`` otherwise)."""
    target = model.get_submodule(layer)
    features = FeaturesUpTo(model, target)
    m: Any = model
    candidates: list[Callable] = []
    if hasattr(m, "forward_features") and hasattr(m, "forward_head"):
        candidates.append(m.forward_head)
    fx_module = fx_head(model, layer)
    if fx_module is not None:
        candidates.append(fx_module)
    x = example_input(model, size)
    with torch.no_grad():
        expected = model(x)
        try:
            a = features(x)
        except Exception:  # noqa: BLE001 - the layer's output is not a tensor (tuples, dicts)
            return features, None
        for head in candidates:
            if heads_agree(head, a, expected):
                return features, head
    return features, None


def heads_agree(head: Callable, activations: torch.Tensor, expected: torch.Tensor) -> bool:
    """Whether ``head(activations)`` gives the full model's logits ``expected`` (rtol 1e-4, atol 1e-4 of
    their scale)."""
    try:
        got = head(activations)
    except Exception:  # noqa: BLE001 - a head that fails on the layer's output is no head
        return False
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    scale = float(expected.abs().max()) or 1.0
    return bool(torch.allclose(got, expected, rtol=1e-4, atol=1e-4 * scale))


def splitter(layer: str, size: int) -> Callable[[nn.Module], tuple[Callable, Callable | None]]:
    """``model -> split(model, layer, size)``: the ``Classifier.split`` of a classifier explained at ``layer``."""

    def parts(model: nn.Module) -> tuple[Callable, Callable | None]:
        return split(model, layer, size)

    return parts


class _Stop(Exception):
    pass


class FeaturesUpTo:
    """``x`` → the output of ``target`` in ``model(x)``; the pass stops there."""

    def __init__(self, model: nn.Module, target: nn.Module):
        self.model, self.target = model, target

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        box: list[torch.Tensor] = []

        def grab(_m: nn.Module, _i: Any, out: Any) -> None:
            box.append(out.clone() if isinstance(out, torch.Tensor) else out)
            raise _Stop

        handle = self.target.register_forward_hook(grab)
        try:
            self.model(x)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not box or not isinstance(box[0], torch.Tensor):
            raise ValueError("the target layer did not produce a tensor")
        return box[0]
