"""Layer 3, the AI: the generator seam, the offline mock and the circuit breaker."""
