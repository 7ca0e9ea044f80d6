"""Operations: liveness, readiness and the metrics scrape (not the API itself)."""
