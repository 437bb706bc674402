"""Reports from the field (kiosks, enterprises, brokers) on postings and organisations, decided by authorities."""
