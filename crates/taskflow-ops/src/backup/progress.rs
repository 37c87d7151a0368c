//! Progress of long backups and restores: a bar on a terminal, a few plain lines otherwise.

/// Reports progress: a bar on a terminal, a few plain lines otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(terminal: bool) -> Self {
        Self {
            bar: terminal.then(indicatif::ProgressBar::no_length),
        }
    }

    /// No output at all.
    pub fn quiet() -> Self {
        Self { bar: None }
    }

    pub(super) fn stage(&self, message: String, total: Option<u64>) {
        match &self.bar {
            Some(bar) => {
                if let Some(total) = total {
                    bar.set_length(total);
                    bar.set_position(0);
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
                        )
                        .expect("a valid template")
                        .progress_chars("=> "),
                    );
                }
                bar.set_message(message);
            }
            None => eprintln!("{message}"),
        }
    }

    pub(super) fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    pub(super) fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
