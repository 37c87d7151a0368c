use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A UTC instant with microsecond precision: the precision both backends store exactly, so a
/// value read back compares equal to the value written.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let micros = at.unix_timestamp_nanos() / 1_000;
        Self::from_unix_micros(micros as i64)
    }

    pub fn from_unix_micros(micros: i64) -> Self {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self(at)
    }

    pub fn unix_micros(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000) as i64
    }

    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    pub fn saturating_add(self, d: std::time::Duration) -> Self {
        Self::from_datetime(
            self.0
                .saturating_add(d.try_into().unwrap_or(time::Duration::MAX)),
        )
    }

    pub fn saturating_sub(self, d: std::time::Duration) -> Self {
        Self::from_datetime(
            self.0
                .saturating_sub(d.try_into().unwrap_or(time::Duration::MAX)),
        )
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self
            .0
            .format(&time::format_description::well_known::Rfc3339)
        {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_to_microseconds_and_round_trips() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let ts = Timestamp::from_datetime(at);
        assert_eq!(ts.unix_micros(), 1_700_000_000_123_456);
        assert_eq!(Timestamp::from_unix_micros(ts.unix_micros()), ts);
    }
}
