"""Faithfulness scores of a map (ROAD and the probability drop, :func:`xaireport.methods.faithfulness.scores`),
cached by the map's bytes, the classifier, the image and the settings."""

from __future__ import annotations

from xaireport.core.cache import ResultCache, make_key
from xaireport.images import LoadedImage
from xaireport.methods.explanations import Explanation
from xaireport.models.description import real
from xaireport.results.keys import AnyClassifier, map_digest, model_parts


def faithfulness_key(
    classifier: AnyClassifier,
    image: LoadedImage,
    result: Explanation,
    percentiles: list[int],
    remove_fraction: float,
    seed: int,
) -> str:
    return make_key(
        code=__name__,
        kind="faithfulness",
        **model_parts(classifier),
        image=image.digest,
        map=map_digest(result.map),
        cls=result.class_index,
        percentiles=percentiles,
        remove_fraction=remove_fraction,
        seed=seed,
    )


def cached_faithfulness(
    cache: ResultCache,
    classifier: AnyClassifier,
    image: LoadedImage,
    result: Explanation,
    percentiles: list[int],
    remove_fraction: float,
    seed: int,
) -> dict[str, float]:
    """:func:`xaireport.methods.faithfulness.scores` of one map (``result.map``, for ``result.class_index``)."""
    key = faithfulness_key(classifier, image, result, percentiles, remove_fraction, seed)

    def compute():
        from xaireport.methods import faithfulness

        s = faithfulness.scores(
            real(classifier),
            classifier.crop(image.array),
            result.map,
            result.class_index,
            percentiles=percentiles,
            remove_fraction=remove_fraction,
            seed=seed,
        )
        return {}, s

    return cache.get_or_compute("faithfulness", key, compute)[1]
