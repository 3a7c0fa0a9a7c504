//! shoal-engine (work in progress)
