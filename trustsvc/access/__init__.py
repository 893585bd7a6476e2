"""Who may use the service's shared data: API clients, their keys, and the access record."""
