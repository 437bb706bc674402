"""Integrity credit (诚信积分): an append-only ledger per broker and enterprise; score and grade derived."""
