//! shoal-swarm (work in progress)
