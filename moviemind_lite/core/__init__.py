"""Layer 1, what every other layer may use: errors, ids, settings, the domain and the log."""
