//! Code shared by the examples in this package.
