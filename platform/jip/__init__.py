"""JIP - the Joint Imaging Platform."""

__version__ = "0.1.0"
