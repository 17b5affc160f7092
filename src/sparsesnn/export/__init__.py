"""Export of trained networks to exchange formats."""
