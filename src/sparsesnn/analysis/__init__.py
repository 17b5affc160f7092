"""Network-science analysis, robustness evaluation and reports of sparse spiking networks."""
