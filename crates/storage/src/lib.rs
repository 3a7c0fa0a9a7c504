//! shoal-storage (work in progress)
