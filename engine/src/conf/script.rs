//! A script's words: split from its command when they are asked for, not kept beside it.
//!
//! The model keeps a script's command as written ([`Script::command`]); the program and its
//! arguments come from it on demand ([`Script::argv`], [`Script::program`]). The daemon asks
//! once per script, when it prepares it to run; a check with `enable_script_security` never
//! asks: splitting 3,000 notify commands into 12,000 strings was 5 % of `vigild -t` on 1,000
//! instances.

use super::model::Script;
use super::values::split_args;

/// As the derived form printed it when the words were a field (`argv`, whether given or split):
/// the model's snapshots and dumps read the same.
impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("command", &self.command)
            .field("argv", &self.argv())
            .field("run_as", &self.run_as)
            .field("loc", &self.loc)
            .finish()
    }
}

impl Script {
    /// The command split into program and arguments: whitespace separates, single quotes group
    /// (keepalived's rule for script parameters); `words` when given.
    pub fn argv(&self) -> Vec<String> {
        match &self.words {
            Some(w) => w.clone(),
            None => split_args(&self.command),
        }
    }

    /// The program: the first word of [`Script::argv`], `None` for an empty command. Without
    /// a copy for a command without single quotes (its first word is a slice of it).
    pub fn program(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.words {
            Some(w) => w.first().map(|p| std::borrow::Cow::Borrowed(p.as_str())),
            None if !self.command.contains('\'') => self
                .command
                .split(super::lexer::is_space_char)
                .find(|w| !w.is_empty())
                .map(std::borrow::Cow::Borrowed),
            None => split_args(&self.command)
                .into_iter()
                .next()
                .map(std::borrow::Cow::Owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::{FileName, Location};

    /// A script's program is the first word of its argv, which is `split_args` of the command
    /// unless the words were given one by one (a `script` of several words).
    #[test]
    fn a_script_program_is_its_first_word() {
        let script = |command: &str, words: Option<Vec<&str>>| Script {
            command: command.to_string(),
            words: words.map(|w| w.into_iter().map(str::to_string).collect()),
            run_as: None,
            loc: Location::new(FileName::new("t"), 1, 1),
        };
        for command in [
            "/bin/echo MASTER VI_0",
            "  /bin/x\ty  ",
            "'/opt/my dir/x' a",
            "a'b c'd e",
            "",
            "   ",
            "\u{a0}/bin/x y",
            "/bin/x\u{2003}y",
        ] {
            let s = script(command, None);
            assert_eq!(s.argv(), split_args(command), "{command:?}");
            assert_eq!(
                s.program().map(|p| p.into_owned()),
                split_args(command).into_iter().next(),
                "{command:?}"
            );
        }
        let s = script("/bin/x a b", Some(vec!["/bin/x", "a b"]));
        assert_eq!(s.argv(), ["/bin/x", "a b"]);
        assert_eq!(s.program().as_deref(), Some("/bin/x"));
        assert_eq!(script("", Some(vec![])).program(), None);
    }
}
