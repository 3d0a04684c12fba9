"""The label hierarchy: parents of classes, roll-up, merge suggestions, what-if and merged exports.

Parents come from the export's ``supercategory`` (COCO, LVIS, TACO) or from a user mapping: a
CSV with ``child,parent`` rows or a YAML ``{child: parent}`` / ``{parent: [children]}``.

**Merging** a class into its parent relabels its annotations. The parent receives them: when a
class has the parent's name (ignoring case, as COCO's ``person`` / ``person``), that class;
otherwise a new class named after the parent (so merging Motorcycle and Bus into ``vehicle``
makes a class ``vehicle`` holding both, while Car stays Car). A merge can also name any other
class as its target (``Stroller -> Person``). Chains resolve (A -> B, B -> C puts A in C);
cycles are refused.

**Suggestions** (:func:`suggest_merges`): every class below ``min_instances`` whose parent would
pass: the parent's own class (if any) plus all its children below the minimum, merged together,
reach ``min_instances``.

Parts, one idea each:
    :mod:`.mapping`   :class:`Hierarchy` and where it comes from: :func:`from_supercategories`,
                      :func:`read_mapping` (CSV / YAML / JSON files), :func:`hierarchy_from_pairs`
    :mod:`.merge`     the class a parent stands for, :func:`resolve_merges`, :func:`apply_merges`,
                      the before / after of :func:`what_if`
    :mod:`.suggest`   counts by parent (:func:`roll_up`, :func:`parent_images`) and :func:`suggest_merges`
    :mod:`.export`    the mapping as JSON / CSV and the merged export as COCO, a YOLO zip or a labels CSV

Every name of the former single module ``imbal_core/hierarchy.py`` still imports from here,
the private helpers included.
"""
from .export import (_coco_from_tables, _rewrite_coco, mapping_csv, mapping_json, merged_coco, merged_labels_csv,
                     merged_yolo_zip)
from .mapping import Hierarchy, _csv_pairs, _yaml_pairs, from_supercategories, hierarchy_from_pairs, read_mapping
from .merge import WhatIf, _target_of, apply_merges, resolve_merges, what_if
from .suggest import MergeSuggestions, parent_images, roll_up, suggest_merges

__all__ = [
    "Hierarchy", "MergeSuggestions", "WhatIf", "apply_merges", "from_supercategories", "hierarchy_from_pairs",
    "mapping_csv", "mapping_json", "merged_coco", "merged_labels_csv", "merged_yolo_zip", "parent_images",
    "read_mapping", "resolve_merges", "roll_up", "suggest_merges", "what_if",
]
