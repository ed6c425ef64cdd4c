//! `cargo bench --bench sender [-- SCENARIO...]`: the sender of `tp-invite send`, end to end,
//! against the in-process Trustpilot emulator on 127.0.0.1 (never the internet).
//!
//! Scenarios (pick some by name, e.g. `cargo bench --bench sender -- quota memory`; none = all):
//! - `quota`:   `--rate 20/s --concurrency 8`, server latency 250 ms ± 100 ms, 1,000 rows (~50 s).
//! - `latency`: `--rate 20/s --concurrency 32`, server latency 1 s ± 200 ms, 1,000 rows (~50 s).
//!   Both must reach >= 95% of 20/s (accepted invitations / (last arrival - first arrival), every
//!   request the server logged counts as an arrival) and no 1-second window of arrivals at the
//!   server (exact sliding window over sorted arrival times, token requests included, as the
//!   server counts them) may hold more than 20 requests.
//! - `ceiling`: no latency, `--rate 100000/s`, 20,000 rows at `--concurrency` 16, 32 and 64:
//!   invitations per second and CPU time per invitation, of tp-invite and of the sandbox.
//! - `memory`:  100,000 rows at `--rate 100000/s --concurrency 32`: peak RSS of tp-invite < 64 MB.
//!
//! How it measures:
//! - The binary is the one Cargo builds for benches (`CARGO_BIN_EXE_tp-invite`, the release
//!   profile under `cargo bench`); it runs as a child process with the sandbox's env
//!   (`Sandbox::env`), `TP_INVITE_BACKOFF_MS=50`, proxies removed and `NO_PROXY` set to loopback.
//! - tp-invite's CPU time (user + sys) and peak RSS come from `getrusage` of the child as GNU
//!   time reports it (`/usr/bin/time -f "%e %U %S %M"`; `apt-get install -y time`). Without it,
//!   the child's `/proc/PID/stat` is read once it is a zombie (exited, not yet reaped: exact
//!   CPU), and `VmHWM` is polled every 2 ms (peak RSS to within the last poll).
//! - The sandbox runs in this process on its own tokio runtime; its CPU time is this
//!   process's `/proc/self/stat` utime + stime over the run (USER_HZ = 100).
//! - Inputs (`email,name,reference`, unique references) and outputs go to a temporary directory
//!   (`$TMPDIR`), and so does the run's ledger: every invitation waits for its reservation to
//!   be committed to the ledger (grouped with those of other workers), so the ceiling depends
//!   on that disk; `TMPDIR=/dev/shm` takes the disk out of the figure.
//!
//! Exit code: 0 when every target holds, 1 when one fails, 2 when a run could not be made.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use tp_invite::sandbox::{RequestLog, Sandbox, SandboxConfig};

const BINARY: &str = env!("CARGO_BIN_EXE_tp-invite");
const GNU_TIME: &str = "/usr/bin/time";
/// Clock ticks per second in /proc/*/stat (USER_HZ, fixed at 100 on Linux).
const USER_HZ: f64 = 100.0;
const MB: f64 = 1024.0 * 1024.0;

const SCENARIOS: [&str; 4] = ["quota", "latency", "ceiling", "memory"];

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; every other argument names a scenario.
    let picked: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if let Some(unknown) = picked.iter().find(|a| !SCENARIOS.contains(&a.as_str())) {
        eprintln!("unknown scenario '{unknown}': choose among {}", SCENARIOS.join(", "));
        return ExitCode::from(2);
    }
    let wanted = |name: &str| picked.is_empty() || picked.iter().any(|p| p == name);

    print_machine();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the tokio runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let mut bench = Bench { runtime, verdicts: Vec::new() };
    let result = (|| -> Result<(), String> {
        if wanted("quota") {
            bench.quota("quota", 8, Duration::from_millis(250), Duration::from_millis(100))?;
        }
        if wanted("latency") {
            bench.quota("latency", 32, Duration::from_secs(1), Duration::from_millis(200))?;
        }
        if wanted("ceiling") {
            for concurrency in [16, 32, 64] {
                bench.ceiling(concurrency)?;
            }
        }
        if wanted("memory") {
            bench.memory()?;
        }
        Ok(())
    })();
    bench.print_verdicts();
    match result {
        Err(error) => {
            eprintln!("bench aborted: {error}");
            ExitCode::from(2)
        }
        Ok(()) if bench.verdicts.iter().any(|v| v.pass == Some(false)) => ExitCode::from(1),
        Ok(()) => ExitCode::SUCCESS,
    }
}

fn print_machine() {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown");
    let measure = if Path::new(GNU_TIME).exists() { "getrusage via /usr/bin/time" } else { "/proc polling" };
    println!("machine: nproc={cpus}, model name: {model}");
    println!("binary:  {BINARY}");
    println!("child CPU/RSS: {measure}");
}

/// One row of the final table; `pass` is `None` for figures without a target.
struct Verdict {
    scenario: String,
    check: &'static str,
    measured: String,
    target: String,
    pass: Option<bool>,
}

struct Bench {
    runtime: tokio::runtime::Runtime,
    verdicts: Vec<Verdict>,
}

/// One `tp-invite send` against a fresh sandbox.
struct Run {
    rows: usize,
    rate: &'static str,
    concurrency: usize,
    latency: Duration,
    jitter: Duration,
}

/// What one run measured.
struct Outcome {
    exit: Option<i32>,
    /// From spawning the child to its exit, on the sandbox's clock.
    spawned: Duration,
    exited: Duration,
    child_cpu: Option<f64>,
    child_peak_kb: Option<u64>,
    sandbox_cpu: f64,
    /// Every request the sandbox logged, sorted by arrival.
    requests: Vec<RequestLog>,
    accepted: usize,
    stderr: String,
}

impl Outcome {
    fn arrivals(&self) -> Vec<Duration> {
        self.requests.iter().map(|r| r.at).collect()
    }

    /// Accepted invitations per second of arrival span (first to last request the server saw).
    fn throughput(&self) -> f64 {
        match (self.requests.first(), self.requests.last()) {
            (Some(first), Some(last)) if last.at > first.at => {
                self.accepted as f64 / (last.at - first.at).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    /// Requests answered with anything but a 2xx (dropped ones are status 0).
    fn not_accepted(&self) -> usize {
        self.requests.iter().filter(|r| !(200..300).contains(&r.status)).count()
    }

    fn complete(&self, rows: usize) -> Result<(), String> {
        if self.exit == Some(0) && self.accepted == rows {
            return Ok(());
        }
        Err(format!(
            "tp-invite exited {:?} with {} of {rows} invitations accepted; stderr:\n{}",
            self.exit,
            self.accepted,
            self.stderr.trim_end()
        ))
    }
}

impl Bench {
    fn verdict(&mut self, scenario: &str, check: &'static str, measured: String, target: &str, pass: Option<bool>) {
        self.verdicts.push(Verdict {
            scenario: scenario.to_string(),
            check,
            measured,
            target: target.to_string(),
            pass,
        });
    }

    /// Scenarios 1 and 2: 20/s with a slow server must still reach the rate and never exceed it.
    fn quota(&mut self, name: &str, concurrency: usize, latency: Duration, jitter: Duration) -> Result<(), String> {
        let run = Run { rows: 1_000, rate: "20/s", concurrency, latency, jitter };
        let out = self.send(&run)?;
        let arrivals = out.arrivals();
        let (busiest, busiest_at, windows_over) = busiest_window(&arrivals, Duration::from_secs(1), 20);
        let throughput = out.throughput();
        let share = throughput / 20.0;
        println!(
            "{name:<8} rows={} conc={concurrency} latency={}±{}ms: sent={} exit={:?} throughput={throughput:.2}/s \
             ({:.1}% of 20/s) busiest-1s-window={busiest} (at {:.3}s; limit 20) wall={:.1}s",
            run.rows,
            latency.as_millis(),
            jitter.as_millis(),
            out.accepted,
            out.exit,
            share * 100.0,
            busiest_at.as_secs_f64(),
            (out.exited - out.spawned).as_secs_f64(),
        );
        println!("         {}", timeline(&out, &arrivals, Duration::from_millis(50)));
        if windows_over > 0 {
            println!(
                "         {windows_over} window ends saw more than 20 arrivals; {}",
                window_detail(&arrivals, busiest_at)
            );
        }
        let complete = out.complete(run.rows);
        if let Err(problem) = &complete {
            println!("         INCOMPLETE: {problem}");
        }
        self.verdict(
            name,
            "complete (exit 0, all sent)",
            format!("{}/{}", out.accepted, run.rows),
            "all",
            Some(complete.is_ok()),
        );
        self.verdict(
            name,
            "throughput",
            format!("{throughput:.2}/s ({:.1}%)", share * 100.0),
            ">= 19.00/s (95%)",
            Some(share >= 0.95),
        );
        self.verdict(name, "busiest 1 s window", busiest.to_string(), "<= 20", Some(busiest <= 20));
        Ok(())
    }

    /// Scenario 3: how fast the sender goes when neither the server nor the rate holds it back.
    fn ceiling(&mut self, concurrency: usize) -> Result<(), String> {
        let run = Run { rows: 20_000, rate: "100000/s", concurrency, latency: Duration::ZERO, jitter: Duration::ZERO };
        let out = self.send(&run)?;
        let throughput = out.throughput();
        let per = |cpu: f64| cpu / out.accepted.max(1) as f64 * 1e6;
        let child = out.child_cpu.map_or("?".to_string(), |c| format!("{c:.2}s = {:.0}µs/inv", per(c)));
        let rss = out.child_peak_kb.map_or("?".to_string(), |kb| format!("{:.1}MB", kb as f64 * 1024.0 / MB));
        println!(
            "ceiling  rows={} conc={concurrency}: sent={} exit={:?} {throughput:.0} inv/s (wall {:.2}s, startup {:.0}ms) \
             tp-invite CPU {child} sandbox CPU {:.2}s = {:.0}µs/inv peak RSS {rss}",
            run.rows,
            out.accepted,
            out.exit,
            (out.exited - out.spawned).as_secs_f64(),
            startup(&out).as_secs_f64() * 1e3,
            out.sandbox_cpu,
            per(out.sandbox_cpu),
        );
        println!("         {}, tail after last arrival {:.0}ms", rate_by_fifth(&out.arrivals()), tail_ms(&out));
        let complete = out.complete(run.rows);
        if let Err(problem) = &complete {
            println!("         INCOMPLETE: {problem}");
        }
        let scenario = format!("ceiling c={concurrency}");
        self.verdict(
            &scenario,
            "complete (exit 0, all sent)",
            format!("{}/{}", out.accepted, run.rows),
            "all",
            Some(complete.is_ok()),
        );
        self.verdict(&scenario, "invitations/s", format!("{throughput:.0}"), "-", None);
        if let Some(cpu) = out.child_cpu {
            self.verdict(&scenario, "tp-invite CPU/inv", format!("{:.0} µs", per(cpu)), "-", None);
        }
        self.verdict(&scenario, "sandbox CPU/inv", format!("{:.0} µs", per(out.sandbox_cpu)), "-", None);
        Ok(())
    }

    /// Scenario 4: a big file must not make the process big.
    fn memory(&mut self) -> Result<(), String> {
        let run =
            Run { rows: 100_000, rate: "100000/s", concurrency: 32, latency: Duration::ZERO, jitter: Duration::ZERO };
        let out = self.send(&run)?;
        let peak = out.child_peak_kb.map(|kb| kb as f64 * 1024.0 / MB);
        println!(
            "memory   rows={} conc={}: sent={} exit={:?} peak RSS {} (limit 64MB) {:.0} inv/s wall={:.1}s",
            run.rows,
            run.concurrency,
            out.accepted,
            out.exit,
            peak.map_or("?".to_string(), |mb| format!("{mb:.1}MB")),
            out.throughput(),
            (out.exited - out.spawned).as_secs_f64(),
        );
        let complete = out.complete(run.rows);
        if let Err(problem) = &complete {
            println!("         INCOMPLETE: {problem}");
        }
        self.verdict(
            "memory",
            "complete (exit 0, all sent)",
            format!("{}/{}", out.accepted, run.rows),
            "all",
            Some(complete.is_ok()),
        );
        self.verdict(
            "memory",
            "tp-invite peak RSS",
            peak.map_or("unmeasured".to_string(), |mb| format!("{mb:.1} MB")),
            "< 64 MB",
            Some(peak.is_some_and(|mb| mb < 64.0)),
        );
        Ok(())
    }

    /// Starts a sandbox, runs `tp-invite send` against it, and collects what both saw.
    fn send(&mut self, run: &Run) -> Result<Outcome, String> {
        let dir =
            tempfile::Builder::new().prefix("tp-invite-bench-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let input = dir.path().join("customers.csv");
        write_input(&input, run.rows).map_err(|e| format!("cannot write {}: {e}", input.display()))?;

        let config = SandboxConfig { latency: run.latency, jitter: run.jitter, seed: 7, ..SandboxConfig::default() };
        let clock = Instant::now();
        let sandbox = self.runtime.block_on(Sandbox::start(config, 0)).map_err(|e| format!("sandbox: {e}"))?;

        let mut command = match Path::new(GNU_TIME).exists() {
            true => {
                let mut command = Command::new(GNU_TIME);
                command.arg("-o").arg(dir.path().join("time.txt")).args(["-f", "%e %U %S %M", BINARY]);
                command
            }
            false => Command::new(BINARY),
        };
        command
            .arg("send")
            .arg(&input)
            .args(["--rate", run.rate, "--concurrency", &run.concurrency.to_string(), "--quiet", "--json"])
            .arg("--results")
            .arg(dir.path().join("results.csv"))
            .arg("--errors")
            .arg(dir.path().join("errors.csv"))
            .envs(sandbox.env())
            // A ledger of the run's own, on the same disk as the inputs, never the user's.
            .env("TP_INVITE_LEDGER", dir.path().join("ledger.sqlite"))
            .env("TP_INVITE_BACKOFF_MS", "50")
            .env_remove(tp_invite::sandbox::RECORD_ENV)
            .stdin(Stdio::null())
            .stdout(File::create(dir.path().join("stdout.txt")).map_err(|e| e.to_string())?)
            .stderr(File::create(dir.path().join("stderr.txt")).map_err(|e| e.to_string())?);
        // Loopback only: no proxy may take these requests anywhere else.
        for proxy in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            command.env_remove(proxy);
        }
        command.env("NO_PROXY", "127.0.0.1,localhost").env("no_proxy", "127.0.0.1,localhost");

        let cpu_before = self_cpu();
        let spawned = clock.elapsed();
        let mut child = command.spawn().map_err(|e| format!("cannot run {BINARY}: {e}"))?;
        let (exit, child_cpu, child_peak_kb) = if Path::new(GNU_TIME).exists() {
            let status = child.wait().map_err(|e| e.to_string())?;
            let (cpu, peak) = read_gnu_time(&dir.path().join("time.txt"));
            (status.code(), cpu, peak)
        } else {
            let (cpu, peak) = watch_child(child.id());
            (child.wait().map_err(|e| e.to_string())?.code(), cpu, peak)
        };
        let exited = clock.elapsed();
        let sandbox_cpu = self_cpu() - cpu_before;

        let mut requests = sandbox.requests();
        requests.sort_by_key(|r| r.at);
        let accepted = sandbox.accepted().len();
        self.runtime.block_on(sandbox.shutdown());
        let stderr = fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default();
        Ok(Outcome {
            exit,
            // The sandbox's clock starts a moment after `clock`: close enough for startup figures.
            spawned,
            exited,
            child_cpu,
            child_peak_kb,
            sandbox_cpu,
            requests,
            accepted,
            stderr,
        })
    }

    fn print_verdicts(&self) {
        if self.verdicts.is_empty() {
            return;
        }
        println!();
        println!("{:<14} {:<28} {:<22} {:<18} verdict", "scenario", "check", "measured", "target");
        for v in &self.verdicts {
            let verdict = match v.pass {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "info",
            };
            println!("{:<14} {:<28} {:<22} {:<18} {verdict}", v.scenario, v.check, v.measured, v.target);
        }
    }
}

fn write_input(path: &PathBuf, rows: usize) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(out, "email,name,reference")?;
    for i in 0..rows {
        writeln!(out, "customer{i}@example.com,Customer {i},bench-{i:07}")?;
    }
    out.flush()
}

/// The most arrivals any half-open window `[t, t + length)` holds, where that window starts,
/// and how many arrivals closed a window holding more than `limit`.
fn busiest_window(arrivals: &[Duration], length: Duration, limit: usize) -> (usize, Duration, usize) {
    let (mut most, mut most_at, mut over, mut start) = (0, Duration::ZERO, 0, 0);
    for end in 0..arrivals.len() {
        while arrivals[end] - arrivals[start] >= length {
            start += 1;
        }
        let held = end - start + 1;
        if held > limit {
            over += 1;
        }
        if held > most {
            (most, most_at) = (held, arrivals[start]);
        }
    }
    (most, most_at, over)
}

/// The arrival gaps inside the busiest window (for a window that overflowed).
fn window_detail(arrivals: &[Duration], from: Duration) -> String {
    let inside: Vec<Duration> =
        arrivals.iter().copied().filter(|&t| t >= from && t < from + Duration::from_secs(1)).collect();
    let mut text = format!("gaps (ms) in the window at {:.3}s:", from.as_secs_f64());
    for pair in inside.windows(2) {
        let _ = write!(text, " {:.1}", (pair[1] - pair[0]).as_secs_f64() * 1e3);
    }
    text
}

/// Where the time went: startup, the spread of gaps between arrivals, and the tail.
fn timeline(out: &Outcome, arrivals: &[Duration], spacing: Duration) -> String {
    let mut gaps: Vec<Duration> = arrivals.windows(2).map(|p| p[1] - p[0]).collect();
    gaps.sort();
    let pick = |q: f64| gaps.get(((gaps.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let slack: Duration = gaps.iter().filter(|&&g| g > spacing).map(|&g| g - spacing).sum();
    format!(
        "startup {:.0}ms, arrival gaps p1 {:.1} / p50 {:.1} / p99 {:.1} / max {:.1} ms, time beyond {}ms spacing \
         {:.2}s, tail after last arrival {:.0}ms, non-2xx {}, tp-invite CPU {}, sandbox CPU {:.2}s",
        ms(startup(out)),
        ms(pick(0.01)),
        ms(pick(0.5)),
        ms(pick(0.99)),
        ms(pick(1.0)),
        spacing.as_millis(),
        slack.as_secs_f64(),
        tail_ms(out),
        out.not_accepted(),
        out.child_cpu.map_or("?".to_string(), |c| format!("{c:.2}s")),
        out.sandbox_cpu,
    )
}

/// Arrivals per second in each fifth of the run (by request count): does the pace hold up?
fn rate_by_fifth(arrivals: &[Duration]) -> String {
    let parts: Vec<String> = (0..5)
        .filter_map(|k| {
            let (from, to) = (arrivals.len() * k / 5, (arrivals.len() * (k + 1) / 5).checked_sub(1)?);
            let span = arrivals.get(to)?.checked_sub(*arrivals.get(from)?)?.as_secs_f64();
            (span > 0.0).then(|| format!("{:.0}", (to - from) as f64 / span))
        })
        .collect();
    format!("arrivals/s by fifth: {}", parts.join(" / "))
}

/// From the last request reaching the sandbox to the child's exit (milliseconds).
fn tail_ms(out: &Outcome) -> f64 {
    out.requests.last().map_or(0.0, |r| out.exited.saturating_sub(r.at).as_secs_f64() * 1e3)
}

/// From spawning the child to the first request reaching the sandbox.
fn startup(out: &Outcome) -> Duration {
    out.requests.first().map_or(Duration::ZERO, |r| r.at.saturating_sub(out.spawned))
}

/// `(state, utime + stime in seconds)` from a `/proc/PID/stat` line.
fn parse_stat(stat: &str) -> Option<(char, f64)> {
    // The command name (field 2) may hold spaces: the fields that follow start after its ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((state, (utime + stime) / USER_HZ))
}

/// CPU seconds (user + sys) this process has used so far: the sandbox's threads and this one.
fn self_cpu() -> f64 {
    fs::read_to_string("/proc/self/stat").ok().and_then(|s| parse_stat(&s)).map_or(0.0, |(_, cpu)| cpu)
}

/// `/usr/bin/time -f "%e %U %S %M"`: (user + sys seconds, max RSS kB). With a non-zero exit,
/// GNU time writes a line before the figures, so the last line is the one.
fn read_gnu_time(path: &Path) -> (Option<f64>, Option<u64>) {
    let text = fs::read_to_string(path).unwrap_or_default();
    let fields: Vec<&str> = text.lines().last().unwrap_or_default().split_whitespace().collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    let cpu = number(1).zip(number(2)).map(|(user, sys)| user + sys);
    (cpu, number(3).map(|kb| kb as u64))
}

/// Without GNU time: polls the child until it is a zombie (exited, not yet reaped), keeping the
/// highest `VmHWM` seen and the CPU time its `stat` shows as a zombie (the whole thread group's).
fn watch_child(pid: u32) -> (Option<f64>, Option<u64>) {
    let (mut peak, mut cpu) = (None, None);
    loop {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(Some(kb));
        }
        match fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| parse_stat(&s)) {
            Some((state, used)) => {
                cpu = Some(used);
                if state == 'Z' || state == 'X' {
                    return (cpu, peak);
                }
            }
            None => return (cpu, peak),
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
