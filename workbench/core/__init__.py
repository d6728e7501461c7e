"""Cross-cutting pieces: permissions, errors, formatting, security headers."""
