"""Locust user classes for the load-test scenarios (see loadtests/README.md)."""
