//! Progress on stderr, drawn by the CLI for the libraries' long operations: [`MigrateBar`] for `migrate`
//! (`x0x_dist_server::migrate::Progress`) and [`TotalBar`] for `mirror sync` and bundle imports
//! (`x0x_dist_loader::fetch::Progress`). The libraries print nothing themselves.
use x0x_dist_loader::fetch::Progress;

/// A [`Progress`] shared by parallel downloads: one bar for the total (drawn only on a terminal).
#[derive(Debug)]
pub struct TotalBar(pub indicatif::ProgressBar);

impl Progress for TotalBar {
    fn start(&self, name: &str, total: u64, already: u64) {
        // Downloads run in parallel: the bar's total grows as each one starts.
        self.0.inc_length(total);
        self.0.inc(already);
        self.0
            .set_message(name.rsplit('/').next().unwrap_or(name).to_owned());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {}
}

/// Progress on stderr: one line per phase, and a bar when stderr is a terminal.
#[derive(Debug)]
pub struct MigrateBar {
    bar: Option<indicatif::ProgressBar>,
}

impl MigrateBar {
    /// A bar on stderr if it is a terminal; phase lines either way.
    pub fn stderr() -> Self {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        Self {
            bar: terminal.then(|| {
                indicatif::ProgressBar::with_draw_target(
                    Some(0),
                    indicatif::ProgressDrawTarget::stderr(),
                )
            }),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl x0x_dist_server::migrate::Progress for MigrateBar {
    fn phase(&self, what: &str, total: u64, bytes: bool) {
        let line = if bytes {
            format!("migrate: {what} ({})", indicatif::HumanBytes(total))
        } else {
            format!("migrate: {what} ({total})")
        };
        match &self.bar {
            Some(b) => {
                b.println(line);
                b.reset();
                b.set_length(total);
                let template = if bytes {
                    "{msg:24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
                } else {
                    "{msg:24} [{bar:30}] {pos}/{len}"
                };
                b.set_style(
                    indicatif::ProgressStyle::with_template(template)
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                b.set_message(what.to_owned());
            }
            None => eprintln!("{line}"),
        }
    }

    fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }
}
