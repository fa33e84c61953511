"""Attendance certificates: numbered, downloadable, publicly verifiable."""
