//! The macro that turns a vendor's closed list of words (a status, a kind, a topic) into a Rust
//! enum with one spelling per variant, and the error a word outside the list gives.

/// A word that is not one of an enum's spellings.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {kind}")]
pub struct UnknownValue {
    /// The enum's name, e.g. `CustomerStatus`.
    pub kind: &'static str,
    pub value: String,
}

/// Declares `pub enum $name` with the wire spelling of each variant, and gives it `ALL`,
/// `as_str`, `FromStr`, `TryFrom<String>`, `Display`, `Serialize` and `Deserialize` (as its spelling).
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The vendor's spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocab::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::vocab::UnknownValue { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl ::std::convert::TryFrom<::std::string::String> for $name {
            type Error = $crate::vocab::UnknownValue;

            fn try_from(s: ::std::string::String) -> Result<Self, Self::Error> {
                match s.as_str() {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::vocab::UnknownValue { kind: stringify!($name), value: s }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::vocab::serde::Serialize for $name {
            fn serialize<S: $crate::vocab::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::vocab::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::vocab::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as $crate::vocab::serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(|_| {
                    let expected: &[&str] = &[$($text),+];
                    <D::Error as $crate::vocab::serde::de::Error>::unknown_variant(&text, expected)
                })
            }
        }
    };
}

#[doc(hidden)]
pub use serde;

#[cfg(test)]
mod tests {
    crate::wire_enum! {
        /// A test list.
        pub enum Colour { Red = "red", DarkBlue = "dark-blue" }
    }

    #[test]
    fn spellings_round_trip_and_strangers_are_named() {
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>(), Ok(*c));
        }
        let err = "green".parse::<Colour>().unwrap_err();
        assert_eq!(err.to_string(), "\"green\" is not a known Colour");
        assert_eq!(Colour::try_from("dark-blue".to_owned()), Ok(Colour::DarkBlue));
        assert_eq!(Colour::try_from("green".to_owned()), Err(err));
        assert_eq!(serde_json::to_string(&Colour::DarkBlue).unwrap(), "\"dark-blue\"");
        assert_eq!(serde_json::from_str::<Colour>("\"red\"").unwrap(), Colour::Red);
        let refused = serde_json::from_str::<Colour>("\"Red\"").unwrap_err().to_string();
        assert!(refused.contains("unknown variant `Red`, expected `red` or `dark-blue`"), "{refused}");
    }
}
