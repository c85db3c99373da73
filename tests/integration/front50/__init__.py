"""Front50 worker integration tests: a real MongoDB wire server, a real bus, the real runtime."""
