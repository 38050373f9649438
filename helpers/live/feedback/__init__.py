"""Notebook 08: how the posted replies did, against what the models predicted at posting time.

One module per job, in the order 08 uses them:
`config` (FeedbackConfig: 08's settings), `from_ledger` (the ledger's posted replies and their
predictions; the one place that reads the ledger), `fetch` (their state on Reddit now, through
`helpers.live.reddit`), `store` (the feedback table on Drive: locked, append-only CSV), `stats`
(the figures: latest state, rank correlation, calibration, over time), `plots` (the four panels),
`training` (labelled rows for notebook 05), `sample` (the bundled offline sample).
"""
