"""Hidden subgroup imbalance: class x condition tables, residuals, chi-square tests and ranked findings.

A class can look fine overall and be nearly absent where it matters (Wheelchair at night). This
package crosses the classes with one condition or a pair (``time_of_day``, ``time_of_day x
weather``), in any unit (images, instances or pixels), over all splits or one, and finds the
cells where a class is missing.

>>> from imbal_core.strata import hidden_subgroups, strata_table
>>> strata_table(dataset, "time_of_day", "instances").to_pandas()    # counts, expected, residuals, shares
>>> hidden_subgroups(dataset, ("time_of_day", "weather")).findings   # ranked gaps, each with its sentence

Parts, one idea each:
    :mod:`.table`          the class x condition table (:func:`strata_table`), the per-cell counts it is
                           built from (:func:`cell_counts`), the units and the checks of ``by`` / ``unit``
    :mod:`.independence`   expected counts, adjusted standardised residuals, chi-square test and Cramér's V
    :mod:`.findings`       the results: :class:`Finding` and :class:`HiddenSubgroups`
    :mod:`.subgroups`      the finder (:func:`hidden_subgroups`): which cells are gaps, the guard against
                           multiple-testing noise, the ranking
    :mod:`.wording`        the sentence that says each finding

Every name of the former single module ``imbal_core/strata.py`` still imports from here,
the private helpers included (tests use ``_independence``).
"""
from .findings import FINDING_KINDS, Finding, FindingKind, HiddenSubgroups
from .independence import ChiSquare, _independence
from .subgroups import (_binom_lower, _cell, _check_positive, _rank_key, _split_candidates, _whole_candidates, _z,
                        hidden_subgroups)
from .table import (DEFAULT_MAX_VALUES, OTHER, SEPARATOR, StrataTable, _instance_total, _order_values, cell_counts,
                    check_by, check_unit, strata_table)
from .wording import _finding, _number, _percent, _unit_words, _value_text

__all__ = [
    "ChiSquare", "DEFAULT_MAX_VALUES", "FINDING_KINDS", "Finding", "FindingKind", "HiddenSubgroups", "OTHER",
    "SEPARATOR", "StrataTable", "cell_counts", "check_by", "check_unit", "hidden_subgroups", "strata_table",
]
