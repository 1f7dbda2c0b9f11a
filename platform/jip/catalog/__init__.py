"""Browsing the index: series filters, facet counts, study/patient views, statistics."""
