"""Training code of chargeback-risk."""
