"""`python -m benchmarks` (what `quotebot bench` runs): speed, memory and scale."""

from benchmarks.speed import app

app(prog_name="quotebot bench")
