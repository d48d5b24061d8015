"""Unit assessment: the indicator catalogue, the figures computed from signed records, and the
scores and ratings a scheme derives from them. The write path and the audit share this code."""
