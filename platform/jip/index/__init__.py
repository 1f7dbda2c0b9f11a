"""Metadata index: patient/study/series/instance rows plus flattened tags, in SQL."""
