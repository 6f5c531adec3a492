"""Benchmarks of quotebot (speed, memory, scale): not part of the installed package.

Run as ``quotebot bench ...`` from a clone, or ``python -m benchmarks ...`` in its root.
"""
