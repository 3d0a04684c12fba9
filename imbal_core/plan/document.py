"""The plan to download: JSON (complete, with its inputs), CSV per class, per-image weights
(CSV / Parquet) and a one-page Markdown summary with the metrics to track and a stop rule."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import __version__
from ..downloads import csv_bytes, json_bytes, parquet_bytes
from .epochs import EpochQuotas, epoch_quotas
from .policy import DEFAULT_TIERS, AugmentationPolicy, augmentation_policy
from .reach import TOLERANCE
from .solver import ClassPlan
from .weights import ImageWeights

if TYPE_CHECKING:
    from ..dataset import Dataset

#: Oversampled this much or more (or capped), a class is "rare" for the metrics to track.
RARE_MULTIPLIER = 1.5


@dataclass(frozen=True)
class PlanDocument:
    """Everything a plan download holds. ``weights``: the fitted per-image weights, ``alternative``:
    LVIS repeat factors (both optional: counts given directly have no images)."""

    plan: ClassPlan
    policy: AugmentationPolicy
    quotas: EpochQuotas
    weights: ImageWeights | None = None
    alternative: ImageWeights | None = None
    critical: tuple[str, ...] = ()

    @property
    def rare_classes(self) -> list[str]:
        """The critical classes if any were flagged, else those oversampled 1.5x or more or capped."""
        if self.critical:
            return [c for c in self.plan.classes if c in self.critical]
        m = self.plan.multipliers
        return [c for c, x, cap in zip(self.plan.classes, m, self.plan.capped) if cap or (x >= RARE_MULTIPLIER)]

    @property
    def undersampled_classes(self) -> list[str]:
        return [c for c, x in zip(self.plan.classes, self.plan.multipliers) if x < 1]

    def metrics_to_track(self) -> list[str]:
        detection = self.plan.source is not None and self.plan.source.multi_label
        rare = _list(self.rare_classes) or "the smallest classes"
        lines = [
            "per-class recall on the validation split, every class, the rare ones first: " + rare,
            ("mean AP over classes (macro), not only the overall score" if detection
             else "macro F1 (every class weighs the same), not only accuracy"),
            f"PR AUC (average precision) of the rare classes: {rare}",
        ]
        if self.undersampled_classes:
            lines.append("precision and recall of the undersampled classes, to catch what they lose: "
                         + _list(self.undersampled_classes))
        return lines

    def stop_rule(self) -> str:
        macro = "macro mAP" if self.plan.source is not None and self.plan.source.multi_label else "macro F1"
        return (
            "Train once without rebalancing and once with this plan (same seed, schedule and validation split). "
            f"Keep the plan if the rare classes' recall rises and {macro} does not fall. Raise the cap one step at "
            "a time; stop when a step gains less than 1 point of rare-class PR AUC, when an undersampled class "
            "loses more than 2 points of recall or precision, or when the oversampled classes' train-validation "
            "gap widens (the model is memorising the repeats): then keep the previous step.")

    def to_dict(self) -> dict[str, Any]:
        """The complete plan as JSON-ready data, with the inputs that produced it."""
        plan = self.plan
        per_image = {}
        if self.weights is not None:
            per_image["fitted"] = self.weights.to_dict()
        if self.alternative is not None:
            per_image["repeat_factor"] = self.alternative.to_dict()
        return {
            "kind": "imbal rebalancing plan",
            "imbal_version": __version__,
            "inputs": {**plan.spec.to_dict(), "budget_resolved": plan.budget, "source": plan.source.to_dict() if plan.source else {"counts": "given"},
                       "counts": {c: int(n) for c, n in zip(plan.classes, plan.counts)}},
            "plan": plan.to_dict(),
            "augmentation": self.policy.to_dict(),
            "epoch_quotas": self.quotas.to_dict(),
            "per_image": per_image or None,
            "metrics_to_track": self.metrics_to_track(),
            "stop_rule": self.stop_rule(),
        }

    def json_bytes(self) -> bytes:
        return json_bytes(self.to_dict())

    def class_table(self) -> pa.Table:
        """One row per class: the plan, the augmentation tier and (with weights) the achieved counts."""
        table = self.plan.to_arrow().append_column("augmentation", pa.array(self.policy.assigned, pa.string()))
        for label, w in (("achieved_fitted", self.weights), ("achieved_repeat_factor", self.alternative)):
            if w is not None:
                table = table.append_column(label, pa.array(np.round(w.achieved, 1), pa.float64()))
        return table

    def csv_bytes(self) -> bytes:
        return csv_bytes(self.class_table())

    def markdown(self) -> str:
        return _markdown(self)


def build_document(plan: ClassPlan, *, weights: ImageWeights | None = None, alternative: ImageWeights | None = None,
                   epochs: int = 10, seed: int = 0, tiers: Iterable[Any] = DEFAULT_TIERS,
                   critical: Sequence[str] = ()) -> PlanDocument:
    """Bundle a plan with its augmentation policy, ``epochs`` of quotas (seeded) and optional weights."""
    unknown = sorted(set(critical) - set(plan.classes))
    if unknown:
        raise ValueError(f"`critical` names classes the plan does not have: {unknown}.")
    return PlanDocument(plan, augmentation_policy(plan, tiers), epoch_quotas(plan, epochs, seed), weights, alternative,
                        tuple(critical))


def weights_table(weights: ImageWeights, dataset: "Dataset | None" = None,
                  policy: AugmentationPolicy | None = None) -> pa.Table:
    """The per-image download: image_id, file_name, split, weight, expected_repeats (, augmentation)."""
    return weights.to_arrow(dataset, policy)


def weights_csv(weights: ImageWeights, dataset: "Dataset | None" = None, policy: AugmentationPolicy | None = None) -> bytes:
    return csv_bytes(weights_table(weights, dataset, policy))


def weights_parquet(weights: ImageWeights, dataset: "Dataset | None" = None,
                    policy: AugmentationPolicy | None = None) -> bytes:
    return parquet_bytes(weights_table(weights, dataset, policy))


# --------------------------------------------------------------------------- Markdown


def _list(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _x(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.2f}x"


def _markdown(doc: PlanDocument) -> str:
    plan, spec = doc.plan, doc.plan.spec
    src = plan.source
    where = (f"{', '.join(s.rsplit('/', 1)[-1] for s in src.dataset)} — split {src.split}, {src.images:,} images"
             if src else "counts given directly")
    out = [f"# Rebalancing plan: {spec.strategy}, cap {spec.cap:g}x, budget {plan.budget:,}", "",
           f"Source: {where}; counted in {spec.unit}; floor {spec.floor:g}. "
           f"Planned {plan.total_effective:,} samples per epoch; imbalance {_ratio(plan.imbalance_ratio_before)} before, "
           f"{_ratio(plan.imbalance_ratio_after)} after.", "",
           "| class | count | target | planned | multiplier | bound | augmentation |",
           "| --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for c, n, t, e, m, cap, flo, tier in zip(plan.classes, plan.counts, plan.targets, plan.effective, plan.multipliers,
                                             plan.capped, plan.floored, doc.policy.assigned):
        bound = "cap" if cap else "floor" if flo else ""
        out.append(f"| {_cell(c)} | {n:,} | {t:,} | {e:,} | {_x(m)} | {bound} | {tier} |")
    out += ["", f"**Capped at {spec.cap:g}x:** {_list(plan.capped_classes) or 'none'}."]
    if plan.warnings:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in plan.warnings]
    if doc.weights is not None:
        out += ["", "## Per-image weights", ""] + _weights_lines(doc)
    out += ["", "## Augmentation", ""]
    for tier in doc.policy.tiers:
        members = doc.policy.classes_in(tier.name)
        if members:
            out.append(f"- **{tier.name}** (from {tier.min_multiplier:g}x: {_list(members)}): "
                       + ("; ".join(tier.augmentations) or "nothing added"))
    cover = doc.quotas.epochs_to_cover()
    slow = [(c, int(k)) for c, k in zip(plan.classes, cover) if k > 1]
    out += ["", f"Epoch quotas ({doc.quotas.epochs} epochs, seed {doc.quotas.seed}): every epoch draws exactly the "
            "planned count of each class; items are drawn once before any is drawn again"
            + (": " + ", ".join(f"{c} is fully seen after {k} epochs" for c, k in slow[:6]) + "." if slow else ".")]
    out += ["", "## Metrics to track", ""] + [f"- {line}" for line in doc.metrics_to_track()]
    out += ["", "## Stop rule", "", doc.stop_rule(), ""]
    return "\n".join(out)


def _ratio(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:,.1f}:1"


def _weights_lines(doc: PlanDocument) -> list[str]:
    lines = []
    for label, w in (("Fitted weights", doc.weights), ("LVIS repeat factors", doc.alternative)):
        if w is None:
            continue
        within = int(w.within().sum())
        lines.append(f"- {label}: {within} of {len(w.classes)} classes within {TOLERANCE:.0%} of their planned count "
                     f"(worst miss {w.worst_error:.0%}); {w.epoch_images:,} images per epoch.")
    w = doc.weights
    if w is not None and w.best_worst_error is not None and w.best_worst_error > TOLERANCE:
        lines.append(f"- No per-image weights within [{w.floor:g}, {w.cap:g}] can meet every target: the best possible "
                     f"worst miss is {w.best_worst_error:.0%} (images hold several classes).")
    lines.append(f"- Use the weights file with `WeightedRandomSampler(weights, num_samples={w.epoch_images if w else 0}, "
                 "replacement=True)`.")
    return lines


def markdown_table(text: str) -> pd.DataFrame:
    """The class table of a plan's Markdown, read back (for checks and round trips)."""
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    cells = [[c.strip().replace("\\|", "|") for c in _split_row(r)] for r in rows]
    return pd.DataFrame(cells[1:], columns=cells[0])


def _split_row(row: str) -> list[str]:
    parts, current, escaped = [], "", False
    for ch in row.strip()[1:-1]:
        if ch == "|" and not escaped:
            parts.append(current)
            current = ""
        else:
            current += ch
        escaped = ch == "\\"
    parts.append(current)
    return parts
