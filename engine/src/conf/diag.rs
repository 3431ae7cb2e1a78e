//! Located diagnostics: errors, warnings and notices with file:line:col.

use std::fmt;

use super::lexer::Location;

/// How bad a diagnostic is, and what `vigild -t` makes of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The configuration cannot be used: parsing yields no [`Config`](super::Config).
    Error,
    /// Something in the file was ignored or replaced by a default (an unknown keyword, a value
    /// rounded). The configuration is usable, but keepalived's `-t` fails (exit 5) on these, and so
    /// does `vigild -t`.
    Warning,
    /// Valid keepalived input that Vigil does not act on (an LVS or BFD section, a keepalived
    /// tuning knob), or a fix-up keepalived makes silently. Does not fail `-t`.
    Notice,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        })
    }
}

/// One message about the configuration, with where it applies.
#[derive(Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error, warning or notice.
    pub severity: Severity,
    /// Where; `None` only for problems with no place in a file (the main file is unreadable).
    pub loc: Option<Location>,
    /// What is wrong and, for errors, what was expected.
    pub message: String,
}

impl Diagnostic {
    /// An error at `loc`.
    pub fn error(loc: &Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            loc: Some(loc.clone()),
            message: message.into(),
        }
    }

    /// A warning at `loc`.
    pub fn warning(loc: &Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            loc: Some(loc.clone()),
            message: message.into(),
        }
    }

    /// A notice at `loc`.
    pub fn notice(loc: &Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Notice,
            loc: Some(loc.clone()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(loc) => write!(f, "{loc}: {}: {}", self.severity, self.message),
            None => write!(f, "{}: {}", self.severity, self.message),
        }
    }
}

impl fmt::Debug for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Parsing failed: at least one [`Severity::Error`]. Holds every diagnostic (errors, warnings and
/// notices, in file order) so that `vigild -t` can print them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfError {
    /// All diagnostics, errors first in the order they were found.
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfError {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfError {}
