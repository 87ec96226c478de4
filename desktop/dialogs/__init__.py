"""Part of the CrossMargin desktop app."""
