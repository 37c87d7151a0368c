//! How a setting's text becomes its value: durations, sizes, addresses, paths, networks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub(super) fn duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|e| format!("{value:?}: {e}"))
}

/// How long to wait for something before calling it unavailable: at least 100 ms.
pub(super) fn wait(value: &str) -> Result<Duration, String> {
    match duration(value)? {
        d if d >= Duration::from_millis(100) => Ok(d),
        _ => Err("must be at least 100ms".to_owned()),
    }
}

/// A number of connections: 1 to a million.
pub(super) fn connection_count(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(format!("{value:?} is not a number from 1 to 1000000")),
    }
}

pub(super) fn show_duration(d: &Duration) -> String {
    humantime::format_duration(*d).to_string()
}

pub(super) fn address(example: &'static str) -> impl Fn(&str) -> Result<SocketAddr, String> {
    move |value| {
        value
            .parse()
            .map_err(|_| format!("{value:?} is not an address like {example}"))
    }
}

pub(super) fn path(value: &str) -> Result<PathBuf, String> {
    if value.is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(PathBuf::from(value))
    }
}

/// A directory, or `s3://bucket[/prefix]`.
pub(super) fn backup_location(value: &str) -> Result<PathBuf, String> {
    match taskflow_blobs::parse_s3_url(value) {
        Some(Err(e)) => Err(e),
        _ => path(value),
    }
}

pub(super) fn boolean(v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(format!("{other:?} is not true or false")),
    }
}

/// `10.0.0.0/8, 192.168.1.7, fd00::/8`: addresses stand for themselves (a /32 or /128).
pub(super) fn parse_networks(v: &str) -> Result<Vec<ipnet::IpNet>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ipnet::IpNet>()
                .map(|net| net.trunc())
                .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{part:?} is not an IP address or CIDR range"))
        })
        .collect()
}

/// A size in bytes: `1048576`, `512KiB`, `100MiB`, `2GiB`, `1.5GB` (decimal units), `10 MB`.
pub(super) fn parse_size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        _ => return Err(format!("{value:?} is not a size like 100MiB or 1048576")),
    };
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a size like 100MiB or 1048576"))?;
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("{value:?} is out of range"));
    }
    Ok(bytes as u64)
}
