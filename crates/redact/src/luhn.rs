//! The Luhn (mod 10) check that every payment card number carries.

/// Whether `digits` passes the Luhn check.
///
/// `digits` must be ASCII digits only, with no separators; anything else
/// (including the empty string) is `false`. Every payment card number passes
/// this check, and about one random digit string in ten does too, which is why
/// the card detector also insists on 13–19 digits.
///
/// ```
/// assert!(dialtone_redact::luhn_valid("4111111111111111"));
/// assert!(!dialtone_redact::luhn_valid("4111111111111112"));
/// assert!(!dialtone_redact::luhn_valid("4111 1111 1111 1111"));
/// ```
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum = (sum + d) % 10;
    }
    sum == 0
}

#[cfg(test)]
mod tests {
    use super::luhn_valid;

    #[test]
    fn known_numbers() {
        for ok in ["4111111111111111", "378282246310005", "6011111111111117", "79927398713", "0", "00"] {
            assert!(luhn_valid(ok), "{ok}");
        }
        for bad in ["4111111111111112", "79927398710", "", "12a4", "４１"] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }
}
