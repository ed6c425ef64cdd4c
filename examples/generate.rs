//! Generates a large, realistic customer export CSV for load-testing `tp-invite`:
//! `cargo run --release --example generate -- N [--errors PERCENT] [--duplicates PERCENT] [--seed S] > big.csv`
//!
//! Writes a header and N rows of `email,name,reference,locale,tags,redirect_uri,preferred_send_time`
//! to stdout. The output depends only on the arguments (same seed, same bytes). References are
//! unique, so no row is a duplicate unless `--duplicates` asks for some. By default about 1% of
//! the rows carry one realistic problem (an email with a space, a `#` in the reference, a tag with
//! a space, a redirect without a scheme...); `--errors 0` makes every row valid.

use std::io::{self, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: generate N [--errors PERCENT] [--duplicates PERCENT] [--seed S] > big.csv

  N                     number of data rows to write (the header is extra)
  --errors PERCENT      share of rows with one realistic validation problem (default 1, 0 = none)
  --duplicates PERCENT  share of rows repeating the previous valid row's email (other case) and
                        reference, which tp-invite must report as `duplicate` (default 0)
  --seed S              random seed (default 1); the output is the same for the same arguments";

const HEADER: &[u8] = b"email,name,reference,locale,tags,redirect_uri,preferred_send_time\n";

/// A name part as it is displayed, and its ASCII form for the email address.
type Part = (&'static str, &'static str);

/// People of one language area: the locales they use and the names they carry.
struct Group {
    locales: &'static [&'static str],
    first: &'static [Part],
    last: &'static [Part],
    /// Family name first, without a comma ("田中 健二").
    family_first: bool,
}

const GROUPS: &[Group] = &[
    Group {
        locales: &["de-DE", "de-DE", "de-DE", "de-AT", "de-CH"],
        first: &[
            ("Jürgen", "juergen"),
            ("Lukas", "lukas"),
            ("Sophie", "sophie"),
            ("Jörg", "joerg"),
            ("Hannah", "hannah"),
            ("Maximilian", "maximilian"),
            ("Lea", "lea"),
            ("Björn", "bjoern"),
            ("Käthe", "kaethe"),
            ("Felix", "felix"),
        ],
        last: &[
            ("Müller", "mueller"),
            ("Schäfer", "schaefer"),
            ("Weiß", "weiss"),
            ("Schmidt", "schmidt"),
            ("Böhm", "boehm"),
            ("Gruber", "gruber"),
            ("Huber", "huber"),
            ("Straßer", "strasser"),
            ("Zimmermann", "zimmermann"),
            ("von Brandt", "vonbrandt"),
        ],
        family_first: false,
    },
    Group {
        locales: &["en-GB", "en-GB", "en-US", "en-US", "en-US", "en-IE", "en-AU", "en-CA", "en-NZ"],
        first: &[
            ("Olivia", "olivia"),
            ("Liam", "liam"),
            ("Siobhán", "siobhan"),
            ("Noah", "noah"),
            ("Amelia", "amelia"),
            ("Jack", "jack"),
            ("Aroha", "aroha"),
            ("Charlotte", "charlotte"),
            ("Seán", "sean"),
            ("Mia", "mia"),
        ],
        last: &[
            ("Smith", "smith"),
            ("O'Brien", "obrien"),
            ("Williams", "williams"),
            ("D'Arcy", "darcy"),
            ("Taylor", "taylor"),
            ("Ngata", "ngata"),
            ("MacDonald", "macdonald"),
            ("Fairfax-Hughes", "fairfax-hughes"),
            ("Tremblay", "tremblay"),
            ("O'Neill", "oneill"),
        ],
        family_first: false,
    },
    Group {
        locales: &["fr-FR", "fr-FR", "fr-BE"],
        first: &[
            ("Chloé", "chloe"),
            ("François", "francois"),
            ("Jean-Luc", "jean-luc"),
            ("Hélène", "helene"),
            ("Léa", "lea"),
            ("Benoît", "benoit"),
        ],
        last: &[
            ("Lefèvre", "lefevre"),
            ("Dubois", "dubois"),
            ("Moreau", "moreau"),
            ("Gauthier", "gauthier"),
            ("Peeters", "peeters"),
            ("Bélanger", "belanger"),
        ],
        family_first: false,
    },
    Group {
        locales: &["es-ES", "pt-BR", "pt-BR", "pt-PT"],
        first: &[
            ("María José", "mariajose"),
            ("João", "joao"),
            ("Inês", "ines"),
            ("Andrés", "andres"),
            ("Lucía", "lucia"),
            ("Gonçalo", "goncalo"),
        ],
        last: &[
            ("García Núñez", "garcia"),
            ("da Silva", "dasilva"),
            ("Conceição", "conceicao"),
            ("Fernández", "fernandez"),
            ("Sousa", "sousa"),
            ("Muñoz", "munoz"),
        ],
        family_first: false,
    },
    Group {
        locales: &["da-DK", "nb-NO", "sv-SE", "fi-FI"],
        first: &[
            ("Søren", "soren"),
            ("Åsa", "asa"),
            ("Mikko", "mikko"),
            ("Ingrid", "ingrid"),
            ("Lars", "lars"),
            ("Aino", "aino"),
        ],
        last: &[
            ("Christensen", "christensen"),
            ("Björk", "bjork"),
            ("Mäkinen", "makinen"),
            ("Johansson", "johansson"),
            ("Nordmann", "nordmann"),
            ("Ødegård", "odegard"),
        ],
        family_first: false,
    },
    Group {
        locales: &["nl-NL", "nl-NL", "nl-BE"],
        first: &[("Sanne", "sanne"), ("Pieter", "pieter"), ("Anouk", "anouk"), ("Daan", "daan")],
        last: &[
            ("de Vries", "devries"),
            ("van den Berg", "vandenberg"),
            ("Janssens", "janssens"),
            ("Bakker", "bakker"),
        ],
        family_first: false,
    },
    Group {
        locales: &["it-IT", "pl-PL"],
        first: &[("Giulia", "giulia"), ("Łukasz", "lukasz"), ("Niccolò", "niccolo"), ("Zofia", "zofia")],
        last: &[("Rossi", "rossi"), ("Wiśniewski", "wisniewski"), ("Esposito", "esposito"), ("Kowalczyk", "kowalczyk")],
        family_first: false,
    },
    Group {
        locales: &["ja-JP"],
        first: &[("健二", "kenji"), ("さくら", "sakura"), ("翔太", "shota")],
        last: &[("田中", "tanaka"), ("佐藤", "sato"), ("鈴木", "suzuki")],
        family_first: true,
    },
    Group {
        locales: &["zh-CN"],
        first: &[("伟", "wei"), ("静", "jing"), ("芳", "fang")],
        last: &[("张", "zhang"), ("王", "wang"), ("陈", "chen")],
        family_first: true,
    },
    Group {
        locales: &["ru-RU"],
        first: &[("Дмитрий", "dmitri"), ("Анна", "anna"), ("Ольга", "olga")],
        last: &[("Иванов", "ivanov"), ("Смирнова", "smirnova"), ("Кузнецов", "kuznetsov")],
        family_first: false,
    },
];

const DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];
const TAGS: &[&str] = &[
    "newsletter",
    "vip",
    "repeat-buyer",
    "first-order",
    "gift",
    "b2b",
    "app.order",
    "summer_sale",
    "black-friday",
    "wholesale",
];
const TAG_SEPARATORS: &[u8] = b",;|";
const OFFSETS: &[&str] = &["+01:00", "+02:00", "-05:00", "+09:00", "+10:00"];
const MINUTES: &[u32] = &[0, 15, 30, 45];

/// The realistic problems a row can carry; each row with a problem carries exactly one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Problem {
    EmailSpace,
    EmailNoAt,
    EmailNoDot,
    EmailTwo,
    ReferenceHash,
    NameEmpty,
    TagSpace,
    TagBang,
    RedirectNoScheme,
    LocaleUnknown,
    SendTimeEuropean,
}

const PROBLEMS: &[Problem] = &[
    Problem::EmailSpace,
    Problem::EmailNoAt,
    Problem::EmailNoDot,
    Problem::EmailTwo,
    Problem::ReferenceHash,
    Problem::NameEmpty,
    Problem::TagSpace,
    Problem::TagBang,
    Problem::RedirectNoScheme,
    Problem::LocaleUnknown,
    Problem::SendTimeEuropean,
];

struct Options {
    rows: u64,
    errors: f64,
    duplicates: f64,
    seed: u64,
}

fn parse_percent(flag: &str, value: Option<String>) -> Result<f64, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    match value.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!("{flag}: expected a percentage from 0 to 100, got `{value}`")),
    }
}

fn parse_args() -> Result<Options, String> {
    let mut rows = None;
    let mut options = Options { rows: 0, errors: 0.01, duplicates: 0.0, seed: 1 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--errors" => options.errors = parse_percent("--errors", args.next())?,
            "--duplicates" => options.duplicates = parse_percent("--duplicates", args.next())?,
            "--seed" => {
                let value = args.next().ok_or("--seed needs a value")?;
                options.seed = value.parse().map_err(|_| format!("--seed: expected an integer, got `{value}`"))?;
            }
            _ if rows.is_none() && !arg.starts_with('-') => {
                rows = Some(
                    arg.replace('_', "").parse().map_err(|_| format!("N: expected a number of rows, got `{arg}`"))?,
                );
            }
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    options.rows = rows.ok_or("missing N, the number of rows")?;
    Ok(options)
}

fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

fn push_2(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// The previous valid row (and the length of its email), which a requested duplicate repeats.
struct Previous {
    line: Vec<u8>,
    email_len: usize,
    valid: bool,
}

struct Generator {
    rng: fastrand::Rng,
    options: Options,
    previous: Previous,
}

impl Generator {
    fn row(&mut self, buf: &mut Vec<u8>, index: u64) {
        let rng = &mut self.rng;
        let problem = if rng.f64() < self.options.errors { Some(pick(rng, PROBLEMS)) } else { None };
        let reference = 1_000_001 + index;

        if self.previous.valid && rng.f64() < self.options.duplicates {
            // Same customer and order again, as a re-export or a merge of two exports gives it,
            // with the email typed in another case.
            let (email, rest) = self.previous.line.split_at(self.previous.email_len);
            buf.extend(email.iter().map(u8::to_ascii_uppercase));
            buf.extend_from_slice(rest);
            return;
        }

        let group = &GROUPS[rng.usize(..GROUPS.len())];
        let (first, first_ascii) = pick(rng, group.first);
        let (last, last_ascii) = pick(rng, group.last);
        let domain = pick(rng, DOMAINS);

        // email
        let email_start = buf.len();
        match problem {
            Some(Problem::EmailSpace) => {
                buf.extend_from_slice(first_ascii.as_bytes());
                buf.push(b' ');
                buf.extend_from_slice(last_ascii.as_bytes());
            }
            Some(Problem::EmailTwo) => {
                buf.extend_from_slice(first_ascii.as_bytes());
                buf.push(b'@');
                buf.extend_from_slice(domain.as_bytes());
                buf.push(b';');
                buf.extend_from_slice(last_ascii.as_bytes());
            }
            _ => match rng.u8(..4) {
                0 => {
                    buf.push(first_ascii.as_bytes()[0]);
                    buf.extend_from_slice(last_ascii.as_bytes());
                }
                1 => {
                    buf.extend_from_slice(first_ascii.as_bytes());
                    buf.push(b'_');
                    buf.extend_from_slice(last_ascii.as_bytes());
                }
                _ => {
                    buf.extend_from_slice(first_ascii.as_bytes());
                    buf.push(b'.');
                    buf.extend_from_slice(last_ascii.as_bytes());
                }
            },
        }
        if rng.u8(..3) == 0 {
            push_u64(buf, rng.u64(1..1000));
        }
        match problem {
            Some(Problem::EmailNoAt) => buf.push(b'.'),
            _ => buf.push(b'@'),
        }
        match problem {
            Some(Problem::EmailNoDot) => buf.extend_from_slice(b"example"),
            _ => buf.extend_from_slice(domain.as_bytes()),
        }
        let email_end = buf.len();
        buf.push(b',');

        // name
        if problem != Some(Problem::NameEmpty) {
            if group.family_first {
                buf.extend_from_slice(last.as_bytes());
                buf.push(b' ');
                buf.extend_from_slice(first.as_bytes());
            } else if rng.u8(..100) < 4 {
                // "Last, First", as some shop systems export it.
                buf.push(b'"');
                buf.extend_from_slice(last.as_bytes());
                buf.extend_from_slice(b", ");
                buf.extend_from_slice(first.as_bytes());
                buf.push(b'"');
            } else {
                buf.extend_from_slice(first.as_bytes());
                buf.push(b' ');
                buf.extend_from_slice(last.as_bytes());
            }
        }
        buf.push(b',');

        // reference
        // A leading `#` is dropped from any reference (Shopify's `#1001`); one inside stays a problem.
        if problem == Some(Problem::ReferenceHash) {
            buf.extend_from_slice(b"ORD#");
        } else {
            buf.extend_from_slice(b"ORD-");
        }
        push_u64(buf, reference);
        buf.push(b',');

        // locale
        if problem == Some(Problem::LocaleUnknown) {
            buf.extend_from_slice(b"en-EN");
        } else if rng.u8(..100) >= 15 {
            buf.extend_from_slice(pick(rng, group.locales).as_bytes());
        }
        buf.push(b',');

        // tags
        let bad_tag = match problem {
            Some(Problem::TagSpace) => Some("summer sale"),
            Some(Problem::TagBang) => Some("vip!"),
            _ => None,
        };
        let count = match (rng.u8(..100), bad_tag) {
            (_, Some(_)) => 1 + rng.usize(..2),
            (0..=49, None) => 0,
            (50..=84, None) => 1,
            _ => 2 + rng.usize(..2),
        };
        if count > 0 {
            let separator = pick(rng, TAG_SEPARATORS);
            let quoted = separator == b',' && count > 1;
            if quoted {
                buf.push(b'"');
            }
            for i in 0..count {
                if i > 0 {
                    buf.push(separator);
                }
                let tag = match bad_tag {
                    Some(tag) if i == count - 1 => tag,
                    _ => pick(rng, TAGS),
                };
                buf.extend_from_slice(tag.as_bytes());
            }
            if quoted {
                buf.push(b'"');
            }
        }
        buf.push(b',');

        // redirect_uri
        if problem == Some(Problem::RedirectNoScheme) {
            buf.extend_from_slice(b"shop.example.com/thanks");
        } else {
            match rng.u8(..10) {
                0..=1 => buf.extend_from_slice(b"https://shop.example.com/thanks"),
                2 => {
                    buf.extend_from_slice(b"https://shop.example.com/thanks?order=ORD-");
                    push_u64(buf, reference);
                }
                _ => {}
            }
        }
        buf.push(b',');

        // preferred_send_time
        let (month, day) = (1 + rng.u32(..12), 1 + rng.u32(..28));
        if problem == Some(Problem::SendTimeEuropean) {
            push_2(buf, day);
            buf.push(b'/');
            push_2(buf, month);
            buf.extend_from_slice(b"/2026");
        } else {
            let form = rng.u8(..10);
            if form >= 4 {
                buf.extend_from_slice(b"2026-");
                push_2(buf, month);
                buf.push(b'-');
                push_2(buf, day);
                if form != 9 {
                    buf.push(b'T');
                    push_2(buf, 7 + rng.u32(..14));
                    buf.push(b':');
                    push_2(buf, pick(rng, MINUTES));
                    buf.extend_from_slice(b":00");
                    match form {
                        4..=6 => buf.push(b'Z'),
                        7 => buf.extend_from_slice(pick(rng, OFFSETS).as_bytes()),
                        _ => {}
                    }
                }
            }
        }
        buf.push(b'\n');

        self.previous.valid = problem.is_none();
        if self.previous.valid {
            self.previous.line.clear();
            self.previous.line.extend_from_slice(&buf[email_start..]);
            self.previous.email_len = email_end - email_start;
        }
    }
}

fn run(options: Options) -> io::Result<()> {
    const CHUNK: usize = 1 << 20;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    buf.extend_from_slice(HEADER);
    let rows = options.rows;
    let mut generator = Generator {
        rng: fastrand::Rng::with_seed(options.seed),
        options,
        previous: Previous { line: Vec::new(), email_len: 0, valid: false },
    };
    for index in 0..rows {
        generator.row(&mut buf, index);
        if buf.len() >= CHUNK {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("generate: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        // `generate ... | head` is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("generate: cannot write: {e}");
            ExitCode::FAILURE
        }
    }
}
