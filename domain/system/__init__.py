"""System-wide state: draining."""
