//! What the libraries log, shown on stderr by the one-shot commands (`serve` has its own subscriber: text or
//! JSON logs for an operator). The libraries never print; they log through `tracing`, and here a warning reads
//! as the CLI's other messages do: `warning[<code>]: <message> <other fields>`, `warning: <message>` without a
//! code. Filter: `X0X_DIST_LOG` (tracing `EnvFilter` syntax), default `warn`.
use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the stderr subscriber of the one-shot commands.
pub fn init() {
    let filter = std::env::var(x0x_dist_server::config::env::LOG)
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(CliFormat)
        .try_init();
}

/// `warning[code]: message field=value ...`
struct CliFormat;

#[derive(Default)]
struct Fields {
    message: String,
    code: Option<String>,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => value.clone_into(&mut self.message),
            "code" => self.code = Some(value.to_owned()),
            name => {
                use fmt::Write as _;
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl<S, N> FormatEvent<S, N> for CliFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut f = Fields::default();
        event.record(&mut f);
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "note",
            _ => "debug",
        };
        match &f.code {
            Some(code) => write!(w, "{level}[{code}]: ")?,
            None => write!(w, "{level}: ")?,
        }
        writeln!(w, "{}{}", f.message, f.rest)
    }
}
