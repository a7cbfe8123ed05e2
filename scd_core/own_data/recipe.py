"""The recipe ``scd train`` follows when the analyst says nothing: a small labelled set, a laptop CPU,
under an hour, nothing to tune.

* **Model**: FC-Siam-diff (Daudt et al., ICIP 2018), the model that set the baseline on OSCD, whose
  siamese encoder compares the dates at every scale; with semantic labels its land-cover heads learn
  too. Its encoder is EfficientNet-Lite0 with ImageNet weights when ``scd-core[pretrained]`` is
  installed: a few labelled areas cannot teach an encoder what edges, textures and roofs look like,
  and ImageNet's features carry over to overhead imagery far better than random ones. Without the
  package, the residual encoder from scratch.
* **Chips**: 512 random 128² chips an epoch, half centred on a changed pixel (:mod:`.chips`), with
  flips, quarter turns, the dates swapped half the time, and each date's bands jittered in gain and
  offset (two dates of a place differ in sun, haze and season over the whole scene, which is not
  change; on OSCD its effect is within a run's variation: held-out F1 0.187 → 0.208 on fold 1, where
  pisa's July-February pair went 0.056 → 0.153, and 0.401 → 0.373 on fold 2); 30 epochs; batch 8.
* **Optimiser**: AdamW at 5·10⁻⁴ with weight decay 10⁻⁴, decayed to 0 by the poly schedule (power
  0.9): Adam's per-weight steps suit a pretrained encoder under a fresh decoder without a warm-up
  search, and the decay lets the last epochs settle.
* **Inference**: tiles of 512 pixels in ``scd detect`` (the model is fully convolutional; larger tiles
  give it more context and fewer seams), and τ chosen on the validation split for the best F1 of
  change (:mod:`scd_core.trainer.calibration`): the chips over-sample change, so 0.5 would not do.

Fine-tuning (``--init``) keeps the base checkpoint's model, encoder, bands and normalisation.
"""

from __future__ import annotations

from typing import Any

from scd_core.errors import InvalidOptionError

DEFAULT_MODEL = "fc_siam_diff"
PRETRAINED_ENCODER = "efficientnet_lite0"
FALLBACK_ENCODER = "residual"
TILE_SIZE = 512
OPTIMISER = {"optimizer": "adamw", "weight_decay": 1e-4, "schedule": "poly", "poly_power": 0.9}


def pretrained_installed() -> bool:
    """Whether the ImageNet weights of EfficientNet-Lite0 are installed (``scd-core[pretrained]``)."""
    from scd_core.models.pretrained import pretrained_available

    return pretrained_available()


def encoder_choice(model: str, encoder: str | None, weights: str | None) -> tuple[str | None, str | None]:
    """``model``'s encoder and its pretrained weights: the analyst's, else the recipe's (see the
    docstring); (None, None) for a model that takes no encoder. ``weights`` ``none`` trains from scratch."""
    from scd_core.models import spec

    offered = spec(model).encoders
    if not offered:
        if encoder is not None or weights not in (None, "none"):
            raise InvalidOptionError(f"--encoder and --encoder-weights: {model} has no encoder to choose")
        return None, None
    if encoder is not None and encoder not in offered:
        raise InvalidOptionError(f"--encoder: {model} takes {', '.join(offered)}, not {encoder!r}")
    if weights == "none":
        return encoder or FALLBACK_ENCODER, None
    if weights is not None and weights != "imagenet" and encoder is None:
        raise InvalidOptionError("--encoder-weights PATH: say whose weights they are with --encoder (e.g. resnet34)")
    if encoder is None and PRETRAINED_ENCODER in offered and (weights == "imagenet" or pretrained_installed()):
        return PRETRAINED_ENCODER, "imagenet"
    if weights is None and encoder == PRETRAINED_ENCODER and pretrained_installed():
        return encoder, "imagenet"
    return encoder or FALLBACK_ENCODER, weights


def recipe(**settings: Any) -> dict[str, Any]:
    """The recipe's training settings, with the analyst's ``settings`` over them."""
    return {
        **OPTIMISER,
        "tile_size": TILE_SIZE,
        "flip": False,
        "scale_range": None,
        "calibrate_threshold": True,
        **settings,
    }
