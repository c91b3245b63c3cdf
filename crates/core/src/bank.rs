//! Bank numbers: ABA routing numbers (check digit) and account numbers (masked in `Debug`).

use std::fmt;

/// A 9-digit ABA routing transit number with a valid check digit.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoutingNumber(String);

impl RoutingNumber {
    const WEIGHTS: [u32; 9] = [3, 7, 1, 3, 7, 1, 3, 7, 1];

    pub fn parse(s: &str) -> Option<Self> {
        let digits: Vec<u32> = s.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
        if digits.len() != 9 {
            return None;
        }
        let sum: u32 = digits.iter().zip(Self::WEIGHTS).map(|(d, w)| d * w).sum();
        sum.is_multiple_of(10).then(|| Self(s.to_owned()))
    }

    /// Completes an 8-digit prefix with its check digit.
    pub fn from_prefix(prefix: &str) -> Option<Self> {
        let digits: Vec<u32> = prefix.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
        if digits.len() != 8 {
            return None;
        }
        let sum: u32 = digits.iter().zip(Self::WEIGHTS).map(|(d, w)| d * w).sum();
        let check = (10 - sum % 10) % 10;
        Some(Self(format!("{prefix}{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RoutingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RoutingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bank account number: 4 to 17 digits. `Debug` and `Display` show only the last four.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountNumber(String);

impl AccountNumber {
    pub fn parse(s: &str) -> Option<Self> {
        (4..=17).contains(&s.len()).then_some(())?;
        s.bytes().all(|b| b.is_ascii_digit()).then(|| Self(s.to_owned()))
    }

    /// The digits themselves; call only where the number is encrypted or returned to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountNumber(****{})", self.last4())
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "****{}", self.last4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_numbers_need_a_valid_check_digit() {
        assert!(RoutingNumber::parse("021000021").is_some());
        assert!(RoutingNumber::parse("021000022").is_none());
        assert!(RoutingNumber::parse("02100002").is_none());
        assert!(RoutingNumber::parse("02100002a").is_none());
        let r = RoutingNumber::from_prefix("06889999").unwrap();
        assert_eq!(r.as_str(), "068899994");
        assert!(RoutingNumber::parse(r.as_str()).is_some());
    }

    #[test]
    fn account_numbers_are_masked_when_printed() {
        let n = AccountNumber::parse("123456789012").unwrap();
        assert_eq!(format!("{n:?}"), "AccountNumber(****9012)");
        assert_eq!(n.to_string(), "****9012");
        assert!(AccountNumber::parse("12a4").is_none());
        assert!(AccountNumber::parse("123").is_none());
    }
}
