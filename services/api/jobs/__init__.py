"""Job postings (demand): posted by enterprises, checked for compliance, expiring, reviewable."""
