"""Training code of the tumor-classifier reference model."""
