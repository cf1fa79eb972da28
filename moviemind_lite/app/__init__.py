"""Layer 7, the application: the composition root and the use cases every front end calls."""
