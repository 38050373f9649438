"""Notebook 01: where comment/reply pairs come from (the bundled sample, Arctic Shift's archive
API, the user's BigQuery tables, Reddit dump files), the one join that turns comments and posts
into pairs, and the cleaning that writes the prepared set."""
