//! How an error reaches the user: one line on standard error.

/// The error and its causes, `: `-separated, like `{err:#}`, but each cause only
/// once: the library errors already say their cause in their own message.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain().map(ToString::to_string) {
        if !line.contains(&cause) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&cause);
        }
    }
    line
}
