//! Threshold alerts: "screen-pop failures above 2% of calls in 5 minutes".
//!
//! Every few seconds the server counts, over the window, the records matching
//! the numerator condition and those matching the denominator condition, and
//! asks [`Alert::observe`] whether to fire. An alert fires when the ratio goes
//! above the threshold (with at least `minimum_count` records in the window),
//! once: it fires again only after the ratio has gone back to or below the
//! threshold (edge-triggered) and the cooldown since the last firing has passed.

use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdSpec {
    /// SOQL WHERE text: the records that count against the threshold.
    pub numerator: String,
    /// SOQL WHERE text: the records they are a share of.
    pub denominator: String,
    /// A DateTime field; the window is `now - window .. now` on it.
    pub window_field: String,
    pub window: Duration,
    /// Percent, e.g. 2.0.
    pub percent: f64,
    /// Fewer records than this in the denominator never fire.
    pub minimum_count: u64,
    pub cooldown: Duration,
}

/// The figures of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub count: u64,
    pub total: u64,
}

impl Figures {
    pub fn percent(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.count as f64 * 100.0 / self.total as f64 }
    }
}

/// One alert's memory between evaluations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alert {
    above: bool,
    last_fired: Option<OffsetDateTime>,
}

impl Alert {
    /// An alert that last fired at `at` (read back after a restart), assumed still above.
    pub fn fired_at(at: OffsetDateTime) -> Alert {
        Alert { above: true, last_fired: Some(at) }
    }

    pub fn last_fired(&self) -> Option<OffsetDateTime> {
        self.last_fired
    }

    /// Whether the figures cross the threshold now (fire the actions).
    pub fn observe(&mut self, spec: &ThresholdSpec, figures: Figures, now: OffsetDateTime) -> bool {
        let above = figures.total >= spec.minimum_count.max(1) && figures.percent() > spec.percent;
        if !above {
            self.above = false;
            return false;
        }
        let cooled = self.last_fired.is_none_or(|t| now - t >= spec.cooldown);
        let fire = !self.above && cooled;
        if fire {
            self.last_fired = Some(now);
            self.above = true;
        }
        fire
    }
}
