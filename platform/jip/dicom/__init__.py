"""DICOM network services (pynetdicom) and parsing of DICOM objects."""
