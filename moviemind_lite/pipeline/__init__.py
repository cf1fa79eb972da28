"""Layer 4, the generation pipeline: the job body, dispatch, locks and the locking strategies."""
