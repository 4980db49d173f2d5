"""Reports rendered from results (plots, HTML, JUnit)."""
