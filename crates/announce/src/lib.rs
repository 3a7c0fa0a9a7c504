//! shoal-announce (work in progress)
