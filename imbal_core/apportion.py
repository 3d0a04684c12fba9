"""Whole units shared in proportion to weights: the largest-remainder rule, with optional caps.

Quota schedules share a day's labelling capacity among classes with it, and active learning
shares a batch among the classes it must fill. Depends on nothing else in ``imbal_core``.
"""
from __future__ import annotations

import math
from typing import Hashable, Mapping, TypeVar

K = TypeVar("K", bound=Hashable)


def apportion(total: int, weights: Mapping[K, float], caps: Mapping[K, int] | None = None) -> dict[K, int]:
    """``total`` split in proportion to ``weights``: each key gets the whole part of its share, and
    the leftover units go to the largest remainders (ties to the smaller key). A key with weight 0
    gets 0. With ``caps``, no key goes above its cap and what a capped key cannot take is shared
    among the others the same way; without, the shares sum to ``total`` whenever a weight is > 0.
    """
    out = {k: 0 for k in weights}
    open_keys = {k for k, w in weights.items() if w > 0 and (caps is None or caps[k] > 0)}
    left = total
    while left > 0 and open_keys:
        whole = sum(weights[k] for k in open_keys)
        exact = {k: left * weights[k] / whole for k in open_keys}
        step = {k: math.floor(v) for k, v in exact.items()}
        for k in sorted(exact, key=lambda k: (-(exact[k] - step[k]), k))[: left - sum(step.values())]:
            step[k] += 1
        for k in list(open_keys):
            take = step[k] if caps is None else min(step[k], caps[k] - out[k])
            out[k] += take
            left -= take
            if caps is not None and out[k] >= caps[k]:
                open_keys.discard(k)
        if caps is None:
            break
    return out
