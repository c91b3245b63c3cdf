//! Money as Dwolla writes it: US dollars in whole cents, read from and written as a decimal
//! string with two places (`"10.00"`), never through a float.

use std::fmt;

/// An amount of US dollars in cents; negative for a balance below zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cents(pub i64);

/// Why a decimal string is not an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountError {
    /// Not a plain decimal number (`"ten"`, `"1e3"`, `"-"`, empty).
    NotANumber,
    /// More than two decimal places (`"1.005"`).
    TooPrecise,
    /// Too many digits to be held.
    TooLarge,
}

impl Cents {
    pub const ZERO: Self = Self(0);

    /// Parses `"10"`, `"10.5"` or `"10.50"` (an optional leading `-`); at most two decimals.
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (digits.contains('.') && fraction.is_empty())
        {
            return Err(AmountError::NotANumber);
        }
        if fraction.len() > 2 {
            return Err(AmountError::TooPrecise);
        }
        let dollars: i64 = whole.parse().map_err(|_| AmountError::TooLarge)?;
        let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| AmountError::NotANumber)?;
        let total = dollars.checked_mul(100).and_then(|d| d.checked_add(cents)).ok_or(AmountError::TooLarge)?;
        Ok(Self(if negative { -total } else { total }))
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }
}

impl From<i64> for Cents {
    fn from(cents: i64) -> Self {
        Self(cents)
    }
}

impl fmt::Display for Cents {
    /// Two decimal places: `1000` is `10.00`, `-5` is `-0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_read_to_cents_and_write_back_with_two_places() {
        for (text, cents, written) in [
            ("10", 1000, "10.00"),
            ("10.5", 1050, "10.50"),
            ("0.01", 1, "0.01"),
            ("-0.05", -5, "-0.05"),
            ("007.10", 710, "7.10"),
        ] {
            let parsed = Cents::parse(text).unwrap();
            assert_eq!(parsed, Cents(cents), "{text}");
            assert_eq!(parsed.to_string(), written, "{text}");
        }
    }

    #[test]
    fn what_is_not_a_plain_two_place_decimal_is_refused_with_its_reason() {
        for text in ["", "-", ".5", "5.", "1e3", "ten", "1,000.00", " 1", "+1", "1.2.3"] {
            assert_eq!(Cents::parse(text), Err(AmountError::NotANumber), "{text:?}");
        }
        assert_eq!(Cents::parse("1.005"), Err(AmountError::TooPrecise));
        assert_eq!(Cents::parse("99999999999999999999"), Err(AmountError::TooLarge));
    }
}
