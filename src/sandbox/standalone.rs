//! `tp-invite sandbox`: the emulator as a standalone server, until Ctrl-C.

use std::io::Write;

use super::{
    DEMO_API_KEY, DEMO_API_SECRET, DEMO_BUSINESS_UNIT_ID, DEMO_BUSINESS_USER_ID, DEMO_DOMAIN, DEMO_PASSWORD,
    DEMO_USERNAME, Sandbox, SandboxConfig,
};
use crate::cli::FaultArgs;
use crate::exit::Exit;

/// Start the sandbox on 127.0.0.1 (`port` for the API host, `port + 1` for the invitations
/// host; 0: any free ports), print the demo credentials and the `export` lines that point
/// `tp-invite` at it on stdout, log each request on stderr, and serve until Ctrl-C.
///
/// Stopping with Ctrl-C is the normal end of a server, so it exits 0; a port that cannot be
/// bound exits 1. Runs its own Tokio runtime (on a thread of its own, so it may be called
/// from inside another runtime too).
pub fn run_standalone(port: u16, faults: &FaultArgs) -> Exit {
    let config = SandboxConfig::from(faults);
    let description = describe(faults);
    let serve = move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                crate::errln!("tp-invite: cannot start the sandbox's runtime: {error}");
                return Exit::Fatal;
            }
        };
        runtime.block_on(serve_until_interrupted(config, port, description))
    };
    std::thread::scope(|scope| {
        scope.spawn(serve).join().unwrap_or_else(|_| {
            crate::errln!("tp-invite: the sandbox stopped unexpectedly");
            Exit::Fatal
        })
    })
}

async fn serve_until_interrupted(config: SandboxConfig, port: u16, faults: String) -> Exit {
    let sandbox = match Sandbox::start_with(config, port, true).await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            crate::errln!("tp-invite: {error}");
            if port != 0 {
                crate::errln!("Choose another --port, or leave it out to use any free port.");
            }
            return Exit::Fatal;
        }
    };
    let banner = banner(&sandbox, &faults);
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (piped into `head`) is no reason to stop serving.
    let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
    drop(stdout);

    if let Err(error) = tokio::signal::ctrl_c().await {
        crate::errln!("tp-invite: cannot wait for Ctrl-C: {error}");
        sandbox.shutdown().await;
        return Exit::Fatal;
    }
    let accepted = sandbox.accepted().len();
    let links = sandbox.links().len();
    let requests = sandbox.requests().len();
    crate::errln!(
        "Sandbox stopped after {}: {} accepted, {} created.",
        count(requests, "request"),
        count(accepted, "invitation"),
        count(links, "link")
    );
    sandbox.shutdown().await;
    Exit::Success
}

/// What goes to stdout: comments and `export` lines, so it can be pasted into a shell as is.
fn banner(sandbox: &Sandbox, faults: &str) -> String {
    let mut text = String::new();
    text.push_str("# Trustpilot API sandbox (loopback only; the credentials are public demo values)\n");
    text.push_str(&format!("#   API host:          {}\n", sandbox.api_url()));
    text.push_str(&format!("#   Invitations host:  {}\n", sandbox.invitations_url()));
    text.push_str(&format!("#   API key / secret:  {DEMO_API_KEY} / {DEMO_API_SECRET}\n"));
    text.push_str(&format!("#   username / password: {DEMO_USERNAME} / {DEMO_PASSWORD}\n"));
    text.push_str(&format!("#   business unit id:  {DEMO_BUSINESS_UNIT_ID} (domain {DEMO_DOMAIN})\n"));
    text.push_str(&format!(
        "#   business user id:  {DEMO_BUSINESS_USER_ID} (x-business-user-id, client-credentials grant)\n"
    ));
    text.push_str(&format!("#   faults:            {faults}\n"));
    text.push_str("# Point tp-invite at it from another shell:\n");
    for (name, value) in sandbox.env() {
        text.push_str(&format!("export {name}='{value}'\n"));
    }
    text.push_str("# Press Ctrl-C to stop.\n");
    text
}

fn describe(faults: &FaultArgs) -> String {
    let mut parts = Vec::new();
    if faults.latency > 0 || faults.jitter > 0 {
        parts.push(format!("latency {} ms ± {} ms", faults.latency, faults.jitter));
    }
    if faults.fail_rate > 0.0 {
        parts.push(format!("{}% answered 5xx", percent(faults.fail_rate)));
    }
    if faults.drop_rate > 0.0 {
        parts.push(format!("{}% accepted then dropped", percent(faults.drop_rate)));
    }
    if faults.timeout_rate > 0.0 {
        parts.push(format!("{}% accepted then answered 504", percent(faults.timeout_rate)));
    }
    if faults.redirect_rate > 0.0 {
        parts.push(format!("{}% accepted then answered 303", percent(faults.redirect_rate)));
    }
    if let Some(quota) = faults.quota {
        let retry = match (&faults.retry_after_text, faults.retry_after) {
            (Some(text), _) => format!(", Retry-After: {text:?}"),
            (None, Some(seconds)) => format!(", Retry-After: {seconds}"),
            (None, None) => String::new(),
        };
        parts.push(format!("quota {quota}{retry}"));
    }
    if faults.echo_token_requests {
        parts.push("token requests refused and echoed".to_string());
    }
    if faults.echo_invitation_requests {
        parts.push("invitations refused and echoed".to_string());
    }
    let mut text = if parts.is_empty() { "none".to_string() } else { parts.join(", ") };
    text.push_str(&format!("; tokens live {} s; seed {}", faults.token_lifetime, faults.seed));
    text
}

/// A share as a percentage with at most one decimal: 0.125 is "12.5".
fn percent(share: f64) -> f64 {
    (share * 1000.0).round() / 10.0
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_described_for_people() {
        let none = FaultArgs { token_lifetime: 359_999, seed: 1, ..FaultArgs::default() };
        assert_eq!(describe(&none), "none; tokens live 359999 s; seed 1");
        let some = FaultArgs {
            latency: 50,
            jitter: 10,
            fail_rate: 0.1,
            drop_rate: 0.05,
            quota: Some(crate::cli::parse_rate("833/5min").unwrap()),
            retry_after: Some(30),
            token_lifetime: 60,
            seed: 7,
            ..FaultArgs::default()
        };
        assert_eq!(
            describe(&some),
            "latency 50 ms ± 10 ms, 10% answered 5xx, 5% accepted then dropped, \
             quota 833/5min, Retry-After: 30; tokens live 60 s; seed 7"
        );
        let odd = FaultArgs {
            timeout_rate: 0.25,
            redirect_rate: 0.125,
            quota: Some(crate::cli::parse_rate("1/min").unwrap()),
            retry_after_text: Some("1e30".into()),
            echo_token_requests: true,
            echo_invitation_requests: true,
            token_lifetime: 2,
            seed: 1,
            ..FaultArgs::default()
        };
        assert_eq!(
            describe(&odd),
            "25% accepted then answered 504, 12.5% accepted then answered 303, quota 1/min, \
             Retry-After: \"1e30\", token requests refused and echoed, invitations refused and \
             echoed; tokens live 2 s; seed 1"
        );
        assert_eq!(count(1, "request"), "1 request");
        assert_eq!(count(2, "request"), "2 requests");
    }

    #[tokio::test]
    async fn the_banner_is_a_shell_snippet() {
        let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
        let banner = banner(&sandbox, "none");
        for line in banner.lines() {
            assert!(line.starts_with("# ") || line.starts_with("export "), "{line}");
        }
        assert!(banner.contains(&format!("export TRUSTPILOT_API_URL='{}'", sandbox.api_url())));
        assert!(banner.contains(&format!("export TRUSTPILOT_INVITATIONS_API_URL='{}'", sandbox.invitations_url())));
        assert_eq!(banner.matches("export ").count(), 7);
    }
}
