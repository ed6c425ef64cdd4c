//! `tp-invite business-unit <DOMAIN>`: the business unit id of a shop's domain.

use std::sync::Arc;

use crate::api::{Client, Credentials, Endpoints, NoPace};
use crate::cli::BusinessUnitArgs;
use crate::cmd::endpoints;
use crate::error::Result;
use crate::exit::Exit;
use crate::outln;

pub fn run(args: BusinessUnitArgs) -> Result<Exit> {
    let runtime = crate::cmd::runtime()?;
    runtime.block_on(async {
        // Finding a business unit needs only the API key: ask for no more than that.
        let (endpoints, credentials, _sandbox) = match args.sandbox {
            true => endpoints(true, true).await?,
            false => (Endpoints::from_env()?, Credentials::key_only_from_env()?, None),
        };
        let client = Client::new(endpoints, credentials, Arc::new(NoPace))?;
        let unit = client.find_business_unit(&args.domain).await?;
        if args.json {
            let value = serde_json::json!({
                "domain": args.domain,
                "business_unit_id": unit.id,
                "display_name": unit.display_name,
                "identifying_name": unit.identifying_name,
                "exit_code": Exit::Success.code(),
            });
            outln!("{value}");
            return Ok(Exit::Success);
        }
        match &unit.display_name {
            Some(name) => outln!("{}\t{name}", unit.id),
            None => outln!("{}", unit.id),
        }
        Ok(Exit::Success)
    })
}
