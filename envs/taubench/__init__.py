"""τ-bench as Gymnasium environments, and SEER as a τ-bench agent."""
