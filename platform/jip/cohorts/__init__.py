"""Saved cohorts (= datasets): named sets of series that pipelines run on."""
