"""DICOMweb (PS3.18): QIDO-RS (qido.py), WADO-RS (wado.py), STOW-RS (stow.py)."""
