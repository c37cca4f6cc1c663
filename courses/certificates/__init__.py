"""Certificates: issue on completion, render the PDF, revoke/reissue, verify; course evaluations."""
