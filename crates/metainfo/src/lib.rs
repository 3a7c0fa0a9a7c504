//! shoal-metainfo (work in progress)
