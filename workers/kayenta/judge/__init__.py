"""Kayenta's judges: NetflixACAJudge-v1.0 (:func:`judge`) and the statistics beneath it.

Pure functions over plain JSON and NumPy arrays: no bus, no store, no clock.
"""

from workers.kayenta.judge.netflix import JUDGE_NAME, judge

__all__ = ["JUDGE_NAME", "judge"]
