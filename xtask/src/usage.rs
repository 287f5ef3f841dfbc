//! A command-line mistake as one line: clap's message and its tips, without the
//! usage block it prints after them.

use clap::error::ErrorKind;

/// Prints `err` and exits: help and version as clap prints them, any other error
/// as one line on standard error, with clap's exit code (2).
pub(crate) fn exit(err: &clap::Error) -> ! {
    let shows_help = matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if shows_help {
        err.exit();
    }
    eprintln!("{}", one_line(&err.render().to_string()));
    std::process::exit(err.exit_code());
}

/// Clap's rendered message, its non-blank lines joined with `; `, less the usage
/// block (a `Usage:` line and any lines indented under it).
fn one_line(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut in_usage = false;
    for line in rendered.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            in_usage = false;
        } else if trimmed.starts_with("Usage:") {
            in_usage = true;
        } else if !in_usage {
            parts.push(trimmed.to_string());
        }
    }
    let mut line = parts.join("; ");
    // "For more information, ..." reads on after a semicolon in lower case.
    line = line.replace("; For more", "; for more");
    line
}

/// `--seed S`: a whole number that fits 64 bits. Parsed here, with hyphen values
/// let through to it, so that `--seed -1` says what a seed is rather than that
/// `-1` is an unknown flag.
pub(crate) fn parse_seed(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("a seed is a whole number from 0 to {}", u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tip_stays_and_the_usage_goes() {
        let rendered = "error: unexpected argument '--n-emdb' found\n\n  tip: a similar argument exists: '--n-embd'\n\nUsage: xtask train --n-embd <N>\n       xtask train <COMMAND>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "error: unexpected argument '--n-emdb' found; tip: a similar argument exists: '--n-embd'; for more information, try '--help'."
        );
    }
}
