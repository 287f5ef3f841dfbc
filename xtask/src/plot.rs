//! `--plot FILE.svg`: the loss curve of a run, each step's loss and a running mean,
//! drawn by `plotters` into an SVG.
//!
//! Only the SVG backend is built: it writes text as SVG `<text>` for the viewer to
//! set in its own fonts, so no font library is compiled in (plotters then guesses
//! text widths from the character count, which is enough to place the labels).

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

/// The running mean's window, in steps.
pub(crate) const WINDOW: usize = 50;

/// The mean of the last [`WINDOW`] losses at each step (fewer at the start).
pub(crate) fn running_mean(losses: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    losses
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            sum += l;
            if i >= WINDOW {
                sum -= losses[i - WINDOW];
            }
            sum / (i + 1).min(WINDOW) as f64
        })
        .collect()
}

/// The SVG text of the plot: `losses` of steps `1..`, on an axis spanning the
/// whole `steps`-step schedule, under `title`.
pub(crate) fn svg(losses: &[f64], steps: usize, title: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (900, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let (lo, hi) = losses
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &l| {
                (lo.min(l), hi.max(l))
            });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.05).max(0.05);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..steps.max(1) as f64, (lo - pad)..(hi + pad))?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("loss (nats per token)")
            .axis_desc_style(("sans-serif", 15))
            .label_style(("sans-serif", 13))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .max_light_lines(0)
            .draw()?;
        let each = RGBColor(150, 180, 225);
        let mean = RGBColor(200, 60, 30);
        let at = |i: usize, v: f64| ((i + 1) as f64, v);
        chart
            .draw_series(LineSeries::new(
                losses.iter().enumerate().map(|(i, &l)| at(i, l)),
                each.stroke_width(1),
            ))?
            .label("loss of each step")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], each.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                running_mean(losses)
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| at(i, m)),
                mean.stroke_width(2),
            ))?
            .label(format!("mean of the last {WINDOW} steps"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], mean.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()?;
        root.present()?;
    }
    Ok(text)
}

/// Draws the plot and writes it to `path`, atomically.
pub(crate) fn write(path: &Path, losses: &[f64], steps: usize, title: &str) -> anyhow::Result<()> {
    let text = svg(losses, steps, title).context("drawing the loss plot")?;
    crate::files::write_atomic(path, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_mean_covers_the_last_window() {
        let losses: Vec<f64> = (0..120).map(f64::from).collect();
        let m = running_mean(&losses);
        assert_eq!(m[0], 0.0);
        assert_eq!(m[9], 4.5, "the mean of 0..=9");
        // From step WINDOW on, the mean of the last WINDOW: (i - 49 + i) / 2.
        assert_eq!(m[99], 74.5);
        assert_eq!(m[119], 94.5);
    }

    #[test]
    fn the_svg_holds_the_title_axes_labels_and_both_lines() {
        let losses: Vec<f64> = (0..80).map(|i| 3.3 - f64::from(i) * 0.01).collect();
        let text = svg(&losses, 100, "loss <of> a run").unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..40]);
        // Each text element holds its text on a line of its own.
        for label in [
            "loss &lt;of&gt; a run",
            "step",
            "loss (nats per token)",
            "loss of each step",
            "mean of the last 50 steps",
            "100",
            "3.0",
        ] {
            assert!(
                text.contains(&format!(">\n{label}\n</text>")),
                "no text {label:?} in the SVG"
            );
        }
        // Each curve is one polyline of one point per step, in its own colour.
        for colour in ["#96B4E1", "#C83C1E"] {
            let curve = text.lines().find(|l| {
                l.contains("<polyline") && l.contains(colour) && l.matches(',').count() == 80
            });
            assert!(curve.is_some(), "no 80-point curve in {colour}");
        }
    }
}
