"""Counties, cities and provinces of Chongqing and Sichuan (reference data, read-only)."""
