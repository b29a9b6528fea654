//! Unit tests for the grid, the distance tables and the loaders.
