"""Layer 3, the AI: the generator seam, the offline mock, the generator for
OpenAI-compatible servers (its prompts, answer checks and health check) and
the circuit breaker."""
