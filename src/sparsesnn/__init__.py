"""sparsesnn: ultra-sparse spiking neural networks.

Data flows one way: ``data`` -> ``models`` (built from ``neurons`` and ``layers``) ->
``training`` (trainer) <-> ``topology`` (engine) -> ``energy`` (metrics) -> run directory.
"""

__version__ = "0.1.0"
