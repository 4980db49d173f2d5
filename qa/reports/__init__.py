"""Report rendering: figures and documents built from measurements and results."""
