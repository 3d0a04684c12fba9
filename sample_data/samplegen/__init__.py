"""The sample-data generator behind ``sample_data/generate.py``, one module per sample.

``common`` (shared helpers and the street class table), ``street`` + ``street_detector``,
``surface``, ``lanes`` + ``lanes_scene``, ``daily`` (``street_daily/``) and ``readme``.
"""
