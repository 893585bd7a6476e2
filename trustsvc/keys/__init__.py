"""Keys and the service's own PKI: key storage, CAs, timestamping, revocation."""
