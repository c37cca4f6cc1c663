"""Surveyor evidence packs (a zip of records, certificates and the audit checkpoints)."""
