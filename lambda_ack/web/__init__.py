"""HTTP events, as Lambda delivers them, and the answers Lambda expects back."""
