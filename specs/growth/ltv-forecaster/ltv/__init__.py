"""Training code of ltv-forecaster."""
