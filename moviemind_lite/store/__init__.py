"""SQLite storage: connections, migrations and queries."""
