"""Placements and transfers: proposals, hires, arrival and retention, with an audit trail."""
