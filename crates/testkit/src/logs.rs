//! Tracing output for debugging a test: `RUST_LOG=shoal_engine=debug cargo test ...`.

/// Sends `tracing` events to the test's captured output when `RUST_LOG` is set (with
/// it as the filter); does nothing otherwise. Safe to call from every test.
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
}
