"""Server-rendered HTML pages for people (no JavaScript): the certificate verification page."""
