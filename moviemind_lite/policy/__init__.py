"""Layer 6, rules over the pipeline's results: feature flags, staged rollouts, job statistics."""
