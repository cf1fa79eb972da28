"""Layer 2, the store: every SQL statement, the schema and its migrations."""
