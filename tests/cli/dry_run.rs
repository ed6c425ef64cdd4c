//! `send --dry-run` through the real binary: reading real exports (encodings, delimiters,
//! quoting), mapping their columns, validating their rows, and the files and messages a dry
//! run leaves behind (SPEC sections 1 to 3).

use std::fmt::Write as _;

use crate::support::{ERRORS_HEADER, RESULTS_HEADER, Run, Test};

/// `tp-invite send <input> --dry-run <flags>`.
fn dry_run(t: &Test, input: &str, flags: &[&str]) -> Run {
    let mut args = vec!["send", input, "--dry-run"];
    args.extend_from_slice(flags);
    t.run(args)
}

/// A small, valid export.
const CLEAN: &str = "email,name,reference\nann@example.com,Ann Lee,R-1\nbob@example.com,Bob Roe,R-2\n";

/// Accented names in every encoding test, with CRLF as Windows writes them.
const NAMES: &str =
    concat!("email,name,reference\r\n", "renee@example.com,Renée Lefèvre,R-1\r\n", "zoe@example.com,Zoë Ñandú,R-2\r\n");

/// `text` in UTF-16, optionally with its byte order mark.
fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend(if big_endian { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
    }
    for unit in text.encode_utf16() {
        out.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    out
}

/// Deterministic bytes that look like nothing (xorshift64*).
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Encodings

#[test]
fn utf8_with_or_without_bom_and_utf16_with_bom_are_read() {
    let table: [(&str, Vec<u8>); 4] = [
        ("UTF-8", NAMES.as_bytes().to_vec()),
        ("UTF-8 (BOM)", [b"\xEF\xBB\xBF".as_slice(), NAMES.as_bytes()].concat()),
        ("UTF-16LE", utf16(NAMES, false, true)),
        ("UTF-16BE", utf16(NAMES, true, true)),
    ];
    for (encoding, bytes) in table {
        let t = Test::new();
        t.write("in.csv", bytes);
        dry_run(&t, "in.csv", &[])
            .expect_code(0)
            .expect_stderr_line(&format!("Reading in.csv ({encoding}, comma-separated). Columns:"))
            // The byte order mark is not part of the first column's name.
            .expect_stderr_line("  email     <- \"email\"")
            .expect_stderr_line("2 rows: 2 ready to send.");
        let results = t.table("in.results.csv");
        assert_eq!(results.column("name"), ["Renée Lefèvre", "Zoë Ñandú"], "{encoding}");
        assert_eq!(results.column("email"), ["renee@example.com", "zoe@example.com"], "{encoding}");
        assert_eq!(results.columns(&["row", "line"]), [["1", "2"], ["2", "3"]], "{encoding}");
    }
}

#[test]
fn windows_1252_is_detected_and_written_as_utf8() {
    let t = Test::new();
    // é 0xE9, ü 0xFC, ß 0xDF; in the ignored note „ 0x84, “ 0x93, € 0x80: none is UTF-8 alone.
    t.write(
        "in.csv",
        b"email,name,reference,note\r\nrenee@example.com,Ren\xE9e M\xFCller,R-1,\x84Danke\x93 \x80 5\r\n\
          ss@example.com,Stra\xDFer,R-2,\r\n"
            .as_slice(),
    );
    dry_run(&t, "in.csv", &[])
        .expect_code(0)
        .expect_stderr_line("Reading in.csv (windows-1252, comma-separated). Columns:")
        .expect_stderr_line("2 rows: 2 ready to send.");
    // `read` insists on UTF-8.
    assert!(t.read("in.results.csv").contains(",Renée Müller,"));
    assert_eq!(t.table("in.results.csv").column("name"), ["Renée Müller", "Straßer"]);
}

#[test]
fn an_encoding_given_wins_over_detection() {
    let t = Test::new();
    // UTF-16 without a byte order mark cannot be detected; the error names the flag that reads it.
    t.write("in.csv", utf16(NAMES, false, false));
    dry_run(&t, "in.csv", &[]).expect_code(1).expect_stderr("--encoding utf-16le").expect_no_panic();
    assert_eq!(t.files(), ["in.csv"]);
    dry_run(&t, "in.csv", &["--encoding", "utf-16le"])
        .expect_code(0)
        .expect_stderr_line("Reading in.csv (UTF-16LE, comma-separated). Columns:");
    assert_eq!(t.table("in.results.csv").column("name"), ["Renée Lefèvre", "Zoë Ñandú"]);

    // Valid UTF-8 read as Windows-1252 because the user says so: each byte is a character.
    t.write("utf8.csv", NAMES);
    dry_run(&t, "utf8.csv", &["--encoding", "windows-1252"])
        .expect_code(0)
        .expect_stderr_line("Reading utf8.csv (windows-1252, comma-separated). Columns:");
    assert_eq!(t.table("utf8.results.csv").column("name"), ["RenÃ©e LefÃ¨vre", "ZoÃ« Ã‘andÃº"]);

    // An alias: latin1 is Windows-1252, as Excel users mean it.
    t.write("cp.csv", b"email,name,reference\nrenee@example.com,Ren\xE9e,R-1\n".as_slice());
    dry_run(&t, "cp.csv", &["--encoding", "latin1"]).expect_code(0).expect_stderr("(windows-1252, comma-separated)");
    assert_eq!(t.table("cp.results.csv").column("name"), ["Renée"]);
}

#[test]
fn bytes_that_are_not_utf8_stop_a_run_told_the_file_is_utf8() {
    let t = Test::new();
    t.write("in.csv", b"email,name,reference\nrenee@example.com,Ren\xE9e,R-1\n".as_slice());
    dry_run(&t, "in.csv", &["--encoding", "utf-8"]).expect_code(1).expect_no_panic().expect_stderr_line(
        "tp-invite: 'in.csv' is not valid UTF-8: line 2 has the byte 0xE9 after \"renee@example.com,Ren\". \
             If the file was saved by Excel on Windows or an older program, read it with --encoding windows-1252 \
             (or name its encoding with --encoding).",
    );
    assert_eq!(t.files(), ["in.csv"], "nothing is written");
}

#[test]
fn utf16_with_a_bom_read_as_utf8_says_so() {
    let t = Test::new();
    t.write("in.csv", utf16(NAMES, false, true));
    // decode.rs has this very hint for the case, but the binary check answers first.
    dry_run(&t, "in.csv", &["--encoding", "utf-8"])
        .expect_code(1)
        .expect_stderr("It starts with a UTF-16 byte order mark: leave out --encoding, or use --encoding utf-16le.")
        .expect_stderr_lacks("without a byte order mark");
}

// ---------------------------------------------------------------------------------------------
// Delimiters

#[test]
fn every_delimiter_is_detected() {
    for (delimiter, shown) in [(',', "comma"), (';', "semicolon"), ('\t', "tab"), ('|', "pipe")] {
        // Every value holds the other candidates, so only the real delimiter is consistent.
        let d = delimiter;
        let input = format!(
            "email{d}name{d}reference{d}note\n\
             ann@example.com{d}\"Lee, Ann\"{d}R-1{d}\"1,5; 2|3\"\n\
             bob@example.com{d}\"Roe, Bob\"{d}R-2{d}\"4,5; 6|7\"\n"
        );
        let t = Test::new();
        t.write("in.csv", input);
        dry_run(&t, "in.csv", &[])
            .expect_code(0)
            .expect_stderr_line(&format!("Reading in.csv (UTF-8, {shown}-separated). Columns:"))
            .expect_stderr_line("  ignored: \"note\"")
            .expect_stderr_line("2 rows: 2 ready to send.");
        assert_eq!(t.table("in.results.csv").column("name"), ["Lee, Ann", "Roe, Bob"], "{shown}");
    }
}

#[test]
fn a_delimiter_given_wins_over_detection() {
    let t = Test::new();
    t.write("in.csv", "email;name;reference\nann@example.com;Lee, Ann;R-1\n");
    // Told `,`, the header is one column: the message points at --delimiter.
    dry_run(&t, "in.csv", &["--delimiter", ","])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr("The columns found are: \"email;name;reference\".")
        .expect_stderr("The header has a single column: if the file uses another delimiter, give it with --delimiter");
    assert_eq!(t.files(), ["in.csv"]);
    dry_run(&t, "in.csv", &["--delimiter", ";"])
        .expect_code(0)
        .expect_stderr_line("Reading in.csv (UTF-8, semicolon-separated). Columns:");
    assert_eq!(t.table("in.results.csv").column("name"), ["Lee, Ann"]);

    // The word `tab` names the tab.
    t.write("tab.csv", "email\tname\treference\nann@example.com\tLee, Ann\tR-1\n");
    dry_run(&t, "tab.csv", &["--delimiter", "tab"])
        .expect_code(0)
        .expect_stderr_line("Reading tab.csv (UTF-8, tab-separated). Columns:");
}

// ---------------------------------------------------------------------------------------------
// CSV structure: line ends, quotes, blank lines, spaces

#[test]
fn quoted_commas_and_line_breaks_keep_rows_and_lines_right() {
    let t = Test::new();
    t.write(
        "in.csv",
        concat!(
            "email,name,reference,address\r\n",                // line 1: the header
            "a@example.com,\"Doe, Jane\",R-1,\"Main St 1\r\n", // line 2: row 1, three lines long
            "12345 Town\r\n",                                  // line 3
            "Country\"\r\n",                                   // line 4
            "b@example.com,Bob,R-2,\"x, y\"\r\n",              // line 5: row 2
            "\r\n",                                            // line 6: blank, not a row
            "c@example.com,Cy,R-3,\"one\ntwo\"\r\n",           // line 7: row 3, a bare LF inside quotes (Excel)
            "d@example.com,Di,R-4,\r\n",                       // line 9: row 4
        ),
    );
    dry_run(&t, "in.csv", &[]).expect_code(0).expect_stderr_line("4 rows: 4 ready to send.");
    let results = t.table("in.results.csv");
    assert_eq!(
        results.columns(&["row", "line", "name"]),
        [["1", "2", "Doe, Jane"], ["2", "5", "Bob"], ["3", "7", "Cy"], ["4", "9", "Di"]]
    );
}

#[test]
fn a_quote_never_closed_is_found_and_named() {
    let t = Test::new();
    let mut input = String::from("email,name,reference\nann@example.com,\"Ann,R-1\n");
    for i in 0..150 {
        writeln!(input, "c{i}@example.com,C{i},R-{i}").unwrap();
    }
    t.write("in.csv", &input);
    // It would swallow every row after it; past a hundred lines that is surely a mistake.
    dry_run(&t, "in.csv", &[]).expect_code(1).expect_no_panic().expect_stderr_line(
        "tp-invite: 'in.csv', line 2: the record that starts here runs on to line 152: a quoted value on line 2 \
         is probably never closed with a \" (or a \" inside a value is not doubled as \"\"). Fix that line in the \
         file and run again.",
    );
    assert_eq!(t.files(), ["in.csv"], "nothing is written, not even part of the results");

    // Near the end of the file the record is short of fields, and the report says why.
    t.write("short.csv", "email,name,reference\nann@example.com,\"Ann,R-1\nbob@example.com,Bob,R-2\n");
    dry_run(&t, "short.csv", &[]).expect_code(3).expect_stderr_line("1 row: 1 invalid.");
    assert_eq!(t.table("short.errors.csv").column("code"), ["row.too_few_fields", "name.control_char"]);
}

#[test]
fn blank_lines_and_excel_empty_lines_are_not_rows() {
    let t = Test::new();
    t.write(
        "in.csv",
        concat!(
            "email;name;reference\r\n",  // line 1
            ";;\r\n",                    // line 2
            "a@example.com;Ann;R-1\r\n", // line 3: row 1
            "   \r\n",                   // line 4
            ";;;;\r\n",                  // line 5
            "b@example.com;Bob;R-2\r\n", // line 6: row 2
            ";;\r\n;;\r\n\r\n\r\n",      // trailing
        ),
    );
    dry_run(&t, "in.csv", &[]).expect_code(0).expect_stderr_line("2 rows: 2 ready to send.");
    let results = t.table("in.results.csv");
    assert_eq!(results.columns(&["row", "line", "email"]), [["1", "3", "a@example.com"], ["2", "6", "b@example.com"]]);
    assert!(!t.exists("in.errors.csv"));
}

#[test]
fn surrounding_spaces_are_trimmed_and_values_normalised() {
    let t = Test::new();
    t.write(
        "in.csv",
        "email,name,reference,locale,tags\n  ann@example.com  ,  Ann Lee ,  R-1  , en_gb ,  vip ; gift|x \n",
    );
    dry_run(&t, "in.csv", &[]).expect_code(0);
    let results = t.table("in.results.csv");
    let row = results.row(1);
    assert_eq!(
        [&row["status"], &row["email"], &row["name"], &row["reference"], &row["locale"], &row["tags"]],
        ["ready", "ann@example.com", "Ann Lee", "R-1", "en-GB", "vip,gift,x"]
    );
}

// ---------------------------------------------------------------------------------------------
// Header mapping

#[test]
fn header_aliases_ignore_case_spaces_and_punctuation() {
    // (header line, the names as the mapping shows them)
    let table = [
        ("E-Mail Address,Full Name,Order ID", ["E-Mail Address", "Full Name", "Order ID"]),
        ("customer_email,CUSTOMER-NAME,order.number", ["customer_email", "CUSTOMER-NAME", "order.number"]),
        ("Consumer Email,  Customer Name  ,Invoice Number", ["Consumer Email", "Customer Name", "Invoice Number"]),
        ("BILLING EMAIL,billing name,Reference Number", ["BILLING EMAIL", "billing name", "Reference Number"]),
        ("e_mail,NAME,reference", ["e_mail", "NAME", "reference"]),
    ];
    for (header, [email, name, reference]) in table {
        let t = Test::new();
        t.write("in.csv", format!("{header}\nann@example.com,Ann Lee,R-1\n"));
        dry_run(&t, "in.csv", &[])
            .expect_code(0)
            .expect_stderr_line(&format!("  email     <- \"{email}\""))
            .expect_stderr_line(&format!("  name      <- \"{name}\""))
            .expect_stderr_line(&format!("  reference <- \"{reference}\""));
        let results = t.table("in.results.csv");
        let row = results.row(1);
        assert_eq!([&row["email"], &row["name"], &row["reference"]], ["ann@example.com", "Ann Lee", "R-1"], "{header}");
    }
}

#[test]
fn map_wins_over_aliases_and_is_shown() {
    let t = Test::new();
    t.write("in.csv", "Email,Contact Email,Name,Order Number\nold@example.com,new@example.com,Ann,R-1\n");
    // By name (compared like an alias) and by column number.
    dry_run(&t, "in.csv", &["--map", "email=contact_email", "--map", "reference=4"])
        .expect_code(0)
        .expect_stderr_line("  email     <- \"Contact Email\" (--map)")
        .expect_stderr_line("  name      <- \"Name\"")
        .expect_stderr_line("  reference <- \"Order Number\" (--map)")
        .expect_stderr_line("  ignored: \"Email\"");
    assert_eq!(t.table("in.results.csv").column("email"), ["new@example.com"]);
}

#[test]
fn a_map_to_a_column_that_is_not_there_stops_the_run() {
    let t = Test::new();
    t.write("in.csv", "Email,Name,Order Number\nann@example.com,Ann,R-1\n");
    dry_run(&t, "in.csv", &["--map", "email=Mail"]).expect_code(1).expect_no_panic().expect_stderr_line(
        "tp-invite: --map email=\"Mail\": 'in.csv' has no column \"Mail\" (names are compared ignoring case, \
         spaces, '_', '-' and '.'). Its columns are: \"Email\", \"Name\", \"Order Number\". Copy the name from \
         there, or give the column's number, e.g. --map email=3.",
    );
    assert_eq!(t.files(), ["in.csv"]);
    // A field that does not exist is a usage error.
    dry_run(&t, "in.csv", &["--map", "mail=Email"]).expect_code(2).expect_stderr("'mail' is not a field");
}

#[test]
fn first_and_last_name_columns_make_the_name() {
    let t = Test::new();
    t.write(
        "in.csv",
        "First Name,Last Name,Email,Order Number\nJane,Doe,jane@example.com,R-1\n,Solo,solo@example.com,R-2\n",
    );
    dry_run(&t, "in.csv", &[])
        .expect_code(0)
        .expect_stderr_line("  name      <- \"First Name\" + \"Last Name\"")
        .expect_stderr_line("2 rows: 2 ready to send.");
    assert_eq!(t.table("in.results.csv").column("name"), ["Jane Doe", "Solo"]);
}

#[test]
fn no_header_reads_email_name_reference_by_position() {
    let t = Test::new();
    t.write("in.csv", "ann@example.com,Ann,R-1\nbob@example.com,Bob,R-2\n");
    dry_run(&t, "in.csv", &["--no-header"])
        .expect_code(0)
        .expect_stderr_line("  email     <- column 1")
        .expect_stderr_line("  name      <- column 2")
        .expect_stderr_line("  reference <- column 3");
    // Without a header the first record is line 1.
    let results = t.table("in.results.csv");
    assert_eq!(
        results.columns(&["row", "line", "email", "name"]),
        [["1", "1", "ann@example.com", "Ann"], ["2", "2", "bob@example.com", "Bob"]]
    );
    // Without the flag, the data row is taken for a header and the message says what to add.
    t.write("other.csv", "ann@example.com,Ann,R-1\n");
    dry_run(&t, "other.csv", &[]).expect_code(1).expect_stderr("add --no-header");
}

#[test]
fn no_header_with_a_map_past_the_last_column_stops_the_run() {
    let t = Test::new();
    t.write("in.csv", "ann@example.com,Ann,R-1\nbob@example.com,Bob,R-2\n");
    let run = dry_run(&t, "in.csv", &["--no-header", "--map", "email=5"]);
    assert!(matches!(run.code(), Some(1 | 2)), "a clear error, not a run of invalid rows\n{run}");
    run.expect_stderr("5").expect_stderr_lacks("of the header");
    assert_eq!(t.files(), ["in.csv"]);
}

#[test]
fn a_shopify_order_export_takes_the_name_from_billing_name() {
    let t = Test::new();
    t.write(
        "orders_export.csv",
        "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Billing Name,Billing Street,\
         Lineitem quantity,Lineitem name,Tags,Location\n\
         #1001,jane@example.com,paid,2026-01-02 10:00:00 +0100,fulfilled,EUR,\"19,90\",Jane Doe,Main St 1,1,\
         T-Shirt,\"vip customer, spring\",Store Berlin\n",
    );
    dry_run(&t, "orders_export.csv", &[])
        .expect_code(0)
        .expect_stderr_line("  email     <- \"Email\"")
        .expect_stderr_line("  name      <- \"Billing Name\" (Shopify order export: \"Name\" holds the order number)")
        .expect_stderr_line("  reference <- \"Name\" (Shopify order export: the order number, without its '#')")
        // Shopify's tags (with spaces) and point-of-sale location are not Trustpilot's.
        .expect_stderr("not sent: \"Tags\", \"Location\"");
    let results = t.table("orders_export.results.csv");
    let row = results.row(1);
    assert_eq!(
        [&row["status"], &row["email"], &row["name"], &row["reference"], &row["tags"], &row["location_id"]],
        ["ready", "jane@example.com", "Jane Doe", "1001", "", ""]
    );
}

#[test]
fn shopify_line_item_rows_of_one_order_are_duplicates() {
    let t = Test::new();
    // Shopify writes one row per line item; only the first carries the billing details.
    t.write(
        "orders_export.csv",
        "Name,Email,Financial Status,Billing Name,Lineitem name\n\
         #1001,jane@example.com,paid,Jane Doe,T-Shirt\n\
         #1001,jane@example.com,,,Socks\n",
    );
    // Part of the order, not a problem: the exit code says the file is clean.
    dry_run(&t, "orders_export.csv", &[]).expect_code(0).expect_stderr_line("2 rows: 1 ready to send, 1 duplicate.");
    assert_eq!(t.table("orders_export.results.csv").column("status"), ["ready", "duplicate"]);
}

// ---------------------------------------------------------------------------------------------
// Files that cannot be read

#[test]
fn a_missing_required_column_stops_the_run_naming_expected_and_found() {
    let t = Test::new();
    t.write("in.csv", "Email,Phone,Order Number\nann@example.com,123,R-1\n");
    dry_run(&t, "in.csv", &[])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr_line("tp-invite: 'in.csv' has no column for the field name.")
        .expect_stderr_line(
            "  name: looked for a column like \"Name\", \"Full Name\", \"Customer Name\", \"Billing Name\", \
             or \"First Name\" + \"Last Name\"",
        )
        .expect_stderr_line("The columns found are: \"Email\", \"Phone\", \"Order Number\".")
        .expect_stderr("--map name=");
    assert_eq!(t.files(), ["in.csv"], "no results file, no error report");
}

#[test]
fn an_empty_file_stops_the_run() {
    let t = Test::new();
    t.write("in.csv", "");
    dry_run(&t, "in.csv", &[]).expect_code(1).expect_no_panic().expect_stderr_line(
        "tp-invite: 'in.csv' is empty: it has no header row and no rows. Check that the export finished and that \
         this is the right file.",
    );
    assert_eq!(t.files(), ["in.csv"]);
}

#[test]
fn a_header_without_rows_is_an_empty_batch() {
    let t = Test::new();
    t.write("in.csv", "email,name,reference\r\n\r\n");
    dry_run(&t, "in.csv", &[])
        .expect_code(0)
        .expect_stderr_line("0 rows: nothing to do.")
        .expect_stderr_line("The file has a header but no rows.");
    assert_eq!(t.read("in.results.csv"), format!("{RESULTS_HEADER}\n"));
    assert!(!t.exists("in.errors.csv"));
}

#[test]
fn binary_files_are_refused_clearly() {
    let png = [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(), &noise(4000, 7)].concat();
    // An .xlsx workbook is a ZIP archive.
    let xlsx = [b"PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0".as_slice(), b"[Content_Types].xml", &noise(4000, 8)].concat();
    // No signature, no NUL: only control characters give it away.
    let controls: Vec<u8> = [b"\x01\x02".as_slice(), &noise(4000, 9)].concat().into_iter().map(|b| b.max(1)).collect();
    let table = [
        ("png", png, "it is a PNG image"),
        ("xlsx", xlsx, "it is a ZIP archive, such as an Excel workbook (.xlsx)"),
        ("noise", noise(4000, 10), "does not look like a CSV text file"),
        ("controls", controls, "does not look like a CSV text file"),
    ];
    for (what, bytes, message) in table {
        let t = Test::new();
        t.write("in.csv", bytes);
        let run = dry_run(&t, "in.csv", &[]);
        run.expect_code(1)
            .expect_no_panic()
            .expect_stderr("tp-invite: 'in.csv' does not look like a CSV text file")
            .expect_stderr(message);
        assert_eq!(t.files(), ["in.csv"], "{what}");
    }
}

#[test]
fn a_missing_file_or_a_folder_is_named() {
    let t = Test::new();
    dry_run(&t, "nope.csv", &[]).expect_code(1).expect_no_panic().expect_stderr_line(
        "tp-invite: cannot read 'nope.csv': there is no such file. Check the path and the spelling of the file name.",
    );
    std::fs::create_dir(t.join("folder.csv")).unwrap();
    dry_run(&t, "folder.csv", &[]).expect_code(1).expect_no_panic().expect_stderr("it is a folder, not a file");
    assert_eq!(t.files(), ["folder.csv"]);
}

// ---------------------------------------------------------------------------------------------
// Validation

#[test]
fn the_sample_with_errors_reports_each_row_as_its_readme_says() {
    let t = Test::new();
    t.sample("customers-with-errors.csv");
    let run = dry_run(&t, "customers-with-errors.csv", &[]);
    run.expect_code(3)
        .expect_stderr_line("38 rows: 7 ready to send, 30 invalid, 1 duplicate.")
        .expect_stderr_line("Results: customers-with-errors.results.csv")
        .expect_stderr_line("Errors:  customers-with-errors.errors.csv (30 invalid rows)");

    // sample-data/README.md, row by row (one problem each).
    let expected: [(u64, &str, &str); 30] = [
        (2, "email", "email.required"),
        (3, "email", "email.invalid"),
        (4, "email", "email.multiple"),
        (5, "email", "email.invalid"),
        (6, "email", "email.invalid"),
        (7, "email", "email.invalid"),
        (8, "email", "email.invalid"),
        (9, "email", "email.too_long"),
        (11, "name", "name.required"),
        (12, "name", "name.control_char"),
        (13, "name", "name.too_long"),
        (14, "reference", "reference.required"),
        (15, "reference", "reference.invalid_char"),
        (16, "reference", "reference.invalid_char"),
        (17, "reference", "reference.invalid_char"),
        (18, "reference", "reference.invalid_char"),
        (19, "reference", "reference.invalid_char"),
        (20, "reference", "reference.invalid_char"),
        (21, "reference", "reference.too_long"),
        (22, "tags", "tags.invalid_char"),
        (23, "tags", "tags.invalid_char"),
        (24, "redirect_uri", "redirect_uri.invalid"),
        (25, "redirect_uri", "redirect_uri.invalid"),
        (26, "redirect_uri", "redirect_uri.invalid"),
        (27, "locale", "locale.unknown"),
        (29, "preferred_send_time", "preferred_send_time.invalid"),
        (30, "preferred_send_time", "preferred_send_time.invalid"),
        (31, "sender_email", "sender_email.invalid"),
        (32, "reply_to", "reply_to.invalid"),
        // Row 33 repeats row 1: `duplicate` in the results, not a problem.
        (34, "row", "row.too_few_fields"),
    ];
    let errors = t.table("customers-with-errors.errors.csv");
    assert_eq!(errors.header.join(","), ERRORS_HEADER);
    let found: Vec<(u64, &str, &str)> =
        errors.records.iter().map(|r| (r["row"].parse().unwrap(), r["field"].as_str(), r["code"].as_str())).collect();
    assert_eq!(found, expected);
    for record in &errors.records {
        // No field spans lines in this file.
        let row: u64 = record["row"].parse().unwrap();
        assert_eq!(record["line"], (row + 1).to_string(), "{record:?}");
        assert!(!record["message"].is_empty(), "{record:?}");
    }
    let value =
        |row: u64| errors.records.iter().find(|r| r["row"] == row.to_string()).map(|r| r["value"].as_str()).unwrap();
    assert_eq!(value(15), "#1001");
    assert_eq!(value(18), "ORD-\"20018\"");
    assert_eq!(value(27), "xx-XX");
    assert_eq!(value(34), "4", "the fields the short row has");

    let results = t.table("customers-with-errors.results.csv");
    assert_eq!(results.header.join(","), RESULTS_HEADER);
    assert_eq!(results.records.len(), 38, "one line per input row");
    for row in 1..=38u64 {
        let status = match row {
            1 | 10 | 28 | 35 | 36 | 37 | 38 => "ready",
            33 => "duplicate",
            _ => "invalid",
        };
        let record = results.row(row);
        assert_eq!(record["status"], status, "row {row}");
        assert_eq!(record["line"], (row + 1).to_string(), "row {row}");
        // A refused row says why, in the results too.
        let code = match row {
            33 => "row.duplicate",
            _ => expected.iter().find(|(r, _, _)| *r == row).map_or("", |(_, _, code)| *code),
        };
        assert_eq!(record["error_code"], code, "row {row}");
    }
    let row10 = results.row(10);
    assert_eq!(
        [&row10["email"], &row10["name"], &row10["reference"]],
        ["paula.jensen@example.net", "Paula Jensen", "ORD-20010"]
    );
    assert_eq!(results.row(28)["locale"], "en-US");
    assert_eq!(results.row(36)["preferred_send_time"], "2026-12-03T09:00:00", "sent as UTC");
    assert_eq!(results.row(37)["name"], "MacKenzie, Isla");
}

#[test]
fn a_row_with_too_few_fields_is_invalid() {
    let t = Test::new();
    t.write("in.csv", "email,name,reference,locale\nann@example.com,Ann,R-1,en-GB\nbob@example.com,Bob\n");
    dry_run(&t, "in.csv", &[]).expect_code(3).expect_stderr_line("2 rows: 1 ready to send, 1 invalid.");
    let errors = t.table("in.errors.csv");
    assert_eq!(
        errors.columns(&["row", "line", "field", "code", "value", "message"]),
        [[
            "2",
            "3",
            "row",
            "row.too_few_fields",
            "2",
            "This row has 2 of the 4 columns of the header; it was probably cut or a quote is missing. Fix the row \
         in the file."
        ]]
    );
    assert_eq!(t.table("in.results.csv").column("status"), ["ready", "invalid"]);
}

#[test]
fn duplicates_ignore_the_case_of_the_email_and_follow_only_valid_rows() {
    let t = Test::new();
    t.write(
        "in.csv",
        "email,name,reference,tags\n\
         ann@example.com,Ann,R-1,bad tag\n\
         ann@example.com,Ann,R-1,\n\
         ANN@Example.COM,Ann L.,R-1,\n\
         ann@example.com,Ann,R-2,\n\
         ann@example.com,Ann,R-1,\n",
    );
    dry_run(&t, "in.csv", &[]).expect_code(3).expect_stderr_line("5 rows: 2 ready to send, 1 invalid, 2 duplicate.");
    // Row 1 is invalid, so row 2 is the first valid one of R-1; another reference is another order.
    assert_eq!(t.table("in.results.csv").column("status"), ["invalid", "ready", "duplicate", "ready", "duplicate"]);
    // A duplicate is not a problem: the error report holds only the invalid row.
    let errors = t.table("in.errors.csv");
    assert_eq!(
        errors.columns(&["row", "line", "field", "code", "value"]),
        [["1", "2", "tags", "tags.invalid_char", "bad tag"]]
    );
    let results = t.table("in.results.csv");
    assert_eq!(results.row(3)["error_code"], "row.duplicate");
}

#[test]
fn every_problem_of_a_row_is_reported() {
    let t = Test::new();
    t.write("in.csv", "email,name,reference,locale\nnot-an-email,,R#1,xx\n");
    dry_run(&t, "in.csv", &[]).expect_code(3);
    let errors = t.table("in.errors.csv");
    assert_eq!(
        errors.columns(&["row", "field", "code"]),
        [
            ["1", "email", "email.invalid"],
            ["1", "name", "name.required"],
            ["1", "reference", "reference.invalid_char"],
            ["1", "locale", "locale.unknown"]
        ]
    );
    assert_eq!(t.table("in.results.csv").row(1)["error_code"], "email.invalid");
}

#[test]
fn a_clean_file_exits_0_and_leaves_no_error_report() {
    let t = Test::new();
    // A report from an earlier run describes another file: it must go.
    t.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\nbad,Bob,R-2\n");
    dry_run(&t, "in.csv", &[]).expect_code(3).expect_stderr_line("Errors:  in.errors.csv (1 invalid row)");
    assert!(t.exists("in.errors.csv"));

    t.write("in.csv", CLEAN);
    let run = dry_run(&t, "in.csv", &[]);
    run.expect_code(0)
        .expect_stderr_line("2 rows: 2 ready to send.")
        .expect_stderr_line("Results: in.results.csv")
        .expect_stderr_line("Next:    tp-invite send in.csv")
        .expect_stderr_lacks("Errors:");
    assert_eq!(t.files(), ["in.csv", "in.results.csv"]);
    assert_eq!(run.stdout, "");
    let results = t.table("in.results.csv");
    assert_eq!(results.header.join(","), RESULTS_HEADER);
    assert_eq!(results.column("status"), ["ready", "ready"]);
    assert_eq!(results.column("attempts"), ["0", "0"]);
    for column in ["http_status", "error_code", "error", "correlation_id", "sent_at"] {
        assert_eq!(results.column(column), ["", ""], "{column}");
    }
}

#[test]
fn an_email_with_an_invisible_character_is_invalid() {
    let t = Test::new();
    // Copied from a web page: `ann<U+200B>@example.com` looks right but no mail server takes it.
    t.write("in.csv", "email,name,reference\nann\u{200B}@example.com,Ann,R-1\n");
    dry_run(&t, "in.csv", &[]).expect_code(3);
    assert_eq!(t.table("in.errors.csv").column("code"), ["email.invalid"]);
}

// ---------------------------------------------------------------------------------------------
// Formula neutralisation

#[test]
fn formulas_are_neutralised_in_the_results_and_read_back_exactly() {
    let t = Test::new();
    t.write(
        "in.csv",
        "email,name,reference,sender_name,location_id\n\
         a@example.com,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",=R1,=cmd|' /C calc'!A0,+49\n\
         b@example.com,+1,@R2,,\n\
         c@example.com,-1,-R3,,\n\
         d@example.com,@x,R4,'t Hooft,\n",
    );
    dry_run(&t, "in.csv", &[]).expect_code(0);
    let results = t.table("in.results.csv");
    assert_eq!(results.column("name"), ["'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-1", "'@x"]);
    assert_eq!(results.column("reference"), ["'=R1", "'@R2", "'-R3", "R4"]);
    assert_eq!(results.column("sender_name"), ["'=cmd|' /C calc'!A0", "", "", "''t Hooft"]);
    assert_eq!(results.column("location_id"), ["'+49", "", "", ""]);

    // The tool's own reader gives the original values back.
    let path = t.join("in.results.csv");
    let mut reader = tp_invite::record::results::ResultsReader::open(&path).unwrap().unwrap();
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line().unwrap() {
        lines.push(line);
    }
    let names: Vec<&str> = lines.iter().map(|l| l.invitation.name()).collect();
    assert_eq!(names, ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-1", "@x"]);
    let references: Vec<&str> = lines.iter().map(|l| l.invitation.reference()).collect();
    assert_eq!(references, ["=R1", "@R2", "-R3", "R4"]);
    use tp_invite::fields::Field;
    assert_eq!(lines[0].invitation.get(Field::SenderName), Some("=cmd|' /C calc'!A0"));
    assert_eq!(lines[3].invitation.get(Field::SenderName), Some("'t Hooft"));
    assert_eq!(lines[0].invitation.get(Field::LocationId), Some("+49"));
}

#[test]
fn formulas_are_neutralised_in_the_error_report() {
    let t = Test::new();
    t.write("in.csv", "email,name,reference,locale,tags,redirect_uri\n=a@example.com,Ann,=1+2,-1,@x,+1\n");
    dry_run(&t, "in.csv", &[]).expect_code(3);
    let errors = t.table("in.errors.csv");
    assert_eq!(
        errors.columns(&["field", "code", "value"]),
        [
            ["reference", "reference.invalid_char", "'=1+2"],
            ["locale", "locale.unknown", "'-1"],
            ["tags", "tags.invalid_char", "'@x"],
            ["redirect_uri", "redirect_uri.invalid", "'+1"]
        ]
    );
    for message in errors.column("message") {
        assert!(!message.starts_with(['=', '+', '-', '@']), "{message}");
    }
    let results = t.table("in.results.csv");
    let row = results.row(1);
    assert_eq!(
        [&row["email"], &row["reference"], &row["locale"], &row["tags"], &row["redirect_uri"]],
        ["'=a@example.com", "'=1+2", "'-1", "'@x", "'+1"]
    );
}

// ---------------------------------------------------------------------------------------------
// What is printed: --json, --quiet

#[test]
fn json_prints_one_object_with_the_counts() {
    let t = Test::new();
    t.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\nbad,Bob,R-2\nANN@example.com,Ann,R-1\n");
    let run = dry_run(&t, "in.csv", &["--json"]);
    run.expect_code(3).expect_stderr_lacks("rows:");
    assert_eq!(run.stdout.lines().count(), 1, "one line\n{run}");
    let json = run.json();
    let object = json.as_object().expect("an object");
    for key in ["rows", "sent", "failed", "invalid", "duplicate", "skipped", "unknown", "ready", "results", "errors"] {
        assert!(object.contains_key(key), "no {key} in {json}");
    }
    let counts: Vec<u64> = ["rows", "sent", "failed", "invalid", "duplicate", "skipped", "unknown", "ready"]
        .iter()
        .map(|key| json[key].as_u64().unwrap_or_else(|| panic!("{key} is not a count in {json}")))
        .collect();
    assert_eq!(counts, [3, 0, 0, 1, 1, 0, 0, 1]);
    assert_eq!(json["results"], "in.results.csv");
    assert_eq!(json["errors"], "in.errors.csv");

    t.write("in.csv", CLEAN);
    let run = dry_run(&t, "in.csv", &["--json", "--quiet"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    let json = run.json();
    assert_eq!((json["rows"].as_u64(), json["ready"].as_u64()), (Some(2), Some(2)));
    assert_eq!(json["errors"], serde_json::Value::Null, "no error report");
}

#[test]
fn quiet_prints_nothing() {
    let t = Test::new();
    t.write("in.csv", CLEAN);
    dry_run(&t, "in.csv", &["--quiet"]).expect_code(0).expect_no_output();
    assert_eq!(t.table("in.results.csv").column("status"), ["ready", "ready"]);
    // The exit code and the files still tell about problems.
    t.write("bad.csv", "email,name,reference\nbad,Ann,R-1\n");
    dry_run(&t, "bad.csv", &["--quiet"]).expect_code(3).expect_no_output();
    assert!(t.exists("bad.errors.csv"));
}

// ---------------------------------------------------------------------------------------------
// Where the files go, and which files a dry run must not touch

#[test]
fn results_and_errors_go_where_they_are_told() {
    let t = Test::new();
    t.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\nbad,Bob,R-2\n");
    std::fs::create_dir(t.join("out")).unwrap();
    dry_run(&t, "in.csv", &["--results", "out/r.csv", "--errors", "out/e.csv"])
        .expect_code(3)
        .expect_stderr_line("Results: out/r.csv")
        .expect_stderr_line("Errors:  out/e.csv (1 invalid row)");
    assert_eq!(t.files(), ["in.csv", "out"]);
    assert_eq!(t.table("out/r.csv").column("status"), ["ready", "invalid"]);
    assert_eq!(t.table("out/e.csv").column("code"), ["email.invalid"]);
}

#[test]
fn default_paths_sit_beside_the_input() {
    let t = Test::new();
    t.write("data/march.export.csv", "email,name,reference\nbad,Ann,R-1\n");
    t.write("data/export", CLEAN.replace(',', "\t"));
    dry_run(&t, "data/march.export.csv", &[])
        .expect_code(3)
        .expect_stderr_line("Results: data/march.export.results.csv");
    assert!(t.exists("data/march.export.results.csv"));
    assert!(t.exists("data/march.export.errors.csv"));
    // A file without an extension.
    dry_run(&t, "data/export", &[]).expect_code(0).expect_stderr_line("Results: data/export.results.csv");
    assert_eq!(t.table("data/export.results.csv").column("status"), ["ready", "ready"]);
    assert_eq!(t.files(), ["data"]);
}

#[test]
fn a_dry_run_replaces_an_earlier_dry_runs_results() {
    let t = Test::new();
    t.write(
        "in.csv",
        "email,name,reference\nann@example.com,Ann,R-1\nbob@example.com,Bob,R-2\ncy@example.com,Cy,R-3\n",
    );
    dry_run(&t, "in.csv", &[]).expect_code(0);
    assert_eq!(t.table("in.results.csv").records.len(), 3);
    t.write("in.csv", "email,name,reference\nzed@example.com,Zed,R-9\n");
    dry_run(&t, "in.csv", &[]).expect_code(0);
    let results = t.table("in.results.csv");
    assert_eq!(results.columns(&["row", "email"]), [["1", "zed@example.com"]]);
}

#[test]
fn a_dry_run_keeps_the_record_of_a_real_send_under_a_dated_name() {
    for status in ["sent", "already_sent", "failed", "unknown"] {
        let t = Test::new();
        t.write("in.csv", CLEAN);
        let record = format!(
            "{RESULTS_HEADER}\n\
             1,2,{status},1,202,,,corr-1,2026-01-01T00:00:00Z,ann@example.com,Ann Lee,R-1,,,,,,,,,\n\
             2,3,ready,0,,,,,,bob@example.com,Bob Roe,R-2,,,,,,,,,\n"
        );
        t.write("in.results.csv", &record);
        let run = dry_run(&t, "in.csv", &[]);
        run.expect_code(0).expect_no_panic();
        let files = t.files();
        assert_eq!(files.len(), 3, "{status}: {files:?}");
        let kept = files.iter().find(|name| name.starts_with("in.results.20")).expect("a dated copy");
        assert!(kept.ends_with(".csv") && kept.len() == "in.results.2026-01-01T000000.csv".len(), "{kept}");
        assert_eq!(t.read(kept), record, "{status}: the record is kept as it was");
        run.expect_stderr_line(&format!("Kept:    {kept} (the earlier results, which record real sends)"));
        assert_eq!(t.table("in.results.csv").column("status"), ["ready", "ready"], "{status}");
    }
    // A dry run's own results are simply replaced.
    let t = Test::new();
    t.write("in.csv", CLEAN);
    dry_run(&t, "in.csv", &[]).expect_code(0);
    dry_run(&t, "in.csv", &[]).expect_code(0);
    assert_eq!(t.files(), ["in.csv", "in.results.csv"]);
}

#[test]
fn a_dry_run_keeps_a_results_file_a_spreadsheet_saved_in_another_encoding() {
    let t = Test::new();
    t.write("in.csv", CLEAN);
    // Saved by Excel as "CSV" (Windows-1252): it cannot be read to prove nothing was sent.
    let mut record = format!("{RESULTS_HEADER}\n").into_bytes();
    record.extend_from_slice(b"1,2,sent,1,202,,,corr-1,2026-01-01T00:00:00Z,jose@example.com,Jos\xe9,R-1,,,,,,,,,\n");
    t.write("in.results.csv", &record);
    dry_run(&t, "in.csv", &[]).expect_code(0).expect_stderr("Kept:    in.results.20");
    let kept: Vec<String> = t.files().into_iter().filter(|f| f.starts_with("in.results.20")).collect();
    assert_eq!(kept.len(), 1, "{:?}", t.files());
    assert_eq!(t.read_bytes(&kept[0]), record);
}

#[test]
fn a_dry_run_does_not_overwrite_a_file_that_is_not_a_results_file() {
    let t = Test::new();
    t.write("in.csv", CLEAN);
    // Someone's other spreadsheet, given as --results by mistake.
    t.write("customers.csv", "email,name\nann@example.com,Ann\n");
    dry_run(&t, "in.csv", &["--results", "customers.csv"])
        .expect_code(1)
        .expect_stderr("customers.csv is not a tp-invite results file");
    assert_eq!(t.read("customers.csv"), "email,name\nann@example.com,Ann\n");
}

#[test]
fn results_in_a_missing_folder_is_a_clear_error() {
    let t = Test::new();
    t.write("in.csv", CLEAN);
    let run = dry_run(&t, "in.csv", &["--results", "missing/r.csv"]);
    run.expect_code(1).expect_no_panic().expect_stderr_lacks(".tmp").expect_stderr(
        "tp-invite: cannot write missing/r.csv: the folder missing does not exist. Create it, or give another path.",
    );
}

#[test]
fn ctrl_c_stops_a_dry_run_cleanly_and_leaves_the_old_results() {
    let t = Test::new();
    let mut input = String::from("email,name,reference\n");
    for i in 0..200_000 {
        writeln!(input, "c{i}@example.com,Customer {i},R-{i}").unwrap();
    }
    t.write("in.csv", &input);
    let old = format!("{RESULTS_HEADER}\n1,2,ready,0,,,,,,old@example.com,Old,R-0,,,,,,,,,\n");
    t.write("in.results.csv", &old);
    let child = t.command(["send", "in.csv", "--dry-run", "--quiet"]).spawn();
    while !t.files().iter().any(|f| f.ends_with(".tmp")) {
        std::thread::yield_now();
    }
    crate::send::interrupt(&child);
    let run = Run::wait(child);
    run.expect_code(130).expect_no_panic().expect_stderr(
        "tp-invite: interrupted (Ctrl-C) before any invitation was sent; run the same command again to start over",
    );
    assert_eq!(t.read("in.results.csv"), old, "the old results stay");
    assert!(!t.files().iter().any(|f| f.ends_with(".tmp")), "no temporary file left: {:?}", t.files());
}

#[test]
fn a_killed_dry_run_never_leaves_a_half_written_results_file() {
    let t = Test::new();
    let mut input = String::from("email,name,reference\n");
    for i in 0..20_000 {
        writeln!(input, "c{i}@example.com,Customer {i},R-{i}").unwrap();
    }
    t.write("in.csv", &input);
    let old = format!("{RESULTS_HEADER}\n1,2,ready,0,,,,,,old@example.com,Old,R-0,,,,,,,,,\n");
    t.write("in.results.csv", &old);

    let mut child = t.command(["send", "in.csv", "--dry-run", "--quiet"]).spawn();
    // Kill it once it is writing (its temporary file shows), or whenever it has ended.
    while child.try_wait().unwrap().is_none() && !t.files().iter().any(|f| f.ends_with(".tmp")) {
        std::thread::yield_now();
    }
    child.kill().unwrap();
    let run = Run::wait(child);

    let results = t.read("in.results.csv");
    let whole = results.lines().count() == 20_001 && results.ends_with("R-19999,,,,,,,,,\n");
    assert!(results == old || whole, "a torn results file ({} lines)\n{run}", results.lines().count());
}

// ---------------------------------------------------------------------------------------------
// Usage errors and the environment

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let table: &[(&[&str], &str)] = &[
        (&["--bogus"], "unexpected argument '--bogus'"),
        (&["--rate", "5/fortnight"], "'5/fortnight' is not a rate"),
        (&["--locale", "xx-XX"], "--locale 'xx-XX'"),
        (&["--redirect-uri", "example.com"], "--redirect-uri 'example.com'"),
        (&["--tags", "a b"], "--tags 'a b': The tag 'a b' has a space"),
        (&["--force"], "unexpected argument '--force'"),
        (&["--concurrency", "0"], "--concurrency"),
        (&["--encoding", "klingon"], "'klingon' is not an encoding"),
        (&["--delimiter", ";;"], "';;' is not a delimiter"),
        (&["--results", "in.csv"], "--results in.csv is the input file itself"),
        (&["--errors", "in.csv"], "--errors in.csv is the input file itself"),
    ];
    for (flags, message) in table {
        let t = Test::new();
        t.write("in.csv", CLEAN);
        dry_run(&t, "in.csv", flags).expect_code(2).expect_no_panic().expect_stderr(message);
        assert_eq!(t.files(), ["in.csv"], "{flags:?}");
        assert_eq!(t.read("in.csv"), CLEAN, "{flags:?}: the input is untouched");
    }
}

#[test]
fn a_dry_run_needs_no_credentials_and_shows_none() {
    let secrets = ["s3cret-Value-42", "hunter2-Pass"];
    let t = Test::new()
        .env("TRUSTPILOT_API_URL", "http://api.example.com")
        .env("TRUSTPILOT_API_KEY", "key-Value-17")
        .env("TRUSTPILOT_API_SECRET", secrets[0]);
    t.write("in.csv", CLEAN);
    let run = t
        .command(["send", "in.csv", "--dry-run", "--json"])
        .env("TRUSTPILOT_USERNAME", "owner@example.com")
        .env("TRUSTPILOT_PASSWORD", secrets[1])
        .run();
    run.expect_code(0);
    for secret in secrets {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{run}");
        assert!(!t.read("in.results.csv").contains(secret));
    }
}

// ---------------------------------------------------------------------------------------------
// The repository's sample files

#[test]
fn the_clean_sample_is_all_ready() {
    let t = Test::new();
    t.sample("customers.csv");
    dry_run(&t, "customers.csv", &[])
        .expect_code(0)
        .expect_stderr_line("Reading customers.csv (UTF-8, comma-separated). Columns:")
        .expect_stderr_line("27 rows: 27 ready to send.");
    let results = t.table("customers.results.csv");
    assert_eq!(results.records.len(), 27);
    assert!(results.column("status").iter().all(|s| *s == "ready"));
    assert!(!t.exists("customers.errors.csv"));
}

#[test]
fn the_excel_sample_in_windows_1252_with_semicolons_is_all_ready() {
    let t = Test::new();
    t.sample("excel-semicolon-cp1252.csv");
    dry_run(&t, "excel-semicolon-cp1252.csv", &[])
        .expect_code(0)
        .expect_stderr_line("Reading excel-semicolon-cp1252.csv (windows-1252, semicolon-separated). Columns:")
        .expect_stderr_line("  email     <- \"E-Mail-Adresse\"")
        .expect_stderr_line("  name      <- \"Vorname\" + \"Nachname\"")
        .expect_stderr_line("  reference <- \"Bestellnummer\"")
        .expect_stderr_line("  locale    <- \"Sprache\"")
        .expect_stderr_line("12 rows: 12 ready to send.");
    let results = t.table("excel-semicolon-cp1252.results.csv");
    assert_eq!(results.records.len(), 12);
    for (i, record) in results.records.iter().enumerate() {
        let row = i as u64 + 1;
        // Every record spans two lines (sample-data/README.md).
        assert_eq!(record["row"], row.to_string());
        assert_eq!(record["line"], (2 * row).to_string(), "row {row}");
        assert_eq!(record["status"], "ready", "row {row}");
    }
    assert_eq!(results.row(1)["name"], "Jürgen Schäfer");
    assert_eq!(results.row(10)["name"], "Léa Straßer");
}
