//! Tracing set-up. Events carry message ids, hashes and organisation ids; never patient data or payloads.

use tracing::subscriber::set_global_default;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{layer::SubscriberExt, EnvFilter, Registry};

use crate::config::LogFormat;

/// A subscriber writing to `sink`, filtered by `RUST_LOG` or else `default_filter`.
pub fn get_subscriber<Sink>(default_filter: &str, format: LogFormat, sink: Sink) -> Box<dyn Subscriber + Send + Sync>
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let fmt = tracing_subscriber::fmt::layer().with_writer(sink).with_target(false);
    match format {
        LogFormat::Json => Box::new(Registry::default().with(filter).with(fmt.json())),
        LogFormat::Pretty => Box::new(Registry::default().with(filter).with(fmt)),
    }
}

/// Installs `subscriber` process-wide. Call once.
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync) -> anyhow::Result<()> {
    set_global_default(subscriber)?;
    Ok(())
}
