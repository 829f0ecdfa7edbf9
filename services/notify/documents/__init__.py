"""Send a file by email (notify spec §12): the file checks and storage (`options`, `filetypes`, `service`,
`repository`, `models`), the retention purge, and the download pages a recipient reaches from the email's link
(`endpoints`, `pages`, which also sets up notify's `Pages` for the unsubscribe pages)."""
