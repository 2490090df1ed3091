//! Payment card numbers (PANs): 13–19 digits that pass the Luhn check,
//! however they are grouped or spelled.

use crate::lex::{Lexed, SepClass};
use crate::luhn::luhn_valid;
use std::ops::Range;

/// Shortest PAN (ISO/IEC 7812 allows 8, but no scheme issues fewer than 13
/// today, and shorter numbers are mostly phone numbers and references).
pub(crate) const MIN_DIGITS: usize = 13;
/// Longest PAN.
pub(crate) const MAX_DIGITS: usize = 19;

/// A card number found in the text. No `Debug`: it holds the last four digits.
pub(crate) struct CardHit {
    pub range: Range<usize>,
    pub last4: String,
}

/// Finds card numbers: in each run of digit groups, the set of
/// non-overlapping windows of whole groups that are 13–19 digits long and
/// pass the Luhn check which covers the most digits.
///
/// Windows are made of whole groups: a longer number written without
/// separators is one group, and never yields a card from its middle, so a
/// 20-digit reference or a 16-digit order number that fails Luhn is kept.
/// Groups written in figures inside one window must be separated alike (all
/// spaces, all dashes or all dots); spelled-out digits may be separated any
/// way.
pub(crate) fn find(lexed: &Lexed) -> Vec<CardHit> {
    let mut hits = Vec::new();
    for run in &lexed.runs {
        let nums: Vec<_> = run.items.iter().map(|&i| lexed.num(i).expect("runs hold numbers")).collect();
        if nums.iter().map(|n| n.digits.len()).sum::<usize>() < MIN_DIGITS {
            continue;
        }
        let n = nums.len();
        // best[i]: the most digits coverable by windows within groups i..;
        // choice[i]: the last group of the window that starts at i, if taken.
        let mut best = vec![0usize; n + 1];
        let mut choice: Vec<Option<usize>> = vec![None; n];
        let mut digits = String::with_capacity(MAX_DIGITS);
        for i in (0..n).rev() {
            best[i] = best[i + 1];
            digits.clear();
            let mut figure_sep: Option<SepClass> = None;
            for j in i..n {
                if j > i && nums[j - 1].figures && nums[j].figures {
                    let sep = run.bridges[j - 1];
                    if sep == SepClass::Mixed || figure_sep.is_some_and(|s| s != sep) {
                        break;
                    }
                    figure_sep = Some(sep);
                }
                if digits.len() + nums[j].digits.len() > MAX_DIGITS {
                    break;
                }
                digits.push_str(&nums[j].digits);
                if digits.len() >= MIN_DIGITS && luhn_valid(&digits) && digits.len() + best[j + 1] > best[i] {
                    best[i] = digits.len() + best[j + 1];
                    choice[i] = Some(j);
                }
            }
        }
        let mut i = 0;
        while i < n {
            let Some(j) = choice[i] else {
                i += 1;
                continue;
            };
            let all: String = nums[i..=j].iter().map(|n| n.digits.as_str()).collect();
            let range = lexed.items[run.items[i]].range.start..lexed.items[run.items[j]].range.end;
            hits.push(CardHit { range, last4: all[all.len() - 4..].to_owned() });
            i = j + 1;
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::lex;

    fn found(text: &str) -> Vec<&str> {
        let l = lex(text);
        find(&l).into_iter().map(|h| &text[h.range]).collect()
    }

    #[test]
    fn grouped_and_spelled() {
        assert_eq!(found("is 4111 1111 1111 1111."), ["4111 1111 1111 1111"]);
        assert_eq!(found("4111111111111111"), ["4111111111111111"]);
        assert_eq!(found("3782 822463 10005"), ["3782 822463 10005"]);
    }

    #[test]
    fn whole_groups_only() {
        assert!(found("41111111111111112").is_empty());
        assert!(found("4111111111111112").is_empty());
    }

    #[test]
    fn figures_separated_alike() {
        assert!(found("4111-1111 1111.1111").is_empty());
        assert_eq!(found("x 4111-1111-1111-1111 1234"), ["4111-1111-1111-1111"]);
    }

    #[test]
    fn the_cover_prefers_more_digits() {
        // "0" in front keeps the Luhn sum, so the 17-digit window wins.
        assert_eq!(found("oh 4111 1111 1111 1111"), ["oh 4111 1111 1111 1111"]);
    }
}
