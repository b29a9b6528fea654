//! Whole-stack tests for drover live in `it/`; this library is empty on purpose.
