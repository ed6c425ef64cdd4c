//! `tp-invite templates`: the business unit's invitation templates.

use std::sync::Arc;

use crate::api::{self, Client, NoPace};
use crate::cli::TemplatesArgs;
use crate::cmd::endpoints;
use crate::error::Result;
use crate::exit::Exit;
use crate::sandbox;
use crate::{errln, outln};

pub fn run(args: TemplatesArgs) -> Result<Exit> {
    let runtime = crate::cmd::runtime()?;
    runtime.block_on(async {
        let (id, domain) = crate::cli::business_unit(args.business_unit_id.as_deref(), args.domain.as_deref());
        let (endpoints, credentials, server) = endpoints(args.sandbox, id.is_some() || domain.is_some()).await?;
        let client = Client::new(endpoints, credentials, Arc::new(NoPace))?;
        let demo = server.is_some() && domain.is_none();
        let id = id.as_deref().or(if demo { Some(sandbox::DEMO_BUSINESS_UNIT_ID) } else { None });
        let unit = api::resolve_business_unit(&client, id, domain.as_deref()).await?;
        let templates = client.templates(&unit.id).await?;
        if args.json {
            let list: Vec<_> = templates
                .iter()
                .map(|t| serde_json::json!({"id": t.id, "name": t.name, "locale": t.locale, "default": t.is_default}))
                .collect();
            let value = serde_json::json!({
                "business_unit_id": unit.id,
                "templates": list,
                "exit_code": Exit::Success.code(),
            });
            outln!("{value}");
            return Ok(Exit::Success);
        }
        outln!("{:<26} {:<8} {:<8} NAME", "ID", "LOCALE", "DEFAULT");
        for t in &templates {
            outln!(
                "{:<26} {:<8} {:<8} {}",
                t.id,
                t.locale.as_deref().unwrap_or("-"),
                if t.is_default { "yes" } else { "" },
                t.name
            );
        }
        if templates.is_empty() {
            errln!("No templates: invitations use the account's default.");
        }
        Ok(Exit::Success)
    })
}
