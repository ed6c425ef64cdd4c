//! Which encoding the file is in, and a reader that hands `csv` UTF-8 bytes.
//!
//! A byte order mark decides (UTF-8, UTF-16LE, UTF-16BE). Without one the whole file is
//! scanned once, in fixed-size chunks, to see whether it is valid UTF-8; if not it is
//! Windows-1252, which is what Excel on Windows writes. UTF-8 is read straight from the
//! file; other encodings go through a streaming transcoder. Binary files (a workbook, an
//! image, a zip renamed `.csv`) are refused before they turn into garbage rows.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::InputError;
use super::lines::LineCounter;

/// How much of the start is checked for binary content.
const HEAD_LEN: usize = 8 * 1024;
/// The chunk size of the UTF-8 scan and of the transcoder's buffer.
const CHUNK_LEN: usize = 64 * 1024;

/// The file, opened and positioned after its byte order mark, as UTF-8 bytes.
pub(crate) struct Decoded {
    pub reader: Box<dyn Read + Send>,
    /// `UTF-8`, `UTF-8 (BOM)`, `windows-1252`, `UTF-16LE` ...
    pub name: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bom {
    None,
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf32,
}

impl Bom {
    fn detect(head: &[u8]) -> Bom {
        if head.starts_with(b"\xFF\xFE\x00\x00") || head.starts_with(b"\x00\x00\xFE\xFF") {
            Bom::Utf32
        } else if head.starts_with(b"\xEF\xBB\xBF") {
            Bom::Utf8
        } else if head.starts_with(b"\xFF\xFE") {
            Bom::Utf16Le
        } else if head.starts_with(b"\xFE\xFF") {
            Bom::Utf16Be
        } else {
            Bom::None
        }
    }

    fn len(self) -> usize {
        match self {
            Bom::None => 0,
            Bom::Utf8 => 3,
            Bom::Utf16Le | Bom::Utf16Be => 2,
            Bom::Utf32 => 4,
        }
    }
}

/// What the file will be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Valid UTF-8 (to be checked): read the bytes as they are.
    Utf8 { bom: bool },
    /// Transcode from `encoding`, after skipping `skip` bytes of byte order mark.
    Transcode { encoding: &'static Encoding, skip: usize },
    /// No BOM and no `--encoding`: UTF-8 if the whole file is valid UTF-8, else Windows-1252.
    Detect,
}

/// Opens `path` and works out how to read it (`explicit` is `--encoding`).
pub(crate) fn open(path: &Path, explicit: Option<&'static Encoding>) -> Result<Decoded, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| InputError::unreadable(path, &e))?;
    if meta.is_dir() {
        return Err(InputError::Unreadable {
            path: path.to_path_buf(),
            reason: "it is a folder, not a file. Give the path of the CSV file itself.".to_string(),
        });
    }
    let mut file = File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    let head = read_up_to(&mut file, HEAD_LEN).map_err(|e| InputError::unreadable(path, &e))?;
    if head.is_empty() {
        return Err(InputError::Empty { path: path.to_path_buf() });
    }
    let bom = Bom::detect(&head);
    let plan = plan(bom, explicit);
    if bom == Bom::Utf32 && !matches!(plan, Plan::Transcode { .. }) {
        return Err(InputError::Encoding {
            path: path.to_path_buf(),
            line: None,
            detail: "is in UTF-32, which this tool does not read".to_string(),
            hint: "Save it again as \"CSV UTF-8\" (in Excel: File > Save As).".to_string(),
        });
    }
    let utf16 = matches!(plan, Plan::Transcode { encoding, .. } if encoding == UTF_16LE || encoding == UTF_16BE);
    if !utf16 && matches!(bom, Bom::Utf16Le | Bom::Utf16Be) {
        // Told another encoding, a UTF-16 file looks like binary: say what it is instead.
        let name = if bom == Bom::Utf16Le { "utf-16le" } else { "utf-16be" };
        return Err(InputError::Encoding {
            path: path.to_path_buf(),
            line: None,
            detail: format!(
                "is text in UTF-16 (it starts with a byte order mark), not in {}",
                explicit.map_or("UTF-8", |e| e.name())
            ),
            hint: format!("It starts with a UTF-16 byte order mark: leave out --encoding, or use --encoding {name}."),
        });
    }
    if !utf16 {
        refuse_binary(path, &head[bom.len().min(head.len())..], bom)?;
    }

    // A regular file is scanned whole for UTF-8 validity where that decides, then read again
    // from the start. Anything else (a pipe) is read once, and the decision rests on its first
    // bytes; invalid UTF-8 later on is then reported by line as the records are read.
    let regular = meta.is_file();
    let mut plan = plan;
    if regular && matches!(plan, Plan::Utf8 { .. } | Plan::Detect) {
        let mut invalid = first_invalid(&head, &mut file).map_err(|e| InputError::unreadable(path, &e))?;
        if let (Plan::Utf8 { .. }, Some(invalid)) = (plan, invalid.as_mut()) {
            invalid.line = line_at(&mut file, invalid.offset).map_err(|e| InputError::unreadable(path, &e))?;
        }
        plan = settle(path, plan, bom, invalid)?;
    } else if plan == Plan::Detect {
        let valid = match std::str::from_utf8(&head) {
            Ok(_) => true,
            // A sequence cut at the end of the head is fine.
            Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
        };
        plan = if valid { Plan::Utf8 { bom: false } } else { Plan::Transcode { encoding: WINDOWS_1252, skip: 0 } };
    }

    let skip = match plan {
        Plan::Utf8 { bom: true } => 3,
        Plan::Transcode { skip, .. } => skip,
        _ => 0,
    };
    let source: Box<dyn Read + Send> = if regular {
        file.seek(SeekFrom::Start(skip as u64)).map_err(|e| InputError::unreadable(path, &e))?;
        Box::new(file)
    } else {
        let rest = head.get(skip..).unwrap_or_default().to_vec();
        Box::new(io::Cursor::new(rest).chain(file))
    };
    let (reader, name): (Box<dyn Read + Send>, _) = match plan {
        Plan::Utf8 { bom } => (source, if bom { "UTF-8 (BOM)" } else { "UTF-8" }),
        Plan::Transcode { encoding, .. } => {
            let decoder = DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .build_with_buffer(source, vec![0; CHUNK_LEN])
                .map_err(|e| InputError::unreadable(path, &e))?;
            (Box::new(decoder), encoding.name())
        }
        // `settle` and the pipe branch above always decide.
        Plan::Detect => (source, "UTF-8"),
    };
    Ok(Decoded { reader, name })
}

fn plan(bom: Bom, explicit: Option<&'static Encoding>) -> Plan {
    match (explicit, bom) {
        (Some(e), _) if e == UTF_8 => Plan::Utf8 { bom: bom == Bom::Utf8 },
        (Some(e), Bom::Utf16Le) if e == UTF_16LE => Plan::Transcode { encoding: e, skip: 2 },
        (Some(e), Bom::Utf16Be) if e == UTF_16BE => Plan::Transcode { encoding: e, skip: 2 },
        // A UTF-8 byte order mark is never content, whatever the file is read as.
        (Some(e), Bom::Utf8) if e.is_ascii_compatible() => Plan::Transcode { encoding: e, skip: 3 },
        (Some(e), _) => Plan::Transcode { encoding: e, skip: 0 },
        (None, Bom::Utf8) => Plan::Utf8 { bom: true },
        (None, Bom::Utf16Le) => Plan::Transcode { encoding: UTF_16LE, skip: 2 },
        (None, Bom::Utf16Be) => Plan::Transcode { encoding: UTF_16BE, skip: 2 },
        (None, Bom::None | Bom::Utf32) => Plan::Detect,
    }
}

/// Where the first byte that is not UTF-8 is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invalid {
    /// Its offset in the file.
    offset: u64,
    /// Its line, counted only when a message needs it (0 until then).
    line: u64,
    /// The offending bytes (at most 4).
    bytes: Vec<u8>,
    /// The text of the line before them (at most 30 characters).
    before: String,
}

/// Reads the rest of the file in chunks and finds the first byte that is not UTF-8.
/// `head` is what has been read from `file` already.
fn first_invalid(head: &[u8], file: &mut File) -> io::Result<Option<Invalid>> {
    let mut buf = vec![0u8; CHUNK_LEN + 4];
    // The file offset of `buf[0]`.
    let mut base = 0u64;
    // Up to 3 bytes of a sequence cut by the end of the previous chunk, kept at the front.
    let mut carry = 0;
    buf[..head.len()].copy_from_slice(head);
    let mut n = head.len();
    loop {
        let end = carry + n;
        let eof = n == 0;
        let chunk = &buf[..end];
        match std::str::from_utf8(chunk) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() && !eof => {
                // Incomplete at the end of the chunk: finish it with the next one.
                let valid = e.valid_up_to();
                buf.copy_within(valid..end, 0);
                carry = end - valid;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                let bad = e.error_len().unwrap_or(end - valid).clamp(1, 4);
                let line_start = chunk[..valid].iter().rposition(|&b| b == b'\n' || b == b'\r').map_or(0, |i| i + 1);
                let text = String::from_utf8_lossy(&chunk[line_start..valid]);
                let skip = text.chars().count().saturating_sub(30);
                return Ok(Some(Invalid {
                    offset: base + valid as u64,
                    line: 0,
                    bytes: chunk[valid..(valid + bad).min(end)].to_vec(),
                    before: text.chars().skip(skip).collect(),
                }));
            }
        }
        if eof {
            return Ok(None);
        }
        base += (end - carry) as u64;
        n = read_up_to_into(file, &mut buf[carry..carry + CHUNK_LEN])?;
    }
}

/// The line `offset` is on: counted only for a message, so the scan needs no count.
fn line_at(file: &mut File, offset: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut lines = LineCounter::default();
    let mut buf = vec![0u8; CHUNK_LEN];
    let mut left = offset;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = read_up_to_into(file, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        lines.feed(&buf[..n]);
        left -= n as u64;
    }
    Ok(lines.breaks + 1)
}

/// Decides a [`Plan::Detect`], and refuses invalid bytes in a file that must be UTF-8.
fn settle(path: &Path, plan: Plan, bom: Bom, invalid: Option<Invalid>) -> Result<Plan, InputError> {
    match (plan, invalid) {
        (Plan::Detect, None) => Ok(Plan::Utf8 { bom: false }),
        (Plan::Detect, Some(_)) => Ok(Plan::Transcode { encoding: WINDOWS_1252, skip: 0 }),
        (Plan::Utf8 { bom: has_bom }, Some(invalid)) => {
            let hex: Vec<String> = invalid.bytes.iter().map(|b| format!("0x{b:02X}")).collect();
            let what = if hex.len() == 1 { "the byte" } else { "the bytes" };
            let place = if invalid.before.is_empty() {
                "at its start".to_string()
            } else {
                format!("after \"{}\"", invalid.before)
            };
            let detail = if has_bom {
                format!(
                    "starts with a UTF-8 byte order mark, but line {} is not valid UTF-8: it has {what} {} {place}",
                    invalid.line,
                    hex.join(" ")
                )
            } else {
                format!("is not valid UTF-8: line {} has {what} {} {place}", invalid.line, hex.join(" "))
            };
            let hint = match bom {
                Bom::Utf16Le => {
                    "It starts with a UTF-16 byte order mark: leave out --encoding, or use --encoding utf-16le."
                }
                Bom::Utf16Be => {
                    "It starts with a UTF-16 byte order mark: leave out --encoding, or use --encoding utf-16be."
                }
                _ => {
                    "If the file was saved by Excel on Windows or an older program, read it with \
                     --encoding windows-1252 (or name its encoding with --encoding)."
                }
            };
            Err(InputError::Encoding {
                path: path.to_path_buf(),
                line: Some(invalid.line),
                detail,
                hint: hint.to_string(),
            })
        }
        (plan, _) => Ok(plan),
    }
}

/// The start of a stream that is about to be copied (standard input, a pipe): refused at
/// once when it is clearly not text, rather than after copying all of it. Text with a UTF-16
/// or UTF-32 byte order mark is left to the reader.
pub(crate) fn refuse_binary_start(
    path: &Path,
    head: &[u8],
    explicit: Option<&'static Encoding>,
) -> Result<(), InputError> {
    if explicit.is_some_and(|encoding| encoding == UTF_16LE || encoding == UTF_16BE) {
        return Ok(()); // text in UTF-16 has a NUL in every other byte
    }
    let head = &head[..head.len().min(HEAD_LEN)];
    match Bom::detect(head) {
        bom @ (Bom::None | Bom::Utf8) => refuse_binary(path, &head[bom.len().min(head.len())..], bom),
        Bom::Utf16Le | Bom::Utf16Be | Bom::Utf32 => Ok(()),
    }
}

/// Refuses what is clearly not a text file, from the first bytes after any BOM.
fn refuse_binary(path: &Path, head: &[u8], bom: Bom) -> Result<(), InputError> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"PK\x03\x04", "it is a ZIP archive, such as an Excel workbook (.xlsx) or a LibreOffice spreadsheet (.ods)"),
        (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "it is an older Excel workbook (.xls)"),
        (b"%PDF", "it is a PDF document"),
        (b"\x89PNG", "it is a PNG image"),
        (b"\xFF\xD8\xFF", "it is a JPEG image"),
        (b"GIF8", "it is a GIF image"),
        (b"\x1F\x8B", "it is compressed with gzip: decompress it first (gunzip)"),
        (b"{\\rtf", "it is a Rich Text (RTF) document"),
    ];
    let fail = |what: &str, hint: &str| {
        Err(InputError::Encoding {
            path: path.to_path_buf(),
            line: None,
            detail: format!("does not look like a CSV text file: {what}"),
            hint: hint.to_string(),
        })
    };
    let export = "Export or save it as CSV (in Excel: File > Save As > \"CSV UTF-8\") and run again.";
    if bom == Bom::None
        && let Some((_, what)) = SIGNATURES.iter().find(|(magic, _)| head.starts_with(magic))
    {
        return fail(what, export);
    }
    let nuls = head.iter().filter(|&&b| b == 0).count();
    if nuls > 0 {
        // Text in UTF-16 without a byte order mark has a NUL in every other byte.
        let odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        let even = nuls - odd;
        let half = head.len() / 2;
        let hint = if odd * 10 >= half * 8 {
            "If it is text in UTF-16 without a byte order mark, read it with --encoding utf-16le."
        } else if even * 10 >= half * 8 {
            "If it is text in UTF-16 without a byte order mark, read it with --encoding utf-16be."
        } else {
            "If it really is a CSV file, name its encoding with --encoding (e.g. --encoding utf-16le); \
             otherwise export it again as CSV."
        };
        return fail("its first 8 KiB contain NUL bytes, which text does not have", hint);
    }
    // Control characters other than tab, line breaks, form feed and the old DOS end-of-file
    // mark do not occur in text exports; binary data is full of them.
    let controls = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0B | 0x0C | 0x1A)) || b == 0x7F)
        .count();
    if controls * 50 > head.len() {
        return fail(
            "its first bytes are mostly binary data, not text",
            "If it really is a CSV file, name its encoding with --encoding; otherwise export it again as CSV.",
        );
    }
    Ok(())
}

/// Reads until `buf` is full or the reader is exhausted.
fn read_up_to_into(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads at most `limit` bytes.
pub(crate) fn read_up_to(reader: &mut impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; limit];
    let n = read_up_to_into(reader, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file.flush().unwrap();
        file
    }

    fn decode(bytes: &[u8], explicit: Option<&'static Encoding>) -> Result<(String, &'static str), InputError> {
        let file = file_with(bytes);
        let mut decoded = open(file.path(), explicit)?;
        let mut out = Vec::new();
        decoded.reader.read_to_end(&mut out).unwrap();
        Ok((String::from_utf8(out).unwrap(), decoded.name))
    }

    fn utf16le(text: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { vec![] };
        out.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        out
    }

    fn utf16be(text: &str) -> Vec<u8> {
        let mut out = vec![0xFE, 0xFF];
        out.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
        out
    }

    #[test]
    fn encodings_are_detected_and_decoded() {
        let text = "email,name\nrené@example.com,René Ørsted\n";
        let table: Vec<(&str, Vec<u8>, Option<&'static Encoding>, &str)> = vec![
            ("plain UTF-8", text.as_bytes().to_vec(), None, "UTF-8"),
            ("UTF-8 BOM", [b"\xEF\xBB\xBF", text.as_bytes()].concat(), None, "UTF-8 (BOM)"),
            ("UTF-16LE BOM", utf16le(text, true), None, "UTF-16LE"),
            ("UTF-16BE BOM", utf16be(text), None, "UTF-16BE"),
            ("Windows-1252", WINDOWS_1252.encode(text).0.into_owned(), None, "windows-1252"),
            ("explicit windows-1252", WINDOWS_1252.encode(text).0.into_owned(), Some(WINDOWS_1252), "windows-1252"),
            ("explicit UTF-16LE without BOM", utf16le(text, false), Some(UTF_16LE), "UTF-16LE"),
            ("explicit UTF-16LE with BOM", utf16le(text, true), Some(UTF_16LE), "UTF-16LE"),
            ("explicit UTF-8 with BOM", [b"\xEF\xBB\xBF", text.as_bytes()].concat(), Some(UTF_8), "UTF-8 (BOM)"),
            (
                "explicit windows-1252 with a UTF-8 BOM",
                [b"\xEF\xBB\xBF", text.as_bytes()].concat(),
                Some(WINDOWS_1252),
                "windows-1252",
            ),
        ];
        for (what, bytes, explicit, name) in table {
            let (decoded, got_name) = decode(&bytes, explicit).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(got_name, name, "{what}");
            if what.ends_with("with a UTF-8 BOM") {
                assert!(decoded.starts_with("email,name\n"), "{what}: {decoded:?}");
            } else {
                assert_eq!(decoded, text, "{what}");
            }
        }
    }

    #[test]
    fn a_multibyte_sequence_split_across_scan_chunks_is_still_utf8() {
        // The scan reads the head, then chunks: put a 3-byte character (€) across each seam.
        for seam in [HEAD_LEN, HEAD_LEN + CHUNK_LEN] {
            for start in seam - 2..=seam {
                let text = format!("{}€\n", "x".repeat(start));
                let (decoded, name) = decode(text.as_bytes(), None).unwrap();
                assert_eq!(name, "UTF-8", "€ at {start}");
                assert_eq!(decoded, text);
            }
        }
    }

    #[test]
    fn one_invalid_byte_late_in_a_big_file_makes_it_windows_1252() {
        let mut bytes = "a,b\n".repeat(100_000).into_bytes();
        bytes.extend_from_slice(b"Ren\xE9,x\n");
        let (decoded, name) = decode(&bytes, None).unwrap();
        assert_eq!(name, "windows-1252");
        assert!(decoded.ends_with("René,x\n"));
    }

    #[test]
    fn explicit_utf8_names_the_line_of_an_invalid_byte() {
        let bytes = b"email,name\r\na@example.com,Ren\xE9\r\n";
        let error = decode(bytes, Some(UTF_8)).unwrap_err();
        assert_eq!(error.code(), "input.encoding");
        assert_eq!(error.line(), Some(2));
        let message = error.to_string();
        assert!(message.contains("line 2 has the byte 0xE9 after \"a@example.com,Ren\""), "{message}");
        assert!(message.contains("--encoding windows-1252"), "{message}");
    }

    #[test]
    fn a_utf8_bom_with_invalid_bytes_is_refused() {
        let bytes = b"\xEF\xBB\xBFemail\nx\ny\xFF\n";
        let error = decode(bytes, None).unwrap_err();
        assert_eq!(error.line(), Some(3));
        assert!(error.to_string().contains("byte order mark"), "{error}");
    }

    #[test]
    fn a_truncated_sequence_at_the_end_is_invalid() {
        let error = decode(b"email\n\xE2\x82", Some(UTF_8)).unwrap_err();
        assert_eq!(error.line(), Some(2));
        assert!(error.to_string().contains("0xE2 0x82"), "{error}");
    }

    #[test]
    fn binary_files_are_refused_with_a_reason() {
        let table: Vec<(&str, Vec<u8>, &str)> = vec![
            ("xlsx", b"PK\x03\x04\x14\x00\x06\x00".to_vec(), "Excel workbook (.xlsx)"),
            ("xls", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00".to_vec(), "older Excel workbook (.xls)"),
            ("png", b"\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR".to_vec(), "PNG image"),
            ("pdf", b"%PDF-1.7\n".to_vec(), "PDF document"),
            ("NUL", b"email,name\n\x00\x01\x02".to_vec(), "NUL bytes"),
            ("UTF-16LE without BOM", utf16le("email,name\nx,y\n", false), "--encoding utf-16le"),
            ("controls", (0u8..32).cycle().skip(1).take(64).filter(|&b| b != 0).collect(), "binary data"),
        ];
        for (what, bytes, needle) in table {
            let error = decode(&bytes, None).unwrap_err();
            assert_eq!(error.code(), "input.encoding", "{what}");
            let message = error.to_string();
            assert!(message.contains("does not look like a CSV text file"), "{what}: {message}");
            assert!(message.contains(needle), "{what}: {message}");
        }
        // An explicit encoding does not let binary through either.
        assert!(decode(b"\x89PNG\r\n\x1A\n\x00\x00", Some(WINDOWS_1252)).is_err());
    }

    #[test]
    fn empty_and_missing_files() {
        assert_eq!(decode(b"", None).unwrap_err().code(), "input.empty");
        let dir = tempfile::tempdir().unwrap();
        let error = open(&dir.path().join("nope.csv"), None).err().unwrap();
        assert_eq!(error.code(), "input.not_found");
        let error = open(dir.path(), None).err().unwrap();
        assert!(error.to_string().contains("folder"), "{error}");
    }

    #[test]
    fn utf32_is_refused() {
        let error = decode(b"\xFF\xFE\x00\x00e\x00\x00\x00", None).unwrap_err();
        assert!(error.to_string().contains("UTF-32"), "{error}");
    }
}
