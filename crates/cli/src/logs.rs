//! Diagnostic logs: `tracing` events (from `search-ctr` and from `eddy`)
//! on stderr, filtered like `RUST_LOG` (default `info`), as text lines or
//! JSON objects (`--log-format`).
//!
//! The text form keeps the command's usual voice: `search-ctr: message`
//! for information, `search-ctr: warning: message` for warnings, so the
//! notes printed before logs existed read the same. The run summary and
//! error messages are not logs: [`crate::console`] prints them.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::args::LogFormat;
use crate::usage::UsageError;

/// The filter from `RUST_LOG` (default: `info`); a malformed one is a
/// usage error that quotes it.
fn filter() -> Result<EnvFilter, UsageError> {
    let builder = EnvFilter::builder().with_default_directive(LevelFilter::INFO.into());
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => builder.parse(&spec).map_err(|e| {
            UsageError(format!(
                "RUST_LOG={spec:?}: {e} (expected directives such as info, debug or eddy=debug,search_ctr=info)"
            ))
        }),
        _ => Ok(builder.parse_lossy("")),
    }
}

/// Installs the process's log subscriber (once; later calls do nothing).
pub fn init(format: LogFormat) -> Result<(), UsageError> {
    let filter = filter()?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    // Already installed (only in tests that call this twice): keep it.
    let _ = match format {
        LogFormat::Text => builder.event_format(Plain).try_init(),
        LogFormat::Json => builder.json().flatten_event(false).try_init(),
    };
    Ok(())
}

/// `search-ctr: [level: ]message key=value …`, one line per event.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "search-ctr: ")?;
        match *event.metadata().level() {
            Level::INFO => {}
            Level::WARN => write!(writer, "warning: ")?,
            Level::ERROR => write!(writer, "error: ")?,
            Level::DEBUG => write!(writer, "debug: {}: ", event.metadata().target())?,
            Level::TRACE => write!(writer, "trace: {}: ", event.metadata().target())?,
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
