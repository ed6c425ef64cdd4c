//! Which delimiter separates the fields: `,` `;` tab or `|`, guessed from the start of the file.
//!
//! Each candidate parses the sample (quotes respected); the one whose records most often have
//! the same number of fields, more than one, wins. European Excel writes `;` because `,` is
//! the decimal mark there, so a `,` inside values must not outvote the real delimiter: a tie
//! on consistency goes to the candidate that yields more fields.

/// The delimiters tried, in order of preference on a full tie.
pub(crate) const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many records of the sample are looked at.
const SNIFF_RECORDS: usize = 50;

/// The delimiter of `sample`, the decoded start of the file; `complete` says the sample is the
/// whole file (else its last record may be cut short and is left out). A file whose every
/// record has one field either way gets `,`.
pub(crate) fn sniff(sample: &[u8], complete: bool) -> u8 {
    let mut best: Option<((usize, usize), u8)> = None;
    for delimiter in CANDIDATES {
        let Some((fields, consistent)) = shape(sample, complete, delimiter) else { continue };
        if fields < 2 {
            continue;
        }
        let score = (consistent, fields);
        if best.is_none_or(|(best_score, _)| score > best_score) {
            best = Some((score, delimiter));
        }
    }
    best.map_or(b',', |(_, delimiter)| delimiter)
}

/// The most common number of fields per record with `delimiter` (the larger on a tie), and
/// how many records have it. `None` when the sample has no record.
fn shape(sample: &[u8], complete: bool, delimiter: u8) -> Option<(usize, usize)> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(sample);
    let mut record = csv::ByteRecord::new();
    let mut counts = Vec::with_capacity(SNIFF_RECORDS + 1);
    while counts.len() <= SNIFF_RECORDS {
        match reader.read_byte_record(&mut record) {
            // A whitespace-only line says nothing; Excel's `;;;;` rows do vote.
            Ok(true) if record.len() == 1 && is_blank(&record) => {}
            Ok(true) => counts.push(record.len()),
            Ok(false) | Err(_) => break,
        }
    }
    if counts.len() > SNIFF_RECORDS {
        counts.truncate(SNIFF_RECORDS);
    } else if !complete && counts.len() > 1 {
        counts.pop();
    }
    counts.sort_unstable();
    counts.chunk_by(|a, b| a == b).map(|run| (run.len(), run[0])).max().map(|(consistent, fields)| (fields, consistent))
}

/// The delimiter Excel's `sep=;` first line names (Excel writes it, and reads it to split the
/// columns), or `None` when the file does not start with one. The line may be quoted.
pub(crate) fn excel_sep(sample: &[u8]) -> Option<u8> {
    let end = sample.iter().position(|&b| b == b'\n' || b == b'\r').unwrap_or(sample.len());
    let mut line = &sample[..end];
    // Spaces around it, but not a tab: `sep=<tab>` names the tab.
    while let [b' ', rest @ ..] = line {
        line = rest;
    }
    while let [rest @ .., b' '] = line {
        line = rest;
    }
    if let [b'"', inner @ .., b'"'] = line {
        line = inner;
    }
    match line {
        [s, e, p, b'=', delimiter]
            if s.eq_ignore_ascii_case(&b's')
                && e.eq_ignore_ascii_case(&b'e')
                && p.eq_ignore_ascii_case(&b'p')
                && (delimiter.is_ascii_punctuation() || *delimiter == b'\t')
                && *delimiter != b'"' =>
        {
            Some(*delimiter)
        }
        _ => None,
    }
}

/// A record whose every field is empty or whitespace: a blank line, or Excel's `;;;;`.
pub(crate) fn is_blank(record: &csv::ByteRecord) -> bool {
    // Most records have a visible byte in their first field: answer without decoding.
    record.iter().all(|field| !field.iter().any(u8::is_ascii_graphic) && is_blank_text(field))
}

fn is_blank_text(field: &[u8]) -> bool {
    match std::str::from_utf8(field) {
        Ok(text) => text.chars().all(|c| c.is_whitespace() || c == '\u{feff}' || c == '\u{1a}'),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_detected() {
        let table: &[(&str, &str, u8)] = &[
            ("comma", "email,name,reference\na@x.io,Ann,1\nb@x.io,Bob,2\n", b','),
            ("semicolon", "email;name;reference\na@x.io;Ann;1\nb@x.io;Bob;2\n", b';'),
            ("tab", "email\tname\treference\na@x.io\tAnn\t1\n", b'\t'),
            ("pipe", "email|name|reference\na@x.io|Ann|1\n", b'|'),
            (
                "semicolon with decimal commas",
                "email;name;reference;total\na@x.io;Ann;1;12,50\nb@x.io;Bob;2;3,99\n",
                b';',
            ),
            ("semicolon with a comma in every name", "email;name\na@x.io;Doe, Ann\nb@x.io;Roe, Bob\n", b';'),
            ("comma with quoted semicolons", "email,name,note\na@x.io,Ann,\"a;b;c;d\"\nb@x.io,Bob,\"x;y\"\n", b','),
            (
                "comma with a quoted line break",
                "email,name,note\na@x.io,Ann,\"line 1\nline 2; more\"\nb@x.io,Bob,x\n",
                b',',
            ),
            ("tab with commas in values", "email\tname\na@x.io\tDoe, Ann\nb@x.io\tRoe, Bob\n", b'\t'),
            ("one column", "email\na@x.io\nb@x.io\n", b','),
            ("header only", "email;name;reference\n", b';'),
            ("Excel blank lines", "email;name;ref\n;;\na@x.io;Ann;1\n;;\n", b';'),
            ("only Excel blank lines", ";;;\n;;;\n", b';'),
            ("whitespace lines", "email;name\n   \n\t\na@x.io;Ann\n   \n", b';'),
            ("CRLF", "email;name\r\na@x.io;Ann\r\n", b';'),
            ("empty", "", b','),
        ];
        for (what, sample, expected) in table {
            assert_eq!(sniff(sample.as_bytes(), true) as char, *expected as char, "{what}");
        }
    }

    #[test]
    fn a_record_cut_by_the_end_of_the_sample_does_not_vote() {
        // Cut short, the last line has as many `;` fields as the others, but fewer `,` ones.
        let sample = "a,b;c,d\ne,f;g,h\ni,j;k,l\nm,n;o";
        assert_eq!(sniff(sample.as_bytes(), false), b',');
        assert_eq!(sniff(sample.as_bytes(), true), b';');
    }

    #[test]
    fn excel_sep_lines_name_the_delimiter() {
        let table: &[(&str, Option<u8>)] = &[
            ("sep=;\r\nemail;name\r\n", Some(b';')),
            ("sep=,\nemail,name\n", Some(b',')),
            ("SEP=|\n", Some(b'|')),
            ("sep=\t\nemail\tname\n", Some(b'\t')),
            ("\"sep=;\"\nemail;name\n", Some(b';')),
            ("sep=;  \n", Some(b';')),
            ("sep=;", Some(b';')),
            ("sep=\n", None),
            ("sep=ab\n", None),
            ("sep=a\n", None),
            ("separator,name\n", None),
            ("email,name\nsep=;\n", None),
            ("", None),
        ];
        for (sample, expected) in table {
            assert_eq!(excel_sep(sample.as_bytes()), *expected, "{sample:?}");
        }
    }

    #[test]
    fn blank_records() {
        let blank = |fields: &[&str]| is_blank(&csv::ByteRecord::from(fields.to_vec()));
        assert!(blank(&[""]));
        assert!(blank(&["", " ", "\t", "\u{a0}"]));
        assert!(blank(&["\u{1a}"]));
        assert!(!blank(&["", "x"]));
    }
}
