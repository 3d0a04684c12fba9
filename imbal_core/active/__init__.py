"""Active-learning selection: which unlabelled images to label next, filling the per-class quotas.

Input: a model's predictions on an unlabelled pool, read by :func:`imbal_core.io.predictions.read_predictions`
(COCO results JSON, YOLO txt, or a classification CSV with ``score_<class>`` columns), optionally
matched to an export that lists the pool's images (for file names, groups and conditions).

Uncertainty per image (``rule``), higher = more informative:

- ``least-confidence``: 1 - p_max; ``margin``: 1 - (p_max - p_second); ``entropy``: -sum p log p,
  divided by the log of the number of outcomes (so 0..1).
- Classification: ``p`` is the image's score vector (normalised to sum to 1).
- Detection: boxes of one image are grouped into objects: taken highest score first, each box
  joins the earlier box (of any class) it overlaps most with IoU >= ``iou`` (0.5), transitively;
  a box overlapping none starts an object. An object's ``p`` is,
  per class, the best score of its boxes, plus background = 1 - their sum (all rescaled when the
  sum exceeds 1): a lone box of score s is (s, 1 - s); a box read as Wheelchair 0.45 and Person
  0.40 is (0.45, 0.40, 0.15) and very uncertain. Entropy is normalised by log(classes + 1). The
  image takes the ``aggregate`` (max, the default; mean; sum) over its objects. An image without
  predictions scores 0.

An image is *predicted to hold* a class when the class's probability in one of its objects (or
its score, for classification) is at least ``class_threshold`` (0.3); for classification the
top class always counts.

Selection of ``n`` images (:func:`select_batch`):

1. ``score`` = uncertainty x (1 + ``boost``) for images predicted to hold a quota class that is
   still short of its target, else the uncertainty.
2. With quotas, the ``n`` slots are shared among the short classes in proportion to what each
   still needs (largest remainders), never more slots than a class still needs. A class gets no
   more than its share unless others run out of candidates: then their unused slots are shared
   among the rest in the same proportion (within what each needs). Each class fills its slots
   with its highest-scoring candidates; slots no class can fill go to the most uncertain
   remaining images. Without quotas, the ``n`` highest scores are taken.
3. Diversity: at most ``max_per_group`` images per group (``group`` column: the export's
   sequence / video / site, or any condition), default ceil(n / 20), so a batch does not take
   500 frames of one night drive.
4. Ties are broken by a random order drawn from ``seed``: the same inputs give the same batch.

Modules: :mod:`.scoring` (the rules), :mod:`.objects` (boxes grouped into objects),
:mod:`.pool` (:func:`build_pool`), :mod:`.selection` (:func:`select_batch`).
"""
from .objects import PAIR_BLOCK, _group_objects, _object_uncertainty, _objects, _Objects
from .pool import Pool, _class_index, _classification_rows, _detection_rows, _normalised, _with_metadata, build_pool
from .scoring import AGGREGATES, RULES, Aggregate, Rule, uncertainty
from .summary import BatchSummary, quota_needs, summarize_batch
from .selection import GROUP_SHARE, Selection, _selection, resolve_group, select_batch

__all__ = [
    "AGGREGATES", "GROUP_SHARE", "PAIR_BLOCK", "RULES", "Aggregate", "BatchSummary", "Pool", "Rule", "Selection",
    "build_pool", "quota_needs", "summarize_batch",
    "resolve_group", "select_batch", "uncertainty",
]
