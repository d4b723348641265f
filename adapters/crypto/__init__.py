"""Secret encryption: the master key file and AES-256-GCM envelope encryption."""
