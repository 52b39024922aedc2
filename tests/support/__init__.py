"""Helpers shared by the test suites: bundles, runtime runners, host-leak checks."""
