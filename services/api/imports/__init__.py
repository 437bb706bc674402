"""Bulk imports of worker profiles and job postings: upload (router, service), reading and mapping sheets, and
the batch processor the worker runs (processing)."""
