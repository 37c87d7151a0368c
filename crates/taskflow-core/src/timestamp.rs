use serde::{Deserialize, Serialize, Serializer};
use time::{OffsetDateTime, UtcOffset};

/// A UTC instant with microsecond precision: the precision both backends store exactly, so a
/// value read back compares equal to the value written.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
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

/// The longest RFC 3339 form written here: `9999-12-31T23:59:59.999999999Z`.
const RFC3339_MAX: usize = 30;

impl Timestamp {
    /// The instant as RFC 3339 in UTC (`2026-12-04T09:30:00.5Z`), written as `time`'s
    /// `Rfc3339` writes it (the fraction without its trailing zeros, none when it is zero)
    /// but into a buffer on the stack: answers carry two of these per task. None for what
    /// this form does not cover (an offset other than UTC, a year outside 0–9999).
    fn rfc3339(self, buf: &mut [u8; RFC3339_MAX]) -> Option<&str> {
        let at = self.0;
        if at.offset() != UtcOffset::UTC || !(0..=9999).contains(&at.year()) {
            return None;
        }
        fn digits(buf: &mut [u8], value: u32) {
            let mut value = value;
            for b in buf.iter_mut().rev() {
                *b = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        let (year, month, day) = at.to_calendar_date();
        let (hour, minute, second, nanos) = at.to_hms_nano();
        digits(&mut buf[0..4], year as u32);
        buf[4] = b'-';
        digits(&mut buf[5..7], u8::from(month).into());
        buf[7] = b'-';
        digits(&mut buf[8..10], day.into());
        buf[10] = b'T';
        digits(&mut buf[11..13], hour.into());
        buf[13] = b':';
        digits(&mut buf[14..16], minute.into());
        buf[16] = b':';
        digits(&mut buf[17..19], second.into());
        let mut len = 19;
        if nanos != 0 {
            buf[19] = b'.';
            digits(&mut buf[20..29], nanos);
            len = 29;
            while buf[len - 1] == b'0' {
                len -= 1;
            }
        }
        buf[len] = b'Z';
        std::str::from_utf8(&buf[..=len]).ok()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339(&mut [0; RFC3339_MAX]) {
            Some(text) => serializer.serialize_str(text),
            None => time::serde::rfc3339::serialize(&self.0, serializer),
        }
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(text) = self.rfc3339(&mut [0; RFC3339_MAX]) {
            return f.write_str(text);
        }
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

    /// `time`'s own RFC 3339 form, which the stack-buffer form must repeat exactly.
    fn reference(ts: Timestamp) -> String {
        ts.datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    #[test]
    fn written_as_time_writes_rfc3339() {
        let micros = [
            0,
            1,
            10,
            500_000,
            999_999,
            1_700_000_000_000_000,
            1_700_000_000_000_001,
            1_700_000_000_120_000,
            -1,
            -62_135_596_800_000_000,
            253_402_300_799_999_999,
        ];
        for m in micros {
            let ts = Timestamp::from_unix_micros(m);
            let json = serde_json::to_string(&ts).unwrap();
            assert_eq!(json, format!("\"{}\"", reference(ts)), "{m}");
            assert_eq!(ts.to_string(), reference(ts), "{m}");
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), ts);
        }
        // An instant read with an offset other than UTC keeps it, through `time`'s form.
        let json = r#""2026-12-04T10:00:00.25+02:00""#;
        let ts: Timestamp = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&ts).unwrap(), json);
        assert_eq!(ts.to_string(), reference(ts));
    }

    proptest::proptest! {
        #[test]
        fn any_instant_is_written_as_time_writes_it(m in -62_135_596_800_000_000i64..253_402_300_800_000_000) {
            let ts = Timestamp::from_unix_micros(m);
            proptest::prop_assert_eq!(ts.to_string(), reference(ts));
        }
    }
}
