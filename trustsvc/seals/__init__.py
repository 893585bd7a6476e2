"""E-seals: the stamp, PAdES profiles, sealing one document or a batch."""
