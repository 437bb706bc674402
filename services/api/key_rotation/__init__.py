"""Re-encrypting personal data under the active key, so a retired key can leave PII_KEYRING."""
