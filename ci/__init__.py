"""CI package: gates, reports, promotion."""
