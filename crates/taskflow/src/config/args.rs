//! The flags every command takes: `--config` and one per declared setting.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Arg, ArgMatches, Args, FromArgMatches};

use super::SETTINGS;

/// Settings every command takes, one flag per declared setting (`config::SETTINGS`). Each
/// also comes from `TASKFLOW_<NAME>` or `TASKFLOW_<NAME>_FILE`; a flag wins over the
/// environment.
#[derive(Debug, Default)]
pub struct GlobalArgs {
    pub config: Option<PathBuf>,
    values: BTreeMap<&'static str, String>,
}

impl GlobalArgs {
    /// The value given for the flag of setting `key`.
    pub fn value(&self, key: &str) -> Option<String> {
        self.values.get(key).cloned()
    }
}

impl FromArgMatches for GlobalArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        if let Some(config) = matches.get_one::<PathBuf>("config") {
            self.config = Some(config.clone());
        }
        for setting in SETTINGS.iter().filter(|s| s.flag.is_some()) {
            if let Some(value) = matches.get_one::<String>(setting.key) {
                self.values.insert(setting.key, value.clone());
            }
        }
        Ok(())
    }
}

impl Args for GlobalArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let config = Arg::new("config")
            .long("config")
            .global(true)
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .help(
                "A TOML file of settings (keys as in TASKFLOW_<KEY>, lower-case); the \
                 environment and flags override it",
            );
        cmd.arg(config).args(SETTINGS.iter().filter_map(|setting| {
            let flag = setting.flag?;
            Some(
                Arg::new(setting.key)
                    .long(flag.trim_start_matches("--"))
                    .global(true)
                    .value_name(setting.value_name)
                    .help(setting.help_line()),
            )
        }))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}
