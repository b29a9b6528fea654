//! Planner tests: fixtures, properties, and the reference checker.
