//! End-to-end tests of the reader: bytes in a file in, records with rows and lines out.

use std::io::Write;

use super::*;

fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    file
}

/// One record as the tests compare it: row, line, email, name, reference, short.
type Row = (u64, u64, Option<String>, Option<String>, Option<String>, Option<(usize, usize)>);

fn read_all(input: &mut Input) -> Vec<Row> {
    let mut rows = Vec::new();
    while let Some(record) = input.next_record().unwrap() {
        let get = |field| record.get(field).map(|value: Cow<str>| value.into_owned());
        rows.push((
            record.row(),
            record.line(),
            get(Field::Email),
            get(Field::Name),
            get(Field::Reference),
            record.short(),
        ));
    }
    // The end stays the end.
    assert!(input.next_record().unwrap().is_none());
    rows
}

fn read(bytes: &[u8], options: &InputOptions) -> (Input, Vec<Row>, tempfile::NamedTempFile) {
    let file = file_with(bytes);
    let mut input = Input::open(file.path(), options).unwrap_or_else(|e| panic!("{e}"));
    let rows = read_all(&mut input);
    (input, rows, file)
}

fn row(row: u64, line: u64, email: &str, name: &str, reference: &str) -> Row {
    (row, line, Some(email.into()), Some(name.into()), Some(reference.into()), None)
}

fn open_err(bytes: &[u8], options: &InputOptions) -> InputError {
    let file = file_with(bytes);
    Input::open(file.path(), options).unwrap_err()
}

const TEXT: &str = "Email,Name,Reference\nrené@example.com,René Ørsted,A-1\nzoë@example.com,Zoë Müller,A-2\n";

fn utf16(text: &str, little: bool) -> Vec<u8> {
    let mut out = if little { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
    for unit in text.encode_utf16() {
        out.extend(if little { unit.to_le_bytes() } else { unit.to_be_bytes() });
    }
    out
}

#[test]
fn every_encoding_gives_the_same_rows() {
    let crlf = TEXT.replace('\n', "\r\n");
    let table: Vec<(&str, Vec<u8>, Option<&'static encoding_rs::Encoding>, &str)> = vec![
        ("UTF-8", TEXT.as_bytes().to_vec(), None, "UTF-8"),
        ("UTF-8 BOM", [b"\xEF\xBB\xBF", TEXT.as_bytes()].concat(), None, "UTF-8 (BOM)"),
        ("UTF-8 BOM CRLF", [b"\xEF\xBB\xBF", crlf.as_bytes()].concat(), None, "UTF-8 (BOM)"),
        ("UTF-16LE", utf16(TEXT, true), None, "UTF-16LE"),
        ("UTF-16LE CRLF", utf16(&crlf, true), None, "UTF-16LE"),
        ("UTF-16BE", utf16(TEXT, false), None, "UTF-16BE"),
        ("Windows-1252", encoding_rs::WINDOWS_1252.encode(TEXT).0.into_owned(), None, "windows-1252"),
        ("Windows-1252 CRLF", encoding_rs::WINDOWS_1252.encode(&crlf).0.into_owned(), None, "windows-1252"),
        (
            "explicit ISO-8859-15",
            encoding_rs::ISO_8859_15.encode(TEXT).0.into_owned(),
            Some(encoding_rs::ISO_8859_15),
            "ISO-8859-15",
        ),
    ];
    let expected =
        vec![row(1, 2, "rené@example.com", "René Ørsted", "A-1"), row(2, 3, "zoë@example.com", "Zoë Müller", "A-2")];
    for (what, bytes, encoding, name) in table {
        let options = InputOptions { encoding, ..InputOptions::default() };
        let (input, rows, _file) = read(&bytes, &options);
        assert_eq!(input.encoding_name(), name, "{what}");
        assert_eq!(input.delimiter(), b',', "{what}");
        assert_eq!(rows, expected, "{what}");
        assert_eq!(input.mapping().column_of(Field::Email).as_deref(), Some("Email"), "{what}");
    }
}

#[test]
fn every_delimiter_is_detected_and_can_be_given() {
    for delimiter in [b',', b';', b'\t', b'|'] {
        let text = TEXT.replace(',', &(delimiter as char).to_string());
        let (input, rows, _file) = read(text.as_bytes(), &InputOptions::default());
        assert_eq!(input.delimiter(), delimiter);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].4.as_deref(), Some("A-2"));
    }
    // A given delimiter wins over detection.
    let text = "email;name;ref\na@x.io;Ann;1\n";
    let options = InputOptions { delimiter: Some(b','), ..InputOptions::default() };
    let error = open_err(text.as_bytes(), &options);
    assert_eq!(error.code(), "input.column_missing");
}

#[test]
fn line_numbers_follow_the_physical_lines() {
    type Rows<'a> = &'a [(u64, u64, &'a str)];
    let table: &[(&str, &str, Rows)] = &[
        ("LF", "email,name,ref\na@x.io,A,1\nb@x.io,B,2\n", &[(1, 2, "A"), (2, 3, "B")]),
        ("CRLF", "email,name,ref\r\na@x.io,A,1\r\nb@x.io,B,2\r\n", &[(1, 2, "A"), (2, 3, "B")]),
        ("CR (old Mac Excel)", "email,name,ref\ra@x.io,A,1\rb@x.io,B,2\r", &[(1, 2, "A"), (2, 3, "B")]),
        (
            "multi-line quoted field",
            "email,name,ref\na@x.io,\"A\nline 2\nline 3\",1\nb@x.io,B,2\n",
            &[(1, 2, "A\nline 2\nline 3"), (2, 5, "B")],
        ),
        (
            "multi-line quoted field with CRLF",
            "email,name,ref\r\na@x.io,\"A\r\nline 2\",1\r\nb@x.io,B,2\r\n",
            &[(1, 2, "A\r\nline 2"), (2, 4, "B")],
        ),
        (
            "blank lines and Excel's empty rows",
            "email;name;ref\n\n;;\na@x.io;A;1\n  ;\t;\n\nb@x.io;B;2\n;;\n;;\n\n",
            &[(1, 4, "A"), (2, 7, "B")],
        ),
        ("blank lines before the header", "\n\nemail,name,ref\na@x.io,A,1", &[(1, 4, "A")]),
        ("no final line break", "email,name,ref\na@x.io,A,1", &[(1, 2, "A")]),
        (
            "quotes, doubled quotes and delimiters in values",
            "email,name,ref\n\"a@x.io\",\"Doe, \"\"Jo\"\"\",\"1,2\"\n",
            &[(1, 2, "Doe, \"Jo\"")],
        ),
        ("DOS end-of-file mark", "email,name,ref\r\na@x.io,A,1\r\n\u{1a}", &[(1, 2, "A")]),
    ];
    for (what, text, expected) in table {
        let (_, rows, _file) = read(text.as_bytes(), &InputOptions::default());
        let got: Vec<(u64, u64, &str)> = rows.iter().map(|r| (r.0, r.1, r.3.as_deref().unwrap())).collect();
        assert_eq!(got, *expected, "{what}");
    }
}

#[test]
fn line_numbers_hold_in_utf16_and_windows_1252() {
    let text = "email;name;ref\r\n\r\na@x.io;\"Ann\r\nB\";1\r\nb@x.io;Bø;2\r\n";
    for bytes in [utf16(text, true), encoding_rs::WINDOWS_1252.encode(text).0.into_owned()] {
        let (_, rows, _file) = read(&bytes, &InputOptions::default());
        let got: Vec<(u64, u64)> = rows.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(got, vec![(1, 3), (2, 5)]);
    }
}

#[test]
fn values_are_raw_but_header_names_are_trimmed() {
    let text = " Email , Name ,Reference \n  a@x.io , Ann ,\t1\n";
    let (input, rows, _file) = read(text.as_bytes(), &InputOptions::default());
    assert_eq!(rows, vec![row(1, 2, "  a@x.io ", " Ann ", "\t1")]);
    assert_eq!(input.mapping().column_of(Field::Email).as_deref(), Some("Email"));
}

#[test]
fn ragged_rows_are_flagged_short() {
    let text = "email,name,ref,notes\na@x.io,A,1,n\nb@x.io,B\nc@x.io,C,3\nd@x.io,D,4,n,extra\n";
    let (_, rows, _file) = read(text.as_bytes(), &InputOptions::default());
    let shorts: Vec<_> = rows.iter().map(|r| r.5).collect();
    assert_eq!(shorts, vec![None, Some((2, 4)), Some((3, 4)), None]);
    // A field the record is too short to hold is None.
    assert_eq!(rows[1].4, None);
}

#[test]
fn first_and_last_names_are_joined() {
    let text = "Email,First Name,Last Name,Order ID\n\
                a@x.io, Ann , Lee ,1\n\
                b@x.io,Bob,,2\n\
                c@x.io,,Cole,3\n\
                d@x.io,,,4\n\
                e@x.io,Eve\n";
    let (input, rows, _file) = read(text.as_bytes(), &InputOptions::default());
    let names: Vec<Option<&str>> = rows.iter().map(|r| r.3.as_deref()).collect();
    assert_eq!(names, vec![Some("Ann Lee"), Some("Bob"), Some("Cole"), Some(""), Some("Eve")]);
    assert_eq!(input.mapping().column_of(Field::Name).as_deref(), Some("First Name + Last Name"));
    assert!(input.mapping().describe().contains("name      <- \"First Name\" + \"Last Name\""));
}

#[test]
fn a_shopify_order_export_maps_name_to_reference() {
    let text = "Name,Email,Financial Status,Paid at,Lineitem name,Billing Name,Shipping Name,Id\n\
                #1001,ann@example.com,paid,2024-01-01,Mug,Ann Lee,Ann Lee,4501\n\
                #1001,,,,Plate,,,4501\n";
    let (input, rows, _file) = read(text.as_bytes(), &InputOptions::default());
    assert!(input.mapping().shopify());
    assert_eq!(rows[0], row(1, 2, "ann@example.com", "Ann Lee", "#1001"));
    assert_eq!(rows[1], row(2, 3, "", "", "#1001"));
    let describe = input.mapping().describe();
    assert!(
        describe.contains("reference <- \"Name\" (Shopify order export: the order number, without its '#')"),
        "{describe}"
    );
}

#[test]
fn map_overrides_and_a_bad_map_fails() {
    let text = "Kontakt,Mail,Beleg\nAnn,a@x.io,7\n";
    let maps = vec![
        ("email".to_string(), "mail".to_string()),
        ("name".to_string(), "Kontakt".to_string()),
        ("reference".to_string(), "BELEG".to_string()),
    ];
    let options = InputOptions { maps, ..InputOptions::default() };
    let (_, rows, _file) = read(text.as_bytes(), &options);
    assert_eq!(rows, vec![row(1, 2, "a@x.io", "Ann", "7")]);

    let options = InputOptions { maps: vec![("email".into(), "E-mail".into())], ..InputOptions::default() };
    let error = open_err(text.as_bytes(), &options);
    assert_eq!(error.code(), "input.unknown_column");
    assert!(error.to_string().contains("\"Kontakt\", \"Mail\", \"Beleg\""), "{error}");
}

#[test]
fn no_header_reads_email_name_reference_by_position() {
    let text = "\na@x.io,Ann,1,extra\nb@x.io,Bob\n";
    let options = InputOptions { no_header: true, ..InputOptions::default() };
    let (_, rows, _file) = read(text.as_bytes(), &options);
    assert_eq!(
        rows,
        vec![
            (1, 2, Some("a@x.io".into()), Some("Ann".into()), Some("1".into()), None),
            (2, 3, Some("b@x.io".into()), Some("Bob".into()), None, Some((2, 3))),
        ]
    );
    let (_, rows, _file) = read(b"a@x.io,Ann,1", &options);
    assert_eq!(rows, vec![row(1, 1, "a@x.io", "Ann", "1")]);
    // A column by name or by the number 0: each says what to write instead.
    for (column, says) in [("Ref", "columns have no names"), ("0", "columns are counted from 1"), ("#0", "from 1")] {
        let maps = vec![("reference".to_string(), column.to_string())];
        let error = open_err(b"a@x.io,Ann,1\n", &InputOptions { maps, ..options.clone() });
        assert!(error.to_string().contains(says), "{column}: {error}");
    }
}

#[test]
fn missing_columns_fail_at_open() {
    let error = open_err(b"Email,Name\na@x.io,Ann\n", &InputOptions::default());
    assert_eq!(error.code(), "input.column_missing");
    let message = error.to_string();
    assert!(message.starts_with("'") && message.contains("has no column for the field reference."), "{message}");
    assert!(message.contains("The columns found are: \"Email\", \"Name\"."), "{message}");
    assert!(message.contains("--map reference="), "{message}");
}

#[test]
fn empty_files_are_refused() {
    for bytes in [&b""[..], b"\xEF\xBB\xBF", b"\n\n\r\n", b";;;\n;;;\n", b"\xFF\xFE"] {
        let error = open_err(bytes, &InputOptions::default());
        assert_eq!(error.code(), "input.empty", "{bytes:?}");
        let options = InputOptions { no_header: true, ..InputOptions::default() };
        assert_eq!(open_err(bytes, &options).code(), "input.empty", "{bytes:?}");
    }
    // A header and no rows is fine: there is nothing to do.
    let (_, rows, _file) = read(b"email,name,reference\r\n\r\n", &InputOptions::default());
    assert!(rows.is_empty());
}

#[test]
fn binary_files_are_refused() {
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10";
    let error = open_err(png, &InputOptions::default());
    assert_eq!(error.code(), "input.encoding");
    assert!(error.to_string().contains("does not look like a CSV text file: it is a PNG image"), "{error}");

    let error = open_err(b"email,name,ref\na@x.io,\x00\x00,1\n", &InputOptions::default());
    assert_eq!(error.code(), "input.encoding");
    assert!(error.to_string().contains("does not look like a CSV text file"), "{error}");
    assert!(error.to_string().contains("--encoding"), "{error}");

    // Pseudo-random bytes (an LCG, so the test is repeatable).
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let noise: Vec<u8> = (0..20_000)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    let error = open_err(&noise, &InputOptions::default());
    assert_eq!(error.code(), "input.encoding");
}

#[test]
fn an_unclosed_quote_is_an_error_not_a_swallowed_file() {
    let mut text = String::from("email,name,ref\na@x.io,\"Ann,1\n");
    for i in 0..200 {
        text.push_str(&format!("b{i}@x.io,B,{i}\n"));
    }
    let file = file_with(text.as_bytes());
    let mut input = Input::open(file.path(), &InputOptions::default()).unwrap();
    let error = input.next_record().unwrap_err();
    assert_eq!(error.code(), "input.malformed");
    assert_eq!(error.line(), Some(2));
    assert!(error.to_string().contains("never closed"), "{error}");
}

#[test]
fn an_unclosed_quote_in_a_huge_file_stops_reading_instead_of_holding_it_all() {
    let mut text = String::from("email,name,ref\na@x.io,Ann,1\n\nb@x.io,\"Bob,2\n");
    text.push_str(&"c@x.io,Cy,3\n".repeat((MAX_RECORD_BYTES / 12 + 1000) as usize));
    let file = file_with(text.as_bytes());
    let mut input = Input::open(file.path(), &InputOptions::default()).unwrap();
    assert_eq!(input.next_record().unwrap().unwrap().line(), 2);
    let error = input.next_record().unwrap_err();
    assert_eq!(error.code(), "input.malformed");
    // The blank line before the record is where the search starts.
    assert_eq!(error.line(), Some(3));
    assert!(error.to_string().contains("more than 16 MiB"), "{error}");
}

#[test]
fn explicit_utf8_with_invalid_bytes_names_the_line() {
    let options = InputOptions { encoding: Some(encoding_rs::UTF_8), ..InputOptions::default() };
    let error = open_err(b"email,name,ref\na@x.io,Ann,1\nb@x.io,Ren\xe9,2\n", &options);
    assert_eq!(error.code(), "input.encoding");
    assert_eq!(error.line(), Some(3));
    assert!(error.to_string().contains("--encoding windows-1252"), "{error}");
}

#[test]
fn a_pipe_is_read_too() {
    // A FIFO cannot be scanned twice: the encoding is decided from its start, and a bad byte
    // later on is reported by line.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.csv");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !status.is_ok_and(|s| s.success()) {
        return;
    }
    let writer_path = fifo.clone();
    // More than the 8 KiB the encoding is decided from, before the bad byte.
    let mut text = b"email;name;ref\r\n".to_vec();
    for i in 0..1000 {
        text.extend_from_slice(format!("a{i}@x.io;Ann;{i}\r\n").as_bytes());
    }
    text.extend_from_slice(b"b@x.io;B\xe9;2\r\n");
    let writer = std::thread::spawn(move || {
        let mut pipe = std::fs::OpenOptions::new().write(true).open(writer_path).unwrap();
        // The reader may stop at the error and close its end early.
        let _ = pipe.write_all(&text);
    });
    let mut input = Input::open(&fifo, &InputOptions::default()).unwrap();
    assert_eq!(input.encoding_name(), "UTF-8");
    assert_eq!(input.delimiter(), b';');
    for line in 2..1002 {
        assert_eq!(input.next_record().unwrap().unwrap().line(), line);
    }
    let error = input.next_record().unwrap_err();
    assert_eq!(error.code(), "input.encoding");
    assert_eq!(error.line(), Some(1002));
    assert!(error.to_string().contains("line 1002, column 2"), "{error}");
    drop(input);
    writer.join().unwrap();
}

#[test]
fn a_million_rows_stream_quickly() {
    // Not a benchmark, a tripwire: per-row allocations or quadratic work show up here.
    let mut text = String::from("email,name,reference\n");
    for i in 0..200_000 {
        text.push_str(&format!("customer{i}@example.com,Customer {i},INV-{i:07}\n"));
    }
    let file = file_with(text.as_bytes());
    let started = std::time::Instant::now();
    let mut input = Input::open(file.path(), &InputOptions::default()).unwrap();
    let mut rows = 0;
    let mut bytes = 0;
    while let Some(record) = input.next_record().unwrap() {
        rows += 1;
        bytes += record.get(Field::Email).map_or(0, |v| v.len());
    }
    assert_eq!(rows, 200_000);
    assert!(bytes > 0);
    // Generous even for a debug build on a slow machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}

/// Reads every record up to the end or an error, asking each for every field: lines only go
/// forward.
fn walk(input: &mut Input) -> Result<(), proptest::test_runner::TestCaseError> {
    let mut last_line = 0;
    while let Ok(Some(record)) = input.next_record() {
        proptest::prop_assert!(record.line() > last_line);
        last_line = record.line();
        for field in Field::ALL {
            let _ = record.get(field);
        }
        let _ = record.short();
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
                                   no_header in proptest::prelude::any::<bool>()) {
        let file = file_with(&bytes);
        let options = InputOptions { no_header, ..InputOptions::default() };
        if let Ok(mut input) = Input::open(file.path(), &options) {
            let _ = input.mapping().describe();
            walk(&mut input)?;
        }
    }

    #[test]
    fn reports_with_framing_never_panic(lines in proptest::collection::vec(proptest::sample::select(vec![
        "sep=;", "sep=,", "Orders report", "Email,Name,Order ID", "Email;Name;Order ID", "ann@x.io,Ann,1",
        "ann@x.io;Ann;1", ",,", "3,record(s) downloaded,from a to b", "Seller ID : shop", "Page 1 of 2", "",
        "\"q,\"\"", ",,Blue Mug", "1,,", "Name,Email,Financial Status,Billing Name",
    ]), 0..12)) {
        let text = lines.join("\n");
        let file = file_with(text.as_bytes());
        if let Ok(mut input) = Input::open(file.path(), &InputOptions::default()) {
            let _ = input.mapping().describe();
            walk(&mut input)?;
            for skipped in input.skipped_lines() {
                proptest::prop_assert!(skipped.line >= 1 && !skipped.describe().is_empty());
            }
        }
    }

    #[test]
    fn csv_like_text_never_panics(text in "[a-z@.,;\t|\"\r\n ]{0,400}", no_header in proptest::prelude::any::<bool>()) {
        let file = file_with(text.as_bytes());
        let options = InputOptions { no_header, maps: vec![], ..InputOptions::default() };
        let header = format!("email,name,reference\n{text}");
        let with_header = file_with(header.as_bytes());
        for path in [file.path(), with_header.path()] {
            if let Ok(mut input) = Input::open(path, &options) {
                walk(&mut input)?;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The platforms' real export layouts, in sample-data/platforms/

fn sample(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/platforms").join(name)
}

fn open_sample(name: &str, maps: &[(&str, &str)]) -> Result<Input, InputError> {
    let maps = maps.iter().map(|(f, c)| (f.to_string(), c.to_string())).collect();
    Input::open(&sample(name), &InputOptions { maps, ..InputOptions::default() })
}

/// The mapping's lines, one string each.
fn lines_of(input: &Input) -> Vec<String> {
    input.mapping().describe().lines().map(str::to_string).collect()
}

#[test]
fn platform_exports_are_read_without_a_map() {
    // (file, the email, name and reference lines, other lines the mapping shows, records)
    type Case<'a> = (&'a str, [&'a str; 3], &'a [&'a str], usize);
    let table: &[Case] = &[
        (
            "shopify-orders.csv",
            [
                "\"Email\"",
                "\"Billing Name\", else \"Shipping Name\" (Shopify order export: \"Name\" holds the order number)",
                "\"Name\" (Shopify order export: the order number, without its '#')",
            ],
            &[
                "  not sent: \"Tags\", \"Location\" (Shopify's own order data, not Trustpilot's; to send one anyway, add \
               --map tags=\"Tags\")",
            ],
            6,
        ),
        (
            "shopify-customers.csv",
            [
                "\"Email\"",
                "\"First Name\" + \"Last Name\"",
                "\"Customer ID\" (a customer id: the file has no order number)",
            ],
            &[
                "  not sent: \"Tags\" (the shop's own data, not Trustpilot's; to send it anyway, add --map tags=\"Tags\")",
            ],
            4,
        ),
        (
            "woocommerce-orders.csv",
            [
                "\"customer_email\", else \"billing_email\"",
                "\"billing_first_name\" + \"billing_last_name\", else \"shipping_first_name\" + \"shipping_last_name\"",
                "\"order_number\", else \"order_id\"",
            ],
            &[],
            3,
        ),
        (
            "woocommerce-order-items.csv",
            ["\"Billing Email\"", "\"Billing First Name\" + \"Billing Last Name\"", "\"Order Number\""],
            &["  not the customer's name: \"Name\" (beside \"SKU\", it names the product; if it holds the customer's \
               name, add --map name=\"Name\")"],
            3,
        ),
        ("magento-orders.csv", ["\"Customer Email\"", "\"Customer Name\", else \"Bill-to Name\"", "\"ID\""], &[], 3),
        (
            "magento-customers.csv",
            ["\"Email\"", "\"Billing Firstname\" + \"Billing Lastname\", else \"Name\"", "\"ID\""],
            &[
                "  passed over: \"Name\" for \"Billing Firstname\" + \"Billing Lastname\", except where both are empty (to \
               take every name from \"Name\", add --map name=\"Name\")",
            ],
            3,
        ),
        (
            "bigcommerce-orders.csv",
            [
                "\"Customer Email\", else \"Billing Email\"",
                "\"Customer Name\", else \"Billing First Name\" + \"Billing Last Name\"",
                "\"Order ID\"",
            ],
            &[],
            3,
        ),
        (
            "bigcommerce-customers.csv",
            [
                "\"Email\"",
                "\"First Name\" + \"Last Name\"",
                "\"Customer ID\" (a customer id: the file has no order number)",
            ],
            &[],
            2,
        ),
        ("prestashop-customers.csv", ["\"Email address\"", "\"First name\" + \"Last name\"", "\"ID\""], &[], 2),
        ("squarespace-orders.csv", ["\"Email\"", "\"Billing Name\", else \"Shipping Name\"", "\"Order ID\""], &[], 4),
        (
            "ebay-orders.csv",
            ["\"Buyer Email\"", "\"Buyer Name\", else \"Ship To Name\"", "\"Order Number\", else \"Transaction ID\""],
            &[],
            3,
        ),
        ("amazon-orders.txt", ["\"buyer-email\"", "\"buyer-name\", else \"recipient-name\"", "\"order-id\""], &[], 3),
        ("stripe-customers.csv", ["\"Email\"", "\"Name\", else \"Card Name\"", "\"id\""], &[], 2),
        (
            "mailchimp-audience.csv",
            [
                "\"Email Address\"",
                "\"First Name\" + \"Last Name\"",
                "\"LEID\", else \"EUID\" (a customer id: the file has no order number)",
            ],
            &[
                "  not sent: \"TAGS\" (the shop's own data, not Trustpilot's; to send it anyway, add --map tags=\"TAGS\")",
            ],
            3,
        ),
        (
            "hubspot-contacts.csv",
            [
                "\"Email\"",
                "\"First Name\" + \"Last Name\"",
                "\"Record ID\" (a customer id: the file has no order number)",
            ],
            &[],
            2,
        ),
        (
            "klaviyo-profiles.csv",
            [
                "\"Email\"",
                "\"First Name\" + \"Last Name\"",
                "\"Klaviyo ID\" (a customer id: the file has no order number)",
            ],
            &[],
            2,
        ),
    ];
    for (file, [email, name, reference], notes, records) in table {
        let mut input = open_sample(file, &[]).unwrap_or_else(|e| panic!("{file}: {e}"));
        let lines = lines_of(&input);
        let expected = [
            format!("  email     <- {email}"),
            format!("  name      <- {name}"),
            format!("  reference <- {reference}"),
        ];
        assert_eq!(lines[..3], expected, "{file}");
        for note in *notes {
            assert!(lines.iter().any(|line| line == note), "{file}: no line\n{note}\nin\n{}", lines.join("\n"));
        }
        assert_eq!(input.mapping().column_of(Field::Tags), None, "{file}: a platform's tags are never Trustpilot's");
        assert_eq!(read_all(&mut input).len(), *records, "{file}");
    }
}

#[test]
fn platform_exports_without_a_column_say_which_map_fixes_it() {
    let table: &[(&str, &str)] = &[
        (
            "woocommerce-customers.csv",
            "Say which column holds each field, e.g. --map reference=\"Username\"\nA list without order numbers can \
             use the email as the reference: --map reference=\"Email\"",
        ),
        ("stripe-payments.csv", "Say which column holds each field, e.g. --map name=\"Customer Description\""),
        // No email address in the file at all: nothing to suggest.
        ("etsy-sold-orders.csv", "Say which column holds each field, e.g. --map email=\"<column name>\""),
        (
            "prestashop-orders.csv",
            "Say which column holds each field, e.g. --map email=\"<column name>\" --map name=\"Customer\"",
        ),
    ];
    for (file, ending) in table {
        let error = open_sample(file, &[]).unwrap_err();
        assert_eq!(error.code(), "input.column_missing", "{file}");
        assert!(error.to_string().ends_with(ending), "{file}:\n{error}");
    }
    // Counts, phone numbers and free text are never suggested.
    let text =
        "Email Address,Full Name,Total Orders,Phone Number,prefix,Orders,Notes\nann@example.com,Ann,3,555,Dr,3,x\n";
    let error = open_err(text.as_bytes(), &InputOptions::default()).to_string();
    assert!(
        error.ends_with(
            "Say which column holds each field, e.g. --map reference=\"<column name>\"\nA list without order numbers can \
             use the email as the reference: --map reference=\"Email Address\""
        ),
        "{error}"
    );
    // A second identifier-like column is named as well.
    let error = open_err(b"Email,Name,Member No,Account ID\n", &InputOptions::default()).to_string();
    assert!(
        error.contains("e.g. --map reference=\"Member No\" (other candidates, reference: \"Account ID\")"),
        "{error}"
    );
}

#[test]
fn the_map_the_message_suggests_makes_the_export_work() {
    // One column serves as email and reference.
    let mut input = open_sample("woocommerce-customers.csv", &[("reference", "Email")]).unwrap();
    assert_eq!(
        lines_of(&input)[..3],
        [
            "  email     <- \"Email\" (also the reference)",
            "  name      <- \"Name\"",
            "  reference <- \"Email\" (--map; also the email)",
        ]
    );
    let rows = read_all(&mut input);
    assert_eq!(rows[1], row(2, 3, "yusuf.kaya@example.org", "Yusuf Kaya", "yusuf.kaya@example.org"));

    let mut input = open_sample("stripe-payments.csv", &[("name", "Customer Description")]).unwrap();
    assert_eq!(lines_of(&input)[2], "  reference <- \"Invoice ID\", else \"id\"");
    let rows = read_all(&mut input);
    // The payment without an invoice is known by its own id.
    assert_eq!(rows[1], row(2, 3, "arjun.mehta@example.org", "Arjun Mehta", "ch_3OyQ1a2b3c4d5e70"));

    // The product's Name taken after all, and a shop's tags sent as Trustpilot's.
    let input = open_sample("woocommerce-order-items.csv", &[("name", "Name")]).unwrap();
    assert_eq!(lines_of(&input)[1], "  name      <- \"Name\" (--map)");
    let input = open_sample("shopify-customers.csv", &[("tags", "Tags")]).unwrap();
    assert_eq!(input.mapping().column_of(Field::Tags).as_deref(), Some("Tags"));
}

#[test]
fn a_second_column_is_read_where_the_first_is_empty() {
    let names = |file: &str, field: Field| -> Vec<Option<String>> {
        let mut input = open_sample(file, &[]).unwrap();
        let mut values = Vec::new();
        while let Some(record) = input.next_record().unwrap() {
            values.push(record.get(field).map(|v| v.trim().to_string()));
        }
        values
    };
    // Shopify: order #1003 has no billing name, only a shipping name; line items have neither.
    assert_eq!(
        names("shopify-orders.csv", Field::Name),
        [Some("Greta Lindqvist"), Some(""), Some(""), Some("Tomáš Novák"), Some("Amara Okafor"), Some("Sven Ek")]
            .map(|v| v.map(String::from))
    );
    // WooCommerce: a guest order has no customer_email, only a billing_email.
    assert_eq!(
        names("woocommerce-orders.csv", Field::Email),
        [Some("daan.devries@example.com"), Some("fleur.jansen@example.org"), Some("noah.bakker@example.net")]
            .map(|v| v.map(String::from))
    );
    // Magento: a customer without a billing address keeps the account's name.
    assert_eq!(
        names("magento-customers.csv", Field::Name),
        [Some("Hannah Brooks"), Some("Marcus Lee"), Some("Sofia Costa-Pereira")].map(|v| v.map(String::from))
    );
}

#[test]
fn an_empty_map_switches_a_guessed_column_off_at_open() {
    let text = "email,name,reference,locale,tags\nann@example.com,Ann,R-1,en_gb,vip\n";
    let maps = vec![("tags".to_string(), String::new()), ("locale".to_string(), String::new())];
    let (input, _, _file) = read(text.as_bytes(), &InputOptions { maps, ..InputOptions::default() });
    let file = file_with(text.as_bytes());
    let maps = vec![("tags".to_string(), String::new()), ("locale".to_string(), String::new())];
    let mut again = Input::open(file.path(), &InputOptions { maps, ..InputOptions::default() }).unwrap();
    let record = again.next_record().unwrap().unwrap();
    assert_eq!((record.get(Field::Tags), record.get(Field::Locale)), (None, None));
    assert!(
        input.mapping().describe().contains("  tags      <- nothing (--map tags=)"),
        "{}",
        input.mapping().describe()
    );
    // A required field cannot be switched off.
    let options = InputOptions { maps: vec![("reference".into(), String::new())], ..InputOptions::default() };
    let error = open_err(text.as_bytes(), &options);
    assert_eq!(error.code(), "input.column_missing");
    assert!(error.to_string().contains("--map reference= says no column holds it"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Excel's sep= line, and a report's framing

#[test]
fn excel_sep_line_names_the_delimiter_and_is_not_the_header() {
    let mut input = open_sample("excel-sep-forms.csv", &[]).unwrap();
    assert_eq!(input.delimiter(), b';');
    assert_eq!(
        lines_of(&input)[..3],
        ["  email     <- \"Email\"", "  name      <- \"Full Name\"", "  reference <- \"Order Number\""]
    );
    let rows = read_all(&mut input);
    // The sep= line is line 1, the header line 2.
    assert_eq!(rows[0], row(1, 3, "'oskar.berg@example.com", "Oskar Berg", "'00417"));
    assert_eq!(rows.len(), 5);
    assert!(input.skipped_lines().is_empty(), "Excel's instruction is not a report's framing");

    // Another delimiter given wins, and the line is still skipped.
    let text = "sep=;\nemail,name,reference\nann@example.com,Ann,1\n";
    let options = InputOptions { delimiter: Some(b','), ..InputOptions::default() };
    let (_, rows, _file) = read(text.as_bytes(), &options);
    assert_eq!(rows, vec![row(1, 3, "ann@example.com", "Ann", "1")]);
    // A sep= line over a file with no header, and a file that is only the line.
    let options = InputOptions { no_header: true, ..InputOptions::default() };
    let (_, rows, _file) = read(b"sep=|\r\nann@example.com|Ann|1\r\n", &options);
    assert_eq!(rows, vec![row(1, 2, "ann@example.com", "Ann", "1")]);
    assert_eq!(open_err(b"sep=;\r\n", &InputOptions::default()).code(), "input.empty");
}

#[test]
fn title_lines_and_footers_are_skipped_and_reported_once() {
    let mut input = open_sample("title-line.csv", &[]).unwrap();
    let rows = read_all(&mut input);
    assert_eq!(
        rows,
        vec![
            row(1, 4, "hugo.blanc@example.com", "Hugo Blanc", "C-1001"),
            row(2, 5, "elena.ricci@example.org", "Elena Ricci", "C-1002")
        ]
    );
    let skipped: Vec<String> = input.skipped_lines().iter().map(SkippedLine::describe).collect();
    assert_eq!(
        skipped,
        [
            "line 1: a title above the header (\"Newsletter subscribers - exported 31/03/2026\")",
            "line 6: a report's line, not a customer (\"Page 1 of 1\")",
        ]
    );
    assert_eq!(input.skipped_count(), 2);

    // eBay: a line of commas above and below the header, the footer after a blank line.
    let mut input = open_sample("ebay-orders.csv", &[]).unwrap();
    let rows = read_all(&mut input);
    assert_eq!((rows.len(), rows[0].1, rows[2].1), (3, 4, 6));
    let skipped: Vec<(u64, Framing)> = input.skipped_lines().iter().map(|s| (s.line, s.framing)).collect();
    assert_eq!(skipped, [(8, Framing::Footer), (9, Framing::Footer)]);
    assert_eq!(input.skipped_lines()[0].text, "3 record(s) downloaded from Mar-01-26 to Mar-31-26");
    assert_eq!(input.skipped_lines()[1].text, "Seller ID : rivertown-goods");
}

#[test]
fn a_title_is_only_passed_for_a_wider_header() {
    // A header that misses a column is not taken for a title: its own error is the one to fix.
    let error = open_err(b"Email,Name\nann@example.com,Ann\n", &InputOptions::default());
    assert!(error.to_string().contains("\"Email\", \"Name\""), "{error}");
    // Under a title, the header's error is said, not the title's.
    let error = open_err(b"Customers\nEmail,Name,Phone\nann@example.com,Ann,1\n", &InputOptions::default());
    assert!(error.to_string().contains("The columns found are: \"Email\", \"Name\", \"Phone\"."), "{error}");
    // Read with the wrong delimiter, the header is one cell and the data two: the header's error.
    let options = InputOptions { delimiter: Some(b','), ..InputOptions::default() };
    let error = open_err(
        b"email;name;reference
ann@example.com;Lee, Ann;R-1
",
        &options,
    );
    assert!(error.to_string().contains("The columns found are: \"email;name;reference\"."), "{error}");
    // A file of one-cell lines: the first line's error.
    let error = open_err(b"Customers\nann\nbob\n", &InputOptions::default());
    assert!(error.to_string().contains("The columns found are: \"Customers\"."), "{error}");
}
