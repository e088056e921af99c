"""The test kit: real services (Redis, the upstream simulator, stacks, proxies, hosts in namespaces) started and
driven as the tests and the benchmarks need them. Neither a test nor a benchmark itself, so both import it."""
