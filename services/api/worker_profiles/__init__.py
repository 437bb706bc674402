"""Worker profiles (supply): posted by brokers, personal data encrypted, erasable."""
