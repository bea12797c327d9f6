//! A leak-test harness for Rust test suites (work in progress).
