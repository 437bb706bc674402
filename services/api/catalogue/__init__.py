"""The shared shortage-talent catalogue as a service: versions, drafts, approvals, publishing, spreadsheets,
and the per-process CatalogueRuntime (current catalogue, analyzer, typeahead) that search reads."""
