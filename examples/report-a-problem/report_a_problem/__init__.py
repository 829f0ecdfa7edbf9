"""Report a problem: a small departmental service built on GaaP through its SDK only (`gaap_client`)."""
