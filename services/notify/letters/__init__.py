"""Letters as files: where letter PDFs are kept, how precompiled ones are virus-scanned, and the PDF endpoint.

A precompiled letter is accepted as a stored file and a row in `pending-virus-check` (notify spec §5.5); the
worker scans it, validates it and either fails it or hands it to the normal letter path in `created`. A
templated letter's PDF is drawn the first time anyone asks for it (§6.3) and kept in the same store.
"""
