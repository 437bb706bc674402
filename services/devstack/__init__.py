"""Local stack bootstrap: PostgreSQL, Redis, Meilisearch, API and worker for development and CI.

Everything it creates lives under `.devstack/` in the repository root (or $DEVSTACK_DIR), so that a
fresh clone needs nothing but `make install` and nothing outside the tree is touched except Debian packages.
"""
