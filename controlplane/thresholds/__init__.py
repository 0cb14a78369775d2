"""Per-address, per-vector DDoS thresholds learned from the stats stage's history.

`store` keeps the vector rules' interval reports (SQLite), `collect` turns `watch`
events into store rows, `features` computes the notebook's features per series,
`learn` proposes thresholds, `plot` draws them, `apply` installs them as stats rules.
docs/thresholds.md describes the method and the files.
"""
