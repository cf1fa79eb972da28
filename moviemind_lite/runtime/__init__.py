"""Layer 5, where jobs run: the runner with its lease keeper, thread pools and workers."""
