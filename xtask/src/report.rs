//! How an error reaches the user: one line on standard error, and for the
//! library's errors, what to do about them in terms of this command line's flags.

use train::Error;

/// The flag that sets the library's setting `what` (a [`train::TrainConfig`] field
/// name, as [`Error::Invalid`] names it), where there is one.
fn flag(what: &str) -> Option<&'static str> {
    Some(match what {
        "steps" => "--steps",
        "batch_size" => "--batch-size",
        "learning_rate" => "--lr",
        "beta1" => "--beta1",
        "beta2" => "--beta2",
        "init.std" => "--init-std",
        "temperature" => "--temperature",
        _ => return None,
    })
}

/// `err`, from a run that is `resumed` from a checkpoint or not, with the advice
/// the library leaves to the program: which flag to change, and how. Every
/// library error a command meets goes through here.
pub(crate) fn advise(err: Error, resumed: bool) -> anyhow::Error {
    let advice = match &err {
        Error::Invalid { what, why } => match flag(what) {
            Some(flag) => return anyhow::anyhow!("invalid {flag}: {why}"),
            None => return err.into(),
        },
        // A resumed run refuses another --lr, and would diverge at the same step
        // again: it is bit for bit the run that never stopped.
        Error::Diverged { .. } | Error::NonFiniteState { .. } if resumed => {
            "a resumed run keeps its --lr and would diverge here again: start a new run (without --resume) with a smaller --lr"
        }
        Error::Diverged { .. } | Error::NonFiniteState { .. } => "try a smaller --lr",
        Error::ExactNeedsF64 { .. } => {
            "--exact and --dtype f32 do not go together: drop one of them"
        }
        Error::TooManyThreads { .. } => "pass a smaller --threads",
        Error::DataMismatch { .. } => {
            "pass the same --data to resume, or --force to continue on this data (its vocabulary must be the same)"
        }
        // Sizes and memory: the input limit's advice.
        _ => return crate::limits::advise(err),
    };
    anyhow::anyhow!("{err}; {advice}")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_become_flags_and_divergence_gets_the_advice_that_works() {
        let invalid = Error::Invalid {
            what: "learning_rate",
            why: "-1 is not a positive finite number".into(),
        };
        assert_eq!(
            advise(invalid, false).to_string(),
            "invalid --lr: -1 is not a positive finite number"
        );
        // A setting without a flag keeps the library's name.
        let eps = Error::Invalid {
            what: "eps",
            why: "0 is not a positive finite number".into(),
        };
        assert_eq!(
            advise(eps, false).to_string(),
            "invalid eps: 0 is not a positive finite number"
        );
        let diverged = || Error::Diverged {
            step: 2,
            what: "loss",
            value: f64::INFINITY,
        };
        assert_eq!(
            advise(diverged(), false).to_string(),
            "training diverged at step 2: the loss is inf; try a smaller --lr"
        );
        assert_eq!(
            advise(
                Error::ExactNeedsF64 {
                    dtype: params::Dtype::F32
                },
                false
            )
            .to_string(),
            "the exact arithmetic reproduces the reference, which computes in f64; it cannot run in f32; --exact and --dtype f32 do not go together: drop one of them"
        );
        let threads = Error::TooManyThreads {
            threads: 8,
            needed: 3 << 30,
            available: 2 << 30,
            fits: 5,
        };
        assert_eq!(
            advise(threads, false).to_string(),
            "training on 8 threads needs about 3.0 GiB but only 2.0 GiB is available (each thread after the first holds a copy of the parameters and their gradients); 5 would fit; pass a smaller --threads"
        );
        let resumed = advise(diverged(), true).to_string();
        assert!(
            resumed.contains("start a new run (without --resume) with a smaller --lr"),
            "{resumed}"
        );
    }
}
