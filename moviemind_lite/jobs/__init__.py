"""Generation jobs: their status in SQLite, the job body, runners and workers."""
