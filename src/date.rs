//! Calendar dates as documents carry them: `YYYY-MM-DD`.

use std::fmt;
use std::str::FromStr;

use time::macros::format_description;

/// A calendar date, written `YYYY-MM-DD` (ISO 8601).
///
/// ```
/// use ai_search::IsoDate;
///
/// let date: IsoDate = "2024-12-18".parse()?;
/// assert_eq!(date.year(), 2024);
/// assert_eq!(date.to_string(), "2024-12-18");
/// assert!("2024-02-30".parse::<IsoDate>().is_err());
/// # Ok::<(), ai_search::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDate(time::Date);

impl IsoDate {
    /// The date written as `YYYY-MM-DD`, if it is one.
    pub fn parse(text: &str) -> Option<IsoDate> {
        time::Date::parse(text, format_description!("[year]-[month]-[day]"))
            .ok()
            .map(IsoDate)
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    /// The date as the number `YYYYMMDD`, the form the index keeps it in (years 0 to 9999).
    pub fn number(self) -> u64 {
        let year = u64::try_from(self.0.year()).unwrap_or(0);
        year * 10_000 + u64::from(u8::from(self.0.month())) * 100 + u64::from(self.0.day())
    }

    /// The year of a date kept as the number `YYYYMMDD`.
    pub fn year_of_number(number: u64) -> u64 {
        number / 10_000
    }
}

impl FromStr for IsoDate {
    type Err = crate::Error;

    fn from_str(text: &str) -> crate::Result<IsoDate> {
        IsoDate::parse(text).ok_or_else(|| crate::Error::BadDate(text.to_string()))
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly_and_become_numbers() {
        let date = IsoDate::parse("2023-05-02").unwrap();
        assert_eq!(date.number(), 20230502);
        assert_eq!(IsoDate::year_of_number(date.number()), 2023);
        for bad in [
            "2023-5-2",
            "2023-13-01",
            "2023-02-29",
            "23-05-02",
            "2023-05-02T00",
            "",
        ] {
            assert_eq!(IsoDate::parse(bad), None, "{bad}");
        }
        assert!(IsoDate::parse("2024-02-29").is_some());
    }
}
