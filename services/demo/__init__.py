"""Synthetic demo and load-test data: a seeded corpus generator and the `bashu demo load` loader."""
