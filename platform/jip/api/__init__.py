"""The FastAPI backend: REST API under /api/v1, DICOMweb under /dicomweb, UI at /."""
