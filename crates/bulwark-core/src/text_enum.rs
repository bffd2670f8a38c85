//! States that travel as text (stored in TEXT columns, sent in JSON and query strings, shown
//! in pages) but are closed sets in the code. [`text_enum!`] declares one: the enum with its
//! spellings, `ALL`, `as_str`, `parse`, `Display`, `FromStr` and `TryFrom<String>` (what the
//! store reads a column with), and serde and schemars derives that use the same spellings, so
//! a bad value is refused where it enters and the API document lists the allowed ones.

use std::fmt;

/// A text that is not one of a state's spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?}; one of {}",
            self.kind,
            self.value,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

/// Declares a state spelled as text; see the module documentation. The crate that uses it
/// depends on serde (with `derive`) and schemars.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];
            pub const SPELLINGS: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == text)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::text_enum::UnknownValue;

            fn from_str(text: &str) -> Result<$name, Self::Err> {
                $name::parse(text).ok_or_else(|| $crate::text_enum::UnknownValue {
                    kind: $kind,
                    value: text.to_owned(),
                    allowed: $name::SPELLINGS,
                })
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::text_enum::UnknownValue;

            fn try_from(text: String) -> Result<$name, Self::Error> {
                text.parse()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

#[cfg(test)]
mod tests {
    text_enum! {
        /// A test state.
        pub enum Light as "light" {
            Red = "red",
            Amber = "amber",
            Green = "green",
        }
    }

    #[test]
    fn spellings_round_trip_everywhere() {
        for light in Light::ALL {
            assert_eq!(Light::parse(light.as_str()), Some(light));
            assert_eq!(light.to_string().parse::<Light>(), Ok(light));
            let json = serde_json::to_string(&light).unwrap();
            assert_eq!(json, format!("\"{light}\""));
            assert_eq!(serde_json::from_str::<Light>(&json).unwrap(), light);
        }
        let err = "blue".parse::<Light>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown light \"blue\"; one of red, amber, green"
        );
        assert!(serde_json::from_str::<Light>("\"blue\"").is_err());
        assert_eq!(Light::Red, "red");
    }

    #[test]
    fn the_schema_lists_the_spellings() {
        let schema = serde_json::to_value(schemars::schema_for!(Light)).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["red", "amber", "green"]));
    }
}
