//! Formula neutralisation: a cell a spreadsheet would evaluate gets a leading `'`, which the
//! tool's own reader removes again, so what is read back is exactly what was written.

use std::borrow::Cow;

/// Characters that make Excel or LibreOffice treat a cell as a formula (OWASP's list), plus
/// `'` itself so that the escape can be undone without ambiguity.
fn needs_guard(value: &str) -> bool {
    matches!(value.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\''))
}

/// The cell as written to a file a person may open in a spreadsheet.
pub fn protect(value: &str) -> Cow<'_, str> {
    if needs_guard(value) { Cow::Owned(format!("'{value}")) } else { Cow::Borrowed(value) }
}

/// The value a [`protect`]ed cell holds.
pub fn unprotect(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_restored() {
        let table = [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'t Hooft", "''t Hooft"),
            ("Jane", "Jane"),
            ("", ""),
            ("a=b", "a=b"),
        ];
        for (value, cell) in table {
            assert_eq!(protect(value), cell, "{value:?}");
            assert_eq!(unprotect(&protect(value)), value, "{value:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn protect_round_trips(value in ".*") {
            let cell = protect(&value);
            proptest::prop_assert_eq!(unprotect(&cell), value.as_str());
            proptest::prop_assert!(!matches!(cell.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')));
        }
    }
}
