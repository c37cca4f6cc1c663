"""Supervisor and admin reports: team matrix, overdue list, statistics, CSV exports, the reports API."""
