"""Sparse ANN → sparse SNN conversion with the topology frozen (002, 003 eq. 1)."""
