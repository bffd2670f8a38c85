//! The content format: YAML templates parsed with line numbers, validated so that every
//! problem is reported with its file, line and check, and the shipped templates embedded in
//! the binary. See docs/content-format.md.

mod layout;
mod load;
mod shipped;
mod validate;

pub use load::{CheckFile, Loaded, Location, load_path, load_str, parse_check_list};
pub use shipped::{shipped, shipped_template, shipped_templates};
pub use validate::{LINUX_CATEGORIES, WINDOWS_CATEGORIES};

use std::fmt;

/// One problem found in content, located as precisely as known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: Option<u64>,
    pub check: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(check) = &self.check {
            write!(f, ": check {check}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All the problems of a load, in file and line order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
