//! What the CLI prints that came from outside (file names, a server's error details, paths and reasons in
//! metadata) goes through [`escape`] first: a control character (newline, carriage return, ANSI `ESC`, ...)
//! is printed as its escape (`\n`, `\u{1b}`), so a hostile name cannot forge lines or recolour a terminal
//! (issue 25, finding 6). Errors are printed once, by `commands::finish`, which escapes the whole message.
use std::borrow::Cow;

/// `s` with every control character escaped (`\n`, `\r`, `\t`, `\u{1b}`, ...); borrowed when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(
            escape("x0x.linux-x64-gnu.node"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            escape("a\nb\r\u{1b}[31mc\u{7f}"),
            "a\\nb\\r\\u{1b}[31mc\\u{7f}"
        );
        assert_eq!(escape("héllo …"), "héllo …");
    }
}
