"""Bulk sending (notify spec §18.6): a CSV or JSON list of rows accepted as one job, delivered on the bulk lane."""
