"""Code generator: spec/ YAML -> src/kalshi_fix_sansio/_generated/ and docs/reference/."""
