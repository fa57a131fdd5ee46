"""Code generator: spec/ YAML -> src/kalshi_fix_sansio/codec/_generated/ and docs/reference/."""
